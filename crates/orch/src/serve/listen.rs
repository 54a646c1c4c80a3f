//! Accepting connections: each is served over HTTP/1.1 on a task of its own, with
//! `TCP_NODELAY` (an answer or an event goes out at once, not after the client's
//! acknowledgement of the last one) and a limit on the time a request's head may take
//! to arrive, so a client that opens connections and never finishes a request (a slow
//! "slowloris" client) does not hold them. The handlers' own time limit starts once the
//! head is in (`routes.rs`).

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serves `app` on every connection `listener` accepts, until the process ends.
pub async fn serve(listener: TcpListener, app: Router, head_timeout: Duration) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // A connection that failed before it was accepted: the next one.
            Err(e) if is_connection_error(&e) => continue,
            // Out of file descriptors or the like: wait for some to be given back.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(head_timeout);
            // A connection that ends badly (the client went away, a head too slow) is
            // only that connection's end.
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
