//! Fuzz target for the orch.toml reader: any text is read or refused, never a panic, and
//! a refusal names its line (or, for a default that clashes with another value, the
//! dotted key, the one case without a line).

#![no_main]

use libfuzzer_sys::fuzz_target;
use orch::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Err(e) = Config::parse(text) else { return };
    let lines = text.split('\n').count();
    match e.split_once(": ") {
        Some((n, _)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
            let n: usize = n.parse().expect("a line number");
            assert!((1..=lines).contains(&n), "line {n} of {lines}: {e}");
        }
        Some((key, _)) if key.starts_with(' ') && key[1..].contains('.') => {
            assert!(key[1..].bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.'), "{e}");
        }
        _ => panic!("an error without a line: {e:?}"),
    }
});
