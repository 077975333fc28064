//! Construct's routes: /health, POST /session, the events route's auth, /mcp in
//! Construct's dialect, the admin listing, and `--compat construct`.

use mcptop::server::Compat;
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn health_answers_like_construct() {
    let server = start(|_| {}).await;
    let response = http()
        .get(format!("{}/health", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with(r#"{"status":"ok","pid":"#),
        "Construct's field order: {text}"
    );
    let body = json(&text);
    assert_eq!(body["pid"], std::process::id());
    assert_eq!(body["protocol_version"], "2024-11-05");
    assert!(mcptop::wire::parse_timestamp(body["started_at"].as_str().unwrap()).is_some());
}

#[tokio::test]
async fn post_session_accepts_every_body_construct_accepts() {
    let server = start(|_| {}).await;
    let url = format!("{}/session", server.base_url());
    let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());

    // No body at all.
    let r = http().post(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.starts_with(r#"{"session_id":""#), "{text}");
    let body = json(&text);
    let id = body["session_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4));
    let token = body["token"].as_str().unwrap();
    assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(body["cwd"], home.as_str());

    // A label and a cwd under ~.
    let body: Value = http()
        .post(&url)
        .json(&json!({ "cwd": "~/repo", "label": "Claude Code · repo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["cwd"],
        format!("{}/repo", home.trim_end_matches('/')).as_str()
    );

    // Wrong content type, bad JSON.
    let r = http()
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.text().await.unwrap(),
        "Expected request with `Content-Type: application/json`"
    );
    let r = http()
        .post(&url)
        .header("content-type", "application/json")
        .body("{x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("Failed to parse the request body as JSON: "));
}

#[tokio::test]
async fn events_route_refuses_exactly_as_construct_does() {
    let server = start(|_| {}).await;
    let a = new_session(&server).await;
    let b = new_session(&server).await;
    let events = |id: &str| format!("{}/session/{id}/events", server.base_url());
    let cases: Vec<(String, Option<String>, &str)> = vec![
        (events(&a.id), None, "missing Authorization: Bearer <token>"),
        (
            events(&a.id),
            Some(format!("bearer {}", a.token)),
            "missing Authorization: Bearer <token>",
        ),
        (
            events(&a.id),
            Some("Bearer wrong".into()),
            "invalid session or token",
        ),
        (
            events(&a.id),
            Some(format!("Bearer {}", b.token)),
            "invalid session or token",
        ),
        (
            events("no-such-session"),
            Some(format!("Bearer {}", a.token)),
            "invalid session or token",
        ),
    ];
    for (url, auth, message) in cases {
        let mut request = http().get(&url);
        if let Some(auth) = &auth {
            request = request.header("authorization", auth);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(r.text().await.unwrap(), message, "{auth:?}");
    }
    // Extra spaces around the token are trimmed; the admin token opens any session.
    for auth in [
        format!("Bearer   {}  ", a.token),
        format!("Bearer {}", server.admin_token()),
    ] {
        let r = http()
            .get(events(&a.id))
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-cache");
    }
}

#[tokio::test]
async fn admin_listing_needs_the_admin_token_and_never_shows_tokens() {
    let server = start(|_| {}).await;
    let a = new_session(&server).await;
    let url = format!("{}/sessions", server.base_url());
    assert_eq!(http().get(&url).send().await.unwrap().status(), 401);
    let r = http().get(&url).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let text = http()
        .get(&url)
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&a.token), "a token leaked: {text}");
    let list = json(&text);
    assert_eq!(list[0]["session_id"], a.id.as_str());
    assert_eq!(list[0]["label"], "test");
    assert_eq!(list[0]["events"], 0);
}

/// A POST to /mcp in Construct's dialect.
async fn construct_mcp(server: &RunningServer, s: &NewSession, body: &Value) -> reqwest::Response {
    http()
        .post(format!("{}/mcp", server.base_url()))
        .bearer_auth(&s.token)
        .header("X-Construct-Session", &s.id)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn mcp_in_construct_dialect() {
    let server = start(|_| {}).await;
    let s = new_session(&server).await;
    let init = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}),
    )
    .await;
    assert_eq!(init.headers()["content-type"], "application/json");
    let text = init.text().await.unwrap();
    assert!(
        text.starts_with(r#"{"id":1,"jsonrpc":"2.0","result":{"capabilities""#),
        "alphabetical keys: {text}"
    );
    assert_eq!(json(&text)["result"]["protocolVersion"], "2024-11-05");

    let r = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    )
    .await;
    assert_eq!(r.status(), 202);

    let list: Value = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, mcptop::server::tool_names());

    let r: Value = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"no_such_tool"}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        r,
        json!({"error":{"code":-32602,"message":"unknown tool: no_such_tool"},"id":12,"jsonrpc":"2.0"})
    );
    let r: Value = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":13,"method":"ping"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["error"]["code"], -32601);
    assert_eq!(r["error"]["message"], "unknown method: ping");
    let r: Value = construct_mcp(
        &server,
        &s,
        &json!([{"jsonrpc":"2.0","id":1,"method":"ping"}]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        r,
        json!({"error":{"code":-32600,"message":"missing method"},"id":null,"jsonrpc":"2.0"})
    );

    // Auth and content type.
    let url = format!("{}/mcp", server.base_url());
    let r = http()
        .post(&url)
        .header("X-Construct-Session", &s.id)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.text().await.unwrap(),
        "missing Authorization: Bearer <token> or X-Construct-Session header"
    );
    let r = http()
        .post(&url)
        .bearer_auth("nope")
        .header("X-Construct-Session", &s.id)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .post(&url)
        .bearer_auth(&s.token)
        .header("X-Construct-Session", &s.id)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

/// `--stock-tools` (the conformance suite's tools as Construct has them): the caller gets
/// its progress, the session's stream nothing. Publishing happens before the answer ends,
/// so the count after the answer is the whole story (the test above is the other side).
#[tokio::test]
async fn stock_tools_answer_their_caller_and_publish_nothing() {
    let server = start(|c| {
        c.compat = Compat::Construct;
        c.stock_tools = true;
    })
    .await;
    let s = new_session(&server).await;
    let call = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
                "params":{"name":"test_tool_with_progress","arguments":{},"_meta":{"progressToken":5}}}),
    )
    .await;
    let messages = SseReader::new(call).rest().await;
    let progress = messages
        .iter()
        .filter(|m| m.data.contains("notifications/progress"))
        .count();
    assert_eq!(progress, 3, "{messages:?}");
    let session = server.state().sessions.get(&s.id).unwrap();
    assert_eq!(
        session.events.count(),
        0,
        "the session's stream carried the call"
    );
}

#[tokio::test]
async fn tools_call_streams_progress_then_the_result_and_publishes_the_call() {
    let server = start(|_| {}).await;
    let s = new_session(&server).await;
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/{}/events", server.base_url(), s.id))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap(),
    );
    let call = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":99,"method":"tools/call",
                "params":{"name":"test_tool_with_progress","arguments":{},"_meta":{"progressToken":777}}}),
    )
    .await;
    let messages: Vec<Value> = SseReader::new(call)
        .rest()
        .await
        .iter()
        .map(|e| json(&e.data))
        .collect();
    let progress: Vec<(Value, Value)> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            (
                m["params"]["progressToken"].clone(),
                m["params"]["progress"].clone(),
            )
        })
        .collect();
    assert_eq!(
        progress,
        vec![
            (json!(777), json!(0)),
            (json!(777), json!(50)),
            (json!(777), json!(100))
        ]
    );
    let last = messages.last().unwrap();
    assert_eq!(last["id"], 99);
    assert_eq!(last["result"]["isError"], false);

    // The session's stream: started, three progress reports, finished, ids from 1.
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.push(events.next_event().await.expect("an event"));
    }
    let ids: Vec<&str> = seen.iter().map(|e| e.last_event_id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    assert_eq!(seen[0].event_type, "call");
    assert_eq!(json(&seen[0].data)["state"], "started");
    let p = json(&seen[2].data);
    assert_eq!(
        (
            p["token"].clone(),
            p["progress"].clone(),
            p["total"].clone()
        ),
        (json!(777), json!(50), json!(100))
    );
    assert_eq!(p["tool"], "test_tool_with_progress");
    assert!(
        seen[2]
            .data
            .starts_with(r#"{"token":777,"progress":50,"total":100,"#),
        "{}",
        seen[2].data
    );
    let done = json(&seen[4].data);
    assert_eq!(
        (seen[4].event_type.as_str(), done["state"].as_str()),
        ("call", Some("finished"))
    );
    assert!(done["duration_ms"].as_u64().unwrap() >= 100);
}

#[tokio::test]
async fn calls_without_a_token_get_distinct_tokens() {
    let server = start(|_| {}).await;
    let s = new_session(&server).await;
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/{}/events", server.base_url(), s.id))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap(),
    );
    let call = |id: u64, token: Option<u64>| {
        let meta = token.map_or(json!({}), |t| json!({ "progressToken": t }));
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
               "params":{"name":"fetch_url","arguments":{"duration_ms":200},"_meta":meta}})
    };
    // Two calls with no token and two that both ask for token 1, all at once.
    let bodies = [
        call(1, None),
        call(2, None),
        call(3, Some(1)),
        call(4, Some(1)),
    ];
    let (a, b, c, d) = tokio::join!(
        construct_mcp(&server, &s, &bodies[0]),
        construct_mcp(&server, &s, &bodies[1]),
        construct_mcp(&server, &s, &bodies[2]),
        construct_mcp(&server, &s, &bodies[3]),
    );
    for r in [a, b, c, d] {
        SseReader::new(r).rest().await;
    }
    let mut started = std::collections::BTreeSet::new();
    while started.len() < 4 {
        let e = events.next_event().await.unwrap();
        let v = json(&e.data);
        if v["state"] == "started" {
            assert!(started.insert(v["token"].to_string()), "token reused: {v}");
        }
    }
    assert!(
        started.contains("1"),
        "a caller's own token is kept when free"
    );
}

#[tokio::test]
async fn cancelled_notification_really_cancels_the_call() {
    let server = start(|_| {}).await;
    let s = new_session(&server).await;
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/{}/events", server.base_url(), s.id))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap(),
    );
    let call = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":"long-1","method":"tools/call",
                "params":{"name":"build_project","arguments":{"duration_ms":600000}}}),
    )
    .await;
    let started = events.next_event().await.unwrap();
    assert_eq!(json(&started.data)["state"], "started");
    let r = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"long-1","reason":"user"}}),
    )
    .await;
    assert_eq!(r.status(), 202);
    // The response stream ends with no result; the events stream says cancelled.
    let messages = SseReader::new(call).rest().await;
    assert!(messages.iter().all(|m| !m.data.contains("\"result\"")));
    loop {
        let e = events.next_event().await.expect("the cancellation");
        if e.event_type == "call" {
            assert_eq!(json(&e.data)["state"], "cancelled");
            break;
        }
    }
}

#[tokio::test]
async fn compat_construct_speaks_exactly_constructs_framing() {
    let server = start(|c| c.compat = Compat::Construct).await;
    let s = new_session(&server).await;
    let url = format!("{}/mcp", server.base_url());
    // No standard MCP, no GET/DELETE, no admin listing.
    let r = http()
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let r = http().request(method, &url).send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
    }
    let r = http()
        .get(format!("{}/sessions", server.base_url()))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let events = http()
        .get(format!("{}/session/{}/events", server.base_url(), s.id))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    let call = construct_mcp(
        &server,
        &s,
        &json!({"jsonrpc":"2.0","id":5,"method":"tools/call",
                "params":{"name":"fetch_url","arguments":{"duration_ms":50},"_meta":{"progressToken":"str"}}}),
    )
    .await;
    let messages = SseReader::new(call).rest().await;
    // A string token becomes 0, as Construct does.
    assert_eq!(json(&messages[0].data)["params"]["progressToken"], 0);
    // The raw bytes: `data: {…}\n\n` and nothing else.
    let mut events = events;
    let mut raw = String::new();
    while raw.matches("\n\n").count() < 2 {
        let chunk = within("events", events.chunk()).await.unwrap().unwrap();
        raw.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    for block in raw.split_terminator("\n\n") {
        assert!(block.starts_with("data: {\"token\":0,"), "{block:?}");
        assert!(
            !block.contains('\n'),
            "one data line, no id or event: {block:?}"
        );
    }
}
