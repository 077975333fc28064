//! MCP 2026-07-28 on `/mcp`: stateless requests, the header checks, the new error codes,
//! and the tasks extension, with every call on the daemon's events stream.

use serde_json::{json, Value};

use super::*;

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// A 2026-07-28 request: `_meta` and the standard headers as a conforming client sends
/// them; `tasks` declares the tasks extension.
fn request(
    server: &RunningServer,
    id: u64,
    method: &str,
    params: Value,
    tasks: bool,
) -> reqwest::RequestBuilder {
    request_with(server, id, method, params, tasks, &[])
}

/// As [`request`], with some headers given other values.
fn request_with(
    server: &RunningServer,
    id: u64,
    method: &str,
    params: Value,
    tasks: bool,
    headers: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let capabilities = if tasks {
        json!({ "extensions": { TASKS: {} } })
    } else {
        json!({})
    };
    request_as(server, id, method, params, capabilities, headers)
}

/// As [`request_with`], declaring `capabilities`.
fn request_as(
    server: &RunningServer,
    id: u64,
    method: &str,
    mut params: Value,
    capabilities: Value,
    headers: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let name = params
        .get("name")
        .or_else(|| params.get("taskId"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": { "name": "modern-test", "version": "1" },
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    });
    let mut r = http()
        .post(server.mcp_url())
        .bearer_auth(server.admin_token())
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
    let defaults = [
        ("mcp-protocol-version", Some("2026-07-28")),
        ("mcp-method", Some(method)),
        ("mcp-name", name.as_deref()),
    ];
    for (header, value) in defaults {
        let given = headers.iter().find(|(h, _)| *h == header).map(|(_, v)| *v);
        if let Some(value) = given.or(value) {
            r = r.header(header, value);
        }
    }
    r
}

/// The final JSON-RPC message of an answer (JSON, or the last event of an SSE stream).
async fn answer(r: reqwest::RequestBuilder) -> (u16, Value) {
    let response = within("an answer", r.send()).await.unwrap();
    let status = response.status().as_u16();
    let sse = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
    if sse {
        let events = SseReader::new(response).rest().await;
        let last = events.iter().rev().find(|e| !e.data.is_empty()).unwrap();
        (status, json(&last.data))
    } else {
        (status, response.json().await.unwrap())
    }
}

#[tokio::test]
async fn discover_and_the_header_checks_need_no_session() {
    let server = start(|_| {}).await;
    let (status, d) = answer(request(&server, 1, "server/discover", json!({}), false)).await;
    assert_eq!(status, 200);
    let result = &d["result"];
    assert_eq!(result["resultType"], "complete");
    assert!(result["supportedVersions"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    assert!(result["capabilities"]["extensions"][TASKS].is_object());
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcptop"
    );

    // The version header must say what the body says; an unknown version is refused
    // with the versions there are.
    let (status, e) = answer(request_with(
        &server,
        2,
        "tools/list",
        json!({}),
        false,
        &[("mcp-protocol-version", "2025-01-01")],
    ))
    .await;
    assert_eq!(
        (status, e["id"].clone(), e["error"]["code"].clone()),
        (400, json!(2), json!(-32020))
    );
    let (status, e) = answer(
        http()
            .post(server.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2099-01-01")
            .header("mcp-method", "tools/list")
            .json(
                &json!({"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"_meta":{
                "io.modelcontextprotocol/protocolVersion":"2099-01-01",
                "io.modelcontextprotocol/clientCapabilities":{}}}}),
            ),
    )
    .await;
    assert_eq!((status, e["error"]["code"].clone()), (400, json!(-32022)));
    assert_eq!(e["error"]["data"]["requested"], "2099-01-01");
    assert!(e["error"]["data"]["supported"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    let (status, e) = answer(request_with(
        &server,
        3,
        "tools/list",
        json!({}),
        false,
        &[("mcp-method", "prompts/list")],
    ))
    .await;
    assert_eq!(
        (status, e["id"].clone(), e["error"]["code"].clone()),
        (400, json!(3), json!(-32020))
    );
    let (status, e) = answer(request_with(
        &server,
        4,
        "tools/call",
        json!({ "name": "greet" }),
        false,
        &[("mcp-name", "other")],
    ))
    .await;
    assert_eq!((status, e["error"]["code"].clone()), (400, json!(-32020)));
    // Two values of one header are refused too.
    let (status, e) = answer(
        request(&server, 7, "tools/list", json!({}), false).header("mcp-method", "tools/list"),
    )
    .await;
    assert_eq!((status, e["error"]["code"].clone()), (400, json!(-32020)));
    // Removed methods are not found, with the request's id.
    let (status, e) = answer(request(&server, 5, "ping", json!({}), false)).await;
    assert_eq!(
        (status, e["id"].clone(), e["error"]["code"].clone()),
        (404, json!(5), json!(-32601))
    );
    // Lists carry caching hints.
    let (_, l) = answer(request(&server, 6, "tools/list", json!({}), false)).await;
    assert_eq!(l["result"]["cacheScope"], "public");
    assert!(l["result"]["ttlMs"].as_u64().is_some());
    // A sessioned client of 2025-11-25 is still served as before.
    let r = http()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc":"2.0","id":1,"method":"initialize",
            "params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"old","version":"1"}}}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("mcp-session-id").is_some());
}

#[tokio::test]
async fn a_task_runs_to_its_end_and_the_monitor_sees_the_whole_call() {
    let server = start(|_| {}).await;
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/*/events", server.base_url()))
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap(),
    );
    // Without the extension the same tool runs synchronously.
    let (_, sync) = answer(request(
        &server,
        1,
        "tools/call",
        json!({ "name": "slow_compute", "arguments": { "seconds": 0 } }),
        false,
    ))
    .await;
    assert_eq!(sync["result"]["resultType"], "complete");
    assert!(sync["result"]["content"].is_array());

    let (_, created) = answer(request(
        &server,
        2,
        "tools/call",
        json!({ "name": "slow_compute", "arguments": { "seconds": 0.4 } }),
        true,
    ))
    .await;
    let task = &created["result"];
    assert_eq!(task["resultType"], "task");
    assert_eq!(task["status"], "working");
    let id = task["taskId"].as_str().unwrap().to_owned();
    let get = |n: u64| request(&server, n, "tasks/get", json!({ "taskId": id }), true);
    let (_, now) = answer(get(3)).await;
    assert_eq!(now["result"]["status"], "working");
    let mut done = Value::Null;
    for n in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, polled) = answer(get(10 + n)).await;
        if polled["result"]["status"] != "working" {
            done = polled;
            break;
        }
    }
    assert_eq!(done["result"]["status"], "completed", "{done}");
    assert_eq!(done["result"]["result"]["isError"], false);
    // The events stream: the task's call started, progressed and finished, its duration
    // the task's.
    let mut ends = Vec::new();
    while ends.len() < 2 {
        let e = within("the task's end", events.next_event()).await.unwrap();
        let v = json(&e.data);
        if e.event_type == "call" && v["tool"] == "slow_compute" && v["state"] == "finished" {
            ends.push(v);
        }
    }
    let finished = &ends[1];
    assert!(
        finished["duration_ms"].as_u64().unwrap() >= 350,
        "{finished}"
    );

    // Input: the task asks, the client answers with tasks/update.
    let (_, asked) = answer(request(
        &server,
        200,
        "tools/call",
        json!({ "name": "confirm_delete" }),
        true,
    ))
    .await;
    let id = asked["result"]["taskId"].as_str().unwrap().to_owned();
    let mut waiting = Value::Null;
    for n in 0..100 {
        let (_, polled) = answer(request(
            &server,
            300 + n,
            "tasks/get",
            json!({ "taskId": id }),
            true,
        ))
        .await;
        if polled["result"]["status"] == "input_required" {
            waiting = polled;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        waiting["result"]["inputRequests"]["confirm"]["method"],
        "elicitation/create"
    );
    let (_, ack) = answer(request(
        &server,
        400,
        "tasks/update",
        json!({ "taskId": id, "inputResponses": { "confirm": { "action": "accept", "content": { "confirm": true } } } }),
        true,
    ))
    .await;
    assert_eq!(ack["result"]["resultType"], "complete");
    let mut outcome = Value::Null;
    for n in 0..100 {
        let (_, polled) = answer(request(
            &server,
            500 + n,
            "tasks/get",
            json!({ "taskId": id }),
            true,
        ))
        .await;
        if polled["result"]["status"] == "completed" {
            outcome = polled;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(outcome["result"]["result"]["content"][0]["text"], "deleted");

    // Cancel: the next tasks/get says cancelled; an unknown task is invalid params.
    let (_, long) = answer(request(
        &server,
        600,
        "tools/call",
        json!({ "name": "slow_compute", "arguments": { "seconds": 30 } }),
        true,
    ))
    .await;
    let id = long["result"]["taskId"].as_str().unwrap().to_owned();
    let (_, ack) = answer(request(
        &server,
        601,
        "tasks/cancel",
        json!({ "taskId": id }),
        true,
    ))
    .await;
    assert_eq!(
        ack["result"],
        json!({ "resultType": "complete", "_meta": ack["result"]["_meta"] })
    );
    let (_, after) = answer(request(
        &server,
        602,
        "tasks/get",
        json!({ "taskId": id }),
        true,
    ))
    .await;
    assert_eq!(after["result"]["status"], "cancelled");
    let (_, unknown) = answer(request(
        &server,
        603,
        "tasks/get",
        json!({ "taskId": "nope" }),
        true,
    ))
    .await;
    assert_eq!(unknown["error"]["code"], -32602);
    // Without the extension the task methods are refused.
    let (status, refused) = answer(request(
        &server,
        604,
        "tasks/get",
        json!({ "taskId": id }),
        false,
    ))
    .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!(-32021))
    );
}

/// The call events of `tool` on the events stream until one ends it.
async fn call_events(events: &mut SseReader, tool: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let e = within("the call's end", events.next_event()).await.unwrap();
        let v = json(&e.data);
        if e.event_type == "call" && v["tool"] == tool {
            let end =
                ["finished", "failed", "cancelled"].contains(&v["state"].as_str().unwrap_or(""));
            seen.push(v);
            if end {
                return seen;
            }
        }
    }
}

#[tokio::test]
async fn a_multi_round_call_is_one_call_from_its_first_request_to_its_result() {
    let server = start(|_| {}).await;
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/*/events", server.base_url()))
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap(),
    );
    let tool = "test_input_required_result_multi_round";
    let can_elicit = json!({ "elicitation": {} });
    let call = |id: u64, extra: Value| {
        let mut params = json!({ "name": tool, "arguments": {} });
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        request_as(&server, id, "tools/call", params, can_elicit.clone(), &[])
    };
    let (_, first) = answer(call(1, json!({}))).await;
    let first = &first["result"];
    assert_eq!(first["resultType"], "input_required", "{first}");
    assert_eq!(
        first["inputRequests"]["step1"]["method"],
        "elicitation/create"
    );
    let state = first["requestState"].as_str().unwrap().to_owned();

    // A state the client changed is refused, and says why.
    let (_, tampered) = answer(call(
        2,
        json!({ "inputResponses": { "step1": { "action": "accept", "content": { "name": "Mallory" } } },
                "requestState": format!("{state}x") }),
    ))
    .await;
    assert_eq!(tampered["error"]["code"], -32602, "{tampered}");
    assert!(tampered["error"]["message"]
        .as_str()
        .unwrap()
        .contains("integrity"));
    // An answer of the wrong shape is asked for again.
    let (_, again) = answer(call(
        3,
        json!({ "inputResponses": { "step1": 12345 }, "requestState": state }),
    ))
    .await;
    assert_eq!(again["result"]["resultType"], "input_required");
    assert!(again["result"]["inputRequests"]["step1"].is_object());

    let (_, second) = answer(call(
        4,
        json!({ "inputResponses": { "step1": { "action": "accept", "content": { "name": "Alice" } } },
                "requestState": state }),
    ))
    .await;
    let second = &second["result"];
    assert_eq!(second["resultType"], "input_required", "{second}");
    assert!(second["inputRequests"]["step2"].is_object());
    let state2 = second["requestState"].as_str().unwrap();
    assert_ne!(state2, state);
    let (_, done) = answer(call(
        5,
        json!({ "inputResponses": { "step2": { "action": "accept", "content": { "color": "blue" } } },
                "requestState": state2 }),
    ))
    .await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "Alice likes blue");

    // The tampered request never ran; the wrong answer asked again, as a round of the
    // same call. Every round is the one call: one token, started once, waiting while the
    // client answered, then finished.
    let mut seen = call_events(&mut events, tool).await;
    let token = seen[0]["token"].clone();
    assert!(seen.iter().all(|e| e["token"] == token), "{seen:?}");
    let states: Vec<&str> = seen.iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(
        states,
        ["started", "waiting", "working", "waiting", "working", "waiting", "working", "finished"],
        "{seen:?}"
    );
    assert_eq!(seen[1]["waiting_for"], "input");
    assert_eq!(
        seen[1]["message"],
        "asks the user: Step 1: What is your name?"
    );
    assert_eq!(seen[4]["message"], "round 2: the client answered");
    assert_eq!(
        seen[5]["message"],
        "asks the user: Step 2: What is your favorite color?"
    );
    let end = seen.pop().unwrap();
    assert!(end["duration_ms"].is_u64());
}

/// `tasks/get` of task `id` (request ids from `first` on), declaring `caps`, until `until`
/// accepts the answer (at most 200 polls, 20 ms apart); that answer.
async fn poll_task(
    server: &RunningServer,
    caps: &Value,
    id: &str,
    first: u64,
    until: impl Fn(&Value) -> bool,
) -> Value {
    for n in 0..200 {
        let get = json!({ "taskId": id });
        let (_, polled) = answer(request_as(
            server,
            first + n,
            "tasks/get",
            get,
            caps.clone(),
            &[],
        ))
        .await;
        if until(&polled) {
            return polled;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {id}: no answer as wanted within 200 polls");
}

#[tokio::test]
async fn a_call_gathers_its_input_then_runs_as_a_task_and_a_task_takes_answers_one_by_one() {
    let server = start(|_| {}).await;
    let caps = json!({ "elicitation": {}, "extensions": { TASKS: {} } });
    let tool = "test_tool_with_task";
    let (_, first) = answer(request_as(
        &server,
        1,
        "tools/call",
        json!({ "name": tool, "arguments": {} }),
        caps.clone(),
        &[],
    ))
    .await;
    assert_eq!(first["result"]["resultType"], "input_required", "{first}");
    assert!(first["result"].get("taskId").is_none());
    let (_, created) = answer(request_as(
        &server,
        2,
        "tools/call",
        json!({ "name": tool, "arguments": {},
                "inputResponses": { "user_name": { "action": "accept", "content": { "name": "Alice" } } },
                "requestState": first["result"]["requestState"] }),
        caps.clone(),
        &[],
    ))
    .await;
    let created = &created["result"];
    assert_eq!(created["resultType"], "task", "{created}");
    assert!(created.get("requestState").is_none() && created.get("inputRequests").is_none());
    let id = created["taskId"].as_str().unwrap().to_owned();
    let status = poll_task(&server, &caps, &id, 10, |p| {
        p["result"]["status"] == "completed"
    })
    .await;
    assert_eq!(
        status["result"]["result"]["content"][0]["text"],
        "Hello, Alice!"
    );

    // Two questions at once; the first answer leaves the second pending.
    let (_, created) = answer(request_as(
        &server,
        300,
        "tools/call",
        json!({ "name": "multi_input", "arguments": {} }),
        caps.clone(),
        &[],
    ))
    .await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let pending = poll_task(&server, &caps, &id, 310, |p| {
        p["result"]["inputRequests"]
            .as_object()
            .is_some_and(|r| r.len() == 2)
    })
    .await;
    assert_eq!(pending["result"]["status"], "input_required", "{pending}");
    let update = |n: u64, responses: Value| {
        request_as(
            &server,
            n,
            "tasks/update",
            json!({ "taskId": id, "inputResponses": responses }),
            caps.clone(),
            &[],
        )
    };
    let (_, ack) = answer(update(
        600,
        json!({ "name": { "action": "accept", "content": { "name": "Bo" } } }),
    ))
    .await;
    assert_eq!(ack["result"]["resultType"], "complete");
    let after = poll_task(&server, &caps, &id, 601, |_| true).await;
    assert_eq!(after["result"]["status"], "input_required");
    let keys: Vec<&String> = after["result"]["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["confirm"]);
    answer(update(
        602,
        json!({ "confirm": { "action": "accept", "content": { "confirm": true } } }),
    ))
    .await;
    let done = poll_task(&server, &caps, &id, 610, |p| {
        p["result"]["status"] == "completed"
    })
    .await;
    assert_eq!(
        done["result"]["result"]["content"][0]["text"],
        "Bo: went ahead"
    );
}
