//! The browser sessions of `orch serve` and the one-time sign-in codes, kept in this
//! process's memory: at most [`MAX_SESSIONS`] sessions (the oldest goes first) and
//! [`MAX_CODES`] codes not used yet. Each session is a random id (its cookie) and a
//! random CSRF token; secrets are compared in constant time, each kept one in turn.

use super::token;

pub const MAX_SESSIONS: usize = 256;
pub const MAX_CODES: usize = 16;

pub struct Session {
    id: String,
    pub csrf: String,
}

#[derive(Default)]
pub struct Sessions {
    open: Vec<Session>,
    codes: Vec<String>,
}

impl Sessions {
    /// A new one-time sign-in code.
    pub fn new_code(&mut self) -> crate::error::Result<String> {
        let code = token::random_hex(16)?;
        if self.codes.len() >= MAX_CODES {
            self.codes.remove(0);
        }
        self.codes.push(code.clone());
        Ok(code)
    }

    /// Uses up `code`: true when it was one not used yet.
    pub fn take_code(&mut self, code: &str) -> bool {
        let at = self.codes.iter().position(|c| token::same(code, c));
        at.map(|i| self.codes.remove(i)).is_some()
    }

    pub fn open(&mut self) -> crate::error::Result<(String, String)> {
        let (id, csrf) = (token::random_hex(32)?, token::random_hex(32)?);
        if self.open.len() >= MAX_SESSIONS {
            self.open.remove(0);
        }
        self.open.push(Session { id: id.clone(), csrf: csrf.clone() });
        Ok((id, csrf))
    }

    pub fn find(&self, id: &str) -> Option<&Session> {
        self.open.iter().find(|s| token::same(id, &s.id))
    }

    pub fn close(&mut self, id: &str) {
        self.open.retain(|s| !token::same(id, &s.id));
    }
}
