//! The secrets of `orch serve`: the bearer token (from `ORCH_SERVE_TOKEN`, else
//! `.orch/serve.token`, made at the first `serve` from 32 random bytes, readable by its
//! owner only), random values for sessions and sign-in codes, and the one comparison of
//! a secret given with one kept: in constant time (`subtle`), so the time an answer
//! takes tells nothing of how much of a guess was right.

use crate::error::{Error, Result};
use std::path::Path;
use subtle::ConstantTimeEq;

/// The name of the token file in `.orch/`.
pub const TOKEN_FILE: &str = "serve.token";
/// The environment variable that gives the token instead of the file.
pub const TOKEN_ENV: &str = "ORCH_SERVE_TOKEN";
/// The shortest token taken at all.
const MIN_LEN: usize = 16;
/// What a token must have to be served beyond loopback: the length of 32 random bytes
/// in base64 (a hex token of 32 bytes is 64 characters), and at least this many
/// different characters, which no hand-typed repetition has.
const REMOTE_MIN_LEN: usize = 43;
const REMOTE_MIN_DISTINCT: usize = 12;

/// Where the token came from, for the message `serve` prints (never the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Env,
    File,
    Made,
}

/// `n` random bytes from the system's source, as lowercase hex.
pub fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| Error::Io(format!("random bytes: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// True when `given` is `kept`, compared in constant time (the lengths aside).
pub fn same(given: &str, kept: &str) -> bool {
    given.as_bytes().ct_eq(kept.as_bytes()).into()
}

/// The token: `ORCH_SERVE_TOKEN` when set, else the token file in `home`, made when
/// missing. A file that others may read is refused, as ssh refuses a private key.
pub fn load(home: &Path, env: Option<String>) -> Result<(String, Source)> {
    if let Some(t) = env {
        let t = t.trim().to_string();
        check(&t, TOKEN_ENV)?;
        return Ok((t, Source::Env));
    }
    let path = home.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(Error::Usage(format!(
                    "{}: others may read it (mode {:o}); chmod 600 it",
                    path.display(),
                    mode & 0o777
                )));
            }
            let t = text.trim().to_string();
            check(&t, &path.display().to_string())?;
            Ok((t, Source::File))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let t = random_hex(32)?;
            crate::home::write_private(&path, format!("{t}\n"))?;
            Ok((t, Source::Made))
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn check(token: &str, from: &str) -> Result<()> {
    if token.chars().count() < MIN_LEN || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::Usage(format!(
            "{from}: a token must be at least {MIN_LEN} printable ASCII characters, no spaces"
        )));
    }
    Ok(())
}

/// Refuses a token too weak to be served beyond loopback: shorter than 32 random bytes
/// would be, or with too few different characters.
pub fn check_remote(token: &str) -> Result<()> {
    let distinct = token.chars().collect::<std::collections::BTreeSet<_>>().len();
    if token.len() < REMOTE_MIN_LEN || distinct < REMOTE_MIN_DISTINCT {
        return Err(Error::Usage(format!(
            "--allow-remote needs a token of at least 32 random bytes ({REMOTE_MIN_LEN} or more characters, \
             {REMOTE_MIN_DISTINCT} or more different ones): remove {TOKEN_ENV} to use the generated one"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (made, source) = load(dir.path(), None).unwrap();
        assert_eq!((made.len(), source), (64, Source::Made));
        check_remote(&made).unwrap();
        let (again, source) = load(dir.path(), None).unwrap();
        assert_eq!((again, source), (made.clone(), Source::File));
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join(TOKEN_FILE);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(dir.path(), None).unwrap_err().to_string().contains("chmod 600"));
    }

    #[test]
    fn weak_tokens_are_refused_and_comparison_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), Some("short".into())).is_err());
        assert!(load(dir.path(), Some("with a space inside it".into())).is_err());
        let (t, s) = load(dir.path(), Some("0123456789abcdef".into())).unwrap();
        assert_eq!(s, Source::Env);
        assert!(check_remote(&t).is_err());
        assert!(check_remote(&"a".repeat(64)).is_err());
        assert!(same("0123456789abcdef", &t));
        assert!(!same("0123456789abcdeF", &t));
        assert!(!same("0123456789abcde", &t));
    }
}
