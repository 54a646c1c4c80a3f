//! `POST /api/v1/tasks` in groups: the adds that arrive while the previous group is
//! being written are written together, in one transaction (`api::add_all`: one commit,
//! one refresh of QUEUE.md), so many clients adding at once cost one sync a group
//! instead of one each. A lone add is written at once, as before; each request gets the
//! answer it would get alone (its own error, its own task).

use crate::api::{self, AddRequest, Added, Orch};
use crate::error::{Error, Result};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most adds written in one transaction.
const MAX_GROUP: usize = 256;
/// Adds waiting for their group; more wait in their handlers.
const WAITING: usize = 1024;

type Job = (AddRequest, oneshot::Sender<Result<Added>>);

/// Where handlers hand their adds.
#[derive(Clone)]
pub struct Adds {
    tx: mpsc::Sender<Job>,
}

impl Adds {
    /// Starts the writer of groups on the current runtime.
    pub fn start(orch: Arc<Orch>) -> Adds {
        let (tx, rx) = mpsc::channel(WAITING);
        tokio::spawn(write_groups(orch, rx));
        Adds { tx }
    }

    /// Adds one task with the others that arrive meanwhile; its own answer.
    pub async fn add(&self, req: AddRequest) -> Result<Added> {
        let (answer, answered) = oneshot::channel();
        self.tx.send((req, answer)).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Io("the server's writer of adds stopped".into())
}

/// Takes what is waiting (at least one add, at most [`MAX_GROUP`]), writes it as one
/// group on the blocking pool, answers each, and goes on until the server stops.
async fn write_groups(orch: Arc<Orch>, mut rx: mpsc::Receiver<Job>) {
    let mut group = Vec::new();
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (reqs, answers): (Vec<AddRequest>, Vec<_>) = std::mem::take(&mut group).into_iter().unzip();
        let queue = Arc::clone(&orch);
        let done = match tokio::task::spawn_blocking(move || api::add_all(&queue, reqs)).await {
            Ok(done) => done,
            Err(e) => answers.iter().map(|_| Err(Error::Io(format!("add: {e}")))).collect(),
        };
        for (answer, result) in answers.into_iter().zip(done) {
            // A client that went away meanwhile does not need its answer.
            let _ = answer.send(result);
        }
    }
}
