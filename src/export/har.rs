//! `mcptop export --format har`: every call as an entry of an HTTP Archive (HAR 1.2), for
//! the tools that read HAR (a browser's network panel, HAR viewers, load-test importers).
//!
//! An MCP call is a JSON-RPC request, which the Streamable HTTP transport sends as a POST;
//! each entry is that POST: `tools/call` with the tool's name and recorded arguments, and
//! its answer (the recorded result, or the error). The address names the server and the
//! tool under the `mcp:` scheme (`mcp://SERVER/tools/call/TOOL`): a recording does not
//! keep the server's URL, and an address that looked real would send a reader astray.
//! Timings: the whole call is `wait`. What HAR has no field for (the state, progress,
//! messages, the session) is in the entry's `_mcptop` object, as HAR allows.

use serde_json::{json, Value};

use super::document::{CallOut, Document};

fn server_of<'a>(doc: &'a Document, call: &'a CallOut) -> &'a str {
    doc.servers
        .iter()
        .rev()
        .find(|s| s.session.is_some() && s.session == call.session)
        .map(|s| s.name.as_str())
        .filter(|n| !n.is_empty())
        .or(call.session_label.as_deref())
        .or(call.session.as_deref())
        .or(doc.source.label.as_deref())
        .unwrap_or("server")
}

/// Everything but RFC 3986's unreserved characters is encoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The entry's address: `mcp://SERVER/tools/call/TOOL`, both percent-encoded.
fn address(server: &str, tool: &str) -> String {
    use percent_encoding::utf8_percent_encode as enc;
    let server = if server.is_empty() { "server" } else { server };
    let text = format!(
        "mcp://{}/tools/call/{}",
        enc(server, SEGMENT),
        enc(tool, SEGMENT)
    );
    // As a URL reader reads it (the host of a non-special scheme is kept as written).
    url::Url::parse(&text).map_or(text, String::from)
}

fn text_of(value: &Option<Value>) -> Value {
    value.clone().unwrap_or(Value::Null)
}

fn entry(doc: &Document, call: &CallOut) -> Value {
    let id: Value = call
        .token
        .as_deref()
        .map_or(Value::from(call.id), |t| Value::from(t.to_owned()));
    let request = json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": call.tool, "arguments": text_of(&call.arguments)},
    })
    .to_string();
    let (status, status_text, answer, error) = match call.status {
        "done" => (
            200,
            "OK",
            Some(json!({"jsonrpc": "2.0", "id": id, "result": text_of(&call.result)})),
            None,
        ),
        "failed" => (
            200,
            "OK",
            Some(json!({
                "jsonrpc": "2.0",
                "id": id,
                "result": {
                    "isError": true,
                    "content": [{"type": "text", "text": call.error.clone().unwrap_or_default()}],
                },
            })),
            Some(call.error.clone().unwrap_or_else(|| "failed".into())),
        ),
        other => (
            0,
            "",
            None,
            Some(match other {
                "running" => "no answer: still running when the session ended".to_owned(),
                "cancelled" => format!(
                    "cancelled{}",
                    call.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
                _ => "lost: its end never came".to_owned(),
            }),
        ),
    };
    let answer = answer.map(|a| a.to_string());
    let ms = call.elapsed_s * 1000.0;
    let mut entry = json!({
        "startedDateTime": call.started_at,
        "time": ms,
        "request": {
            "method": "POST",
            "url": address(server_of(doc, call), &call.tool),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Accept", "value": "application/json, text/event-stream"},
            ],
            "queryString": [],
            "postData": {"mimeType": "application/json", "text": request},
            "headersSize": -1,
            "bodySize": request.len(),
        },
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": if answer.is_some() {
                json!([{"name": "Content-Type", "value": "application/json"}])
            } else {
                json!([])
            },
            "content": {
                "size": answer.as_ref().map_or(0, String::len),
                "mimeType": if answer.is_some() { "application/json" } else { "x-unknown" },
                "text": answer.clone().unwrap_or_default(),
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": answer.as_ref().map_or(-1, |a| i64::try_from(a.len()).unwrap_or(i64::MAX)),
        },
        "cache": {},
        "timings": {"send": 0, "wait": ms, "receive": 0},
        "_mcptop": {
            "id": call.id,
            "status": call.status,
            "session": call.session,
            "session_label": call.session_label,
            "progress": call.progress,
            "total": call.total,
            "message": call.message,
            "messages": call.messages,
            "reported_duration_s": call.reported_duration_s,
        },
    });
    if let (Some(error), Some(map)) = (error, entry.as_object_mut()) {
        map.insert("_error".into(), Value::String(error));
    }
    entry
}

/// The archive: one page for the session, one entry per call in the order they began.
pub fn render(doc: &Document) -> Value {
    let mut calls: Vec<&CallOut> = doc.calls.iter().collect();
    calls.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.id.cmp(&b.id)));
    let mut entries = Vec::with_capacity(calls.len());
    for call in calls {
        let mut e = entry(doc, call);
        if let Some(map) = e.as_object_mut() {
            map.insert("pageref".into(), Value::from("session"));
        }
        entries.push(e);
    }
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "mcptop", "version": env!("CARGO_PKG_VERSION")},
            "pages": [{
                "startedDateTime": doc.started_at,
                "id": "session",
                "title": doc.title,
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            }],
            "entries": entries,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_encodes_server_and_tool_as_segments() {
        assert_eq!(
            address("every thing", "a/b?c"),
            "mcp://every%20thing/tools/call/a%2Fb%3Fc"
        );
        assert_eq!(address("", "é"), "mcp://server/tools/call/%C3%A9");
        assert_eq!(
            address("Everything", "echo"),
            "mcp://Everything/tools/call/echo"
        );
    }
}
