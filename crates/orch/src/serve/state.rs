//! What every request of `orch serve` shares: the open queue, the token, the browser
//! sessions, the channel the watch thread moves on each commit; and the one way a
//! handler calls the (blocking) API.

use super::adds::Adds;
use super::pages::Pages;
use super::reply::Fail;
use super::sessions::Sessions;
use crate::api::Orch;
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// What every request shares.
pub struct Shared {
    pub orch: Arc<Orch>,
    pub token: String,
    pub sessions: Mutex<Sessions>,
    /// Moves when the store may have changed (the watch thread).
    pub changes: tokio::sync::watch::Receiver<u64>,
    /// The writer of adds in groups.
    pub adds: Adds,
    /// Pages of tasks kept until the data changes.
    pub pages: Pages,
    /// Turns to read: [`READS_AT_ONCE`] reads run at once, the others wait in order.
    pub reads: tokio::sync::Semaphore,
    /// How long a request that is not a stream may take, its body read included.
    pub request_timeout: std::time::Duration,
}

pub type AppState = Arc<Shared>;

/// How many reads run on the blocking pool at once: as many as the store reads in
/// parallel (its connection and its readers). Beyond that a read would only block a
/// thread on a connection; waiting for a turn instead costs nothing, and turns are
/// given in the order asked, so no read waits behind reads that came after it.
pub const READS_AT_ONCE: usize = 4;

impl Shared {
    /// Runs one blocking call that only reads, when its turn comes ([`READS_AT_ONCE`]).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Orch) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, Fail> {
        let _turn = self.reads.acquire().await.map_err(|e| Fail::Api(Error::Io(format!("request: {e}"))))?;
        self.call(f).await
    }

    /// Runs one blocking call of the API on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Orch) -> Result<T> + Send + 'static,
    ) -> std::result::Result<T, Fail> {
        let orch = self.orch.clone();
        match tokio::task::spawn_blocking(move || f(&orch)).await {
            Ok(r) => r.map_err(Fail::Api),
            Err(e) => Err(Fail::Api(Error::Io(format!("request: {e}")))),
        }
    }
}
