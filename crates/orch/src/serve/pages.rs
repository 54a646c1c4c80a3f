//! Pages of `GET /api/v1/tasks` kept until the data changes. A page is kept with the
//! store's data version taken before it was read (`api::DataVersion`) and given again
//! while the version holds: nothing was committed since, so it is still the answer (a
//! page of tasks depends on the data alone, never on the clock). A dashboard or a
//! script that polls a page costs one read for each change instead of one for each
//! poll. A store without a data version (PostgreSQL) keeps nothing. At most [`KEPT`]
//! pages, all of one version; a new version drops the others.

use crate::api::{self, DataVersion, Orch};
use crate::error::Result;
use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

/// The most pages kept.
const KEPT: usize = 64;

pub struct Pages {
    /// None on a store without a data version: nothing is kept.
    version: Option<DataVersion>,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    version: i64,
    /// By the request's query string.
    pages: HashMap<String, Bytes>,
}

impl Pages {
    pub fn open(orch: &Orch) -> Result<Pages> {
        Ok(Pages { version: api::data_version(orch)?, kept: Mutex::default() })
    }

    /// The store's data version now (a read of a counter in shared memory, short enough
    /// for the server's own threads); none when the store has none or it cannot be read,
    /// and then nothing is kept or given.
    pub fn version(&self) -> Option<i64> {
        self.version.as_ref().and_then(|v| v.now().ok().flatten())
    }

    /// The page kept for `query` at `version`.
    pub fn get(&self, version: i64, query: &str) -> Option<Bytes> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.version != version {
            return None;
        }
        kept.pages.get(query).cloned()
    }

    /// Keeps the page read for `query` after `version` was taken.
    pub fn keep(&self, version: i64, query: &str, page: Bytes) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.version != version || kept.pages.len() >= KEPT {
            *kept = Kept { version, pages: HashMap::new() };
        }
        kept.pages.insert(query.to_string(), page);
    }
}
