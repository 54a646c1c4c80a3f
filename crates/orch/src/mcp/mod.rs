//! `orch mcp`: the queue as a Model Context Protocol server over stdio (docs/MCP.md),
//! through the official `rmcp` SDK. A front end over `crate::api` like the others: eight
//! tools (`tools.rs`), each call one API request (`calls.rs`), errors with the command
//! line's codes and messages. The session holds the leases its agent claimed
//! (`holds.rs`) and gives them back when the client goes away (stdin closed) or the
//! process is stopped (SIGTERM, SIGINT) before `done` or `fail`.

mod calls;
mod holds;
mod tools;

use crate::api::Orch;
use crate::error::{Error, Result};
use calls::{Reply, Session};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ServerHandler, ServiceExt};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct McpArgs {
    /// Who takes the tasks `next` claims (shown as owner_session; default mcp-PID).
    #[arg(long)]
    pub owner: Option<String>,
}

/// The tools' definitions as `tools/list` gives them, as JSON (for measuring them).
pub fn tools_json() -> serde_json::Value {
    serde_json::to_value(tools::list()).unwrap_or_default()
}

#[derive(Clone)]
struct Server {
    session: Arc<Session>,
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("orch", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "A work queue. Loop: next → do the task → done with a report (≤ 8 bullets and a \
                 Risks section), or fail. A RETRY/BLOCK from done says why.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        tools::check(&name, &args).map_err(|m| ErrorData::invalid_params(m, None))?;
        let session = self.session.clone();
        let reply = tokio::task::spawn_blocking(move || calls::call(&session, &name, &args))
            .await
            .unwrap_or_else(|e| Reply::error(&Error::Io(format!("tool call: {e}"))));
        let mut r = if reply.is_error {
            CallToolResult::error(vec![ContentBlock::text(reply.text)])
        } else {
            CallToolResult::success(vec![ContentBlock::text(reply.text)])
        };
        r.structured_content = Some(reply.json);
        Ok(r.into())
    }
}

/// Serves the queue on stdin/stdout until the client closes stdin or a signal stops it;
/// then gives back every lease still held.
pub fn run(orch: Orch, args: &McpArgs) -> Result<i32> {
    let owner = args.owner.clone().unwrap_or_else(|| format!("mcp-{}", std::process::id()));
    let session = Arc::new(Session { orch: Arc::new(orch), owner, holds: holds::Holds::default() });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("the server's runtime: {e}")))?;
    let served = rt.block_on(serve(Server { session: session.clone() }));
    let left = session.holds.give_back_all(&session.orch);
    for l in &left {
        crate::console::eprint(&format!("orch mcp: could not give back {l}"));
    }
    rt.shutdown_background();
    served.map(|()| 0)
}

async fn serve(server: Server) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| Error::Io(format!("SIGTERM: {e}")))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| Error::Io(format!("SIGINT: {e}")))?;
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Io(format!("mcp: the session did not start: {e}")))?;
    tokio::select! {
        r = running.waiting() => { r.map_err(|e| Error::Io(format!("mcp: {e}")))?; }
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
