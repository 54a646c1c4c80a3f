//! The worker's program, checked once when a dispatcher starts: a program that is not
//! there (not found on `PATH`, or not an executable file) is one clear error naming the
//! command and where it is set, not a row of retried `spawn_failed` runs. Only the
//! program (argv\[0\]) is checked, and only when it is plain: one holding a
//! `{placeholder}` depends on the task and is left to the spawn.

use crate::error::{Error, Result};
use std::ffi::OsStr;
use std::path::Path;

/// Checks `command`'s program as the worker would be started: a name without a slash is
/// looked up in `path` (the `PATH` the worker inherits; relative entries from `cwd`, the
/// worker's folder), a path with a slash is taken from `cwd`. `key` says where the
/// command comes from (`worker.command in …/orch.toml`), for the refusal.
pub fn check(command: &[String], key: &str, path: Option<&OsStr>, cwd: &Path) -> Result<()> {
    let Some(program) = command.first() else { return Ok(()) };
    if program.contains('{') || program.is_empty() {
        return Ok(());
    }
    let refuse = |what: &str| {
        Err(Error::Usage(format!(
            "the worker program `{program}` {what}; fix {key} (or install the program) and start again"
        )))
    };
    if program.contains('/') {
        return match executable(&cwd.join(program)) {
            Found::Yes => Ok(()),
            Found::NotExecutable => refuse("is not an executable file"),
            Found::No => refuse("does not exist"),
        };
    }
    let mut seen_not_executable = false;
    for dir in std::env::split_paths(path.unwrap_or_default()) {
        // An empty entry is the current folder, as `execvp` reads it.
        let dir = if dir.as_os_str().is_empty() { cwd.to_path_buf() } else { cwd.join(dir) };
        match executable(&dir.join(program)) {
            Found::Yes => return Ok(()),
            Found::NotExecutable => seen_not_executable = true,
            Found::No => {}
        }
    }
    if seen_not_executable {
        return refuse("is on PATH but not executable");
    }
    refuse("is not found on PATH")
}

enum Found {
    Yes,
    NotExecutable,
    No,
}

fn executable(p: &Path) -> Found {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Found::Yes,
        Ok(m) if m.is_file() => Found::NotExecutable,
        _ => Found::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Vec<String> {
        vec![s.to_string(), "{prompt}".to_string()]
    }

    #[test]
    fn a_program_found_passes_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let exe = bin.join("agent");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("plain"), "x").unwrap();
        let path = std::env::join_paths([bin.clone()]).unwrap();
        let ok = |c: &str| check(&cmd(c), "worker.command", Some(&path), dir.path());
        assert!(ok("agent").is_ok());
        assert!(ok("bin/agent").is_ok());
        assert!(ok(exe.to_str().unwrap()).is_ok());
        assert!(ok("{id}-agent").is_ok(), "a templated program is left to the spawn");
        for (c, want) in [
            ("claude", "`claude` is not found on PATH"),
            ("plain", "`plain` is on PATH but not executable"),
            ("bin/plain", "`bin/plain` is not an executable file"),
            ("./nothing", "`./nothing` does not exist"),
        ] {
            let e = ok(c).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(want) && e.to_string().contains("worker.command"), "{c}: {e}");
        }
    }
}
