//! One connection to a standard MCP server's own stream (Streamable HTTP).
//!
//! - A server of 2026-07-28 (it answers `server/discover` with that version): a
//!   `subscriptions/listen` request, whose response stream carries the change
//!   notifications it sends to anyone. Progress is sent only on the response to the
//!   request that asked for it, so the stream says little: a hint says what shows calls.
//! - An older server: `initialize` when there is no MCP session yet, then `GET` with
//!   `Mcp-Session-Id` and the negotiated `MCP-Protocol-Version`, resuming with
//!   `Last-Event-ID`. The session is ended with `DELETE` when the source stops.
//!
//! What arrives are the server's JSON-RPC notifications (progress among them).

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::link::{describe, read_events};
use super::link::{Attempt, Ended, Resume};
use super::{LinkStatus, Timed, Transport};

const VERSION: &str = "2025-11-25";

/// The revision that has no sessions and no GET stream.
const MODERN: &str = "2026-07-28";

/// The MCP session this source holds, across reconnects.
#[derive(Debug, Default, Clone)]
pub(super) struct McpSession {
    pub id: Option<String>,
    pub version: String,
    /// The server speaks 2026-07-28 (found by `server/discover`): listen, not GET.
    pub modern: Option<bool>,
}

/// Ends the MCP session this source made (`DELETE`), boundedly; nothing for a server of
/// 2026-07-28, which has no sessions.
pub(super) async fn end_session(
    client: &reqwest::Client,
    attempt: &Attempt<'_>,
    session: &McpSession,
) {
    let Some(id) = session.id.as_deref().filter(|i| !i.is_empty()) else {
        return;
    };
    let mut request = client
        .delete(attempt.base_url)
        .header("mcp-session-id", id)
        .header("mcp-protocol-version", &session.version);
    if !attempt.token.is_empty() {
        request = request.bearer_auth(attempt.token);
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), request.send()).await;
}

/// A 2026-07-28 request's `_meta`.
fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { "name": "mcptop", "version": env!("CARGO_PKG_VERSION") },
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

fn modern_post<'a>(
    client: &reqwest::Client,
    attempt: &Attempt<'a>,
    method: &str,
    params: Value,
) -> reqwest::RequestBuilder {
    let mut request = client
        .post(attempt.base_url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", method)
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }));
    if !attempt.token.is_empty() {
        request = request.bearer_auth(attempt.token);
    }
    request
}

/// Whether the server speaks 2026-07-28: its `server/discover` answer lists it.
async fn speaks_modern(client: &reqwest::Client, attempt: &Attempt<'_>) -> bool {
    let request = modern_post(
        client,
        attempt,
        "server/discover",
        json!({ "_meta": modern_meta() }),
    );
    let Ok(Ok(response)) = tokio::time::timeout(attempt.idle_timeout, request.send()).await else {
        return false;
    };
    if !response.status().is_success() {
        return false;
    }
    let is_sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let Ok(body) = response.bytes().await else {
        return false;
    };
    crate::wire::schema::rpc_answer(&body, is_sse)
        .and_then(|a| a["result"]["supportedVersions"].as_array().cloned())
        .is_some_and(|versions| versions.iter().any(|v| v == MODERN))
}

/// `subscriptions/listen` on a 2026-07-28 server.
async fn listen(
    client: &reqwest::Client,
    attempt: &Attempt<'_>,
    resume: &mut Resume,
    tx: &mpsc::Sender<Timed>,
) -> Ended {
    let params = json!({
        "notifications": { "toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true },
        "_meta": modern_meta(),
    });
    let request = modern_post(client, attempt, "subscriptions/listen", params);
    let response = match tokio::time::timeout(attempt.idle_timeout, request.send()).await {
        Err(_) => return Ended::Unreachable("no answer to the request".into()),
        Ok(Err(e)) => return Ended::Unreachable(describe(&e)),
        Ok(Ok(r)) => r,
    };
    if response.status().as_u16() != 200 {
        return Ended::refused(response).await;
    }
    let hint = LinkStatus::Daemon {
        address: crate::recording::redact_url(attempt.base_url).trim_start_matches("http://").to_owned(),
        instance: format!("an MCP {MODERN} server"),
        quiet_hint: Some(format!(
            "an MCP {MODERN} server sends progress only on the response to the request that asked for it:              to see its calls, run `mcptop proxy --upstream {}` and point the agent at the proxy",
            crate::recording::redact_url(attempt.base_url)
        )),
    };
    if super::link::send(tx, super::SourceEvent::Status(hint))
        .await
        .is_err()
    {
        return Ended::Closed;
    }
    let connected = LinkStatus::Connected {
        transport: Transport::Mcp,
        session_id: "subscriptions/listen".into(),
        resumed: false,
    };
    // This revision has no resumption: every stream starts afresh.
    *resume = Resume::default();
    read_events(response, connected, attempt, resume, tx).await
}

pub(super) async fn run(
    client: &reqwest::Client,
    attempt: &Attempt<'_>,
    resume: &mut Resume,
    session: &mut McpSession,
    tx: &mpsc::Sender<Timed>,
) -> Ended {
    let url = attempt.base_url;
    if session.modern.is_none() && session.id.is_none() {
        session.modern = Some(speaks_modern(client, attempt).await);
    }
    if session.modern == Some(true) {
        return listen(client, attempt, resume, tx).await;
    }
    if session.id.is_none() {
        if let Err(ended) = initialize(client, attempt, session).await {
            return ended;
        }
        // A new MCP session: the old one's ids mean nothing here.
        *resume = Resume::default();
    }
    let session_id = session.id.clone().unwrap_or_default();
    let mut request = client
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session_id)
        .header("mcp-protocol-version", &session.version);
    if !attempt.token.is_empty() {
        request = request.bearer_auth(attempt.token);
    }
    if !resume.last_id.is_empty() {
        request = request.header("last-event-id", &resume.last_id);
    }
    let response = match tokio::time::timeout(attempt.idle_timeout, request.send()).await {
        Err(_) => return Ended::Unreachable("no answer to the request".into()),
        Ok(Err(e)) => return Ended::Unreachable(describe(&e)),
        Ok(Ok(r)) => r,
    };
    match response.status().as_u16() {
        200 => {}
        404 => {
            // The server forgot the session: start a new one next time.
            session.id = None;
            return Ended::Dropped("the MCP server ended its session; starting a new one".into());
        }
        405 => {
            return Ended::Refused {
                status: 405,
                body: "this MCP server offers no stream of its own (GET answered 405)".into(),
            }
        }
        _ => return Ended::refused(response).await,
    }
    let connected = LinkStatus::Connected {
        transport: Transport::Mcp,
        session_id: session_id.clone(),
        resumed: !resume.last_id.is_empty(),
    };
    read_events(response, connected, attempt, resume, tx).await
}

/// `initialize`, then `notifications/initialized`.
async fn initialize(
    client: &reqwest::Client,
    attempt: &Attempt<'_>,
    session: &mut McpSession,
) -> Result<(), Ended> {
    let post = |body: Value, headers: &[(&str, String)]| {
        let mut request = client
            .post(attempt.base_url)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if !attempt.token.is_empty() {
            request = request.bearer_auth(attempt.token);
        }
        request
    };
    let init = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": { "name": "mcptop", "version": env!("CARGO_PKG_VERSION") },
        },
    });
    let response = match tokio::time::timeout(attempt.idle_timeout, post(init, &[]).send()).await {
        Err(_) => return Err(Ended::Unreachable("no answer to initialize".into())),
        Ok(Err(e)) => return Err(Ended::Unreachable(describe(&e))),
        Ok(Ok(r)) => r,
    };
    let status = response.status().as_u16();
    if status != 200 {
        return Err(Ended::refused(response).await);
    }
    let id = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let body = response
        .bytes()
        .await
        .map_err(|e| Ended::Dropped(describe(&e)))?;
    let result = crate::wire::schema::rpc_answer(&body, is_sse);
    let Some(result) = result.and_then(|v| v.get("result").cloned()) else {
        return Err(Ended::Refused {
            status,
            body: "the MCP server's initialize answer has no result".into(),
        });
    };
    session.version = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or(VERSION)
        .to_owned();
    session.id = Some(id.unwrap_or_default());
    let mut headers = vec![("mcp-protocol-version", session.version.clone())];
    if let Some(id) = session.id.clone().filter(|i| !i.is_empty()) {
        headers.push(("mcp-session-id", id));
    }
    let note = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let _ = post(note, &headers).send().await;
    Ok(())
}
