//! Standard MCP Streamable HTTP on `/mcp`.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::*;

const BOTH: &str = "application/json, text/event-stream";

struct Client {
    url: String,
    session: Option<String>,
    version: String,
}

impl Client {
    fn new(server: &RunningServer) -> Client {
        Client {
            url: server.mcp_url(),
            session: None,
            version: "2025-11-25".into(),
        }
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut r = http()
            .post(&self.url)
            .header("accept", BOTH)
            .header("mcp-protocol-version", &self.version)
            .json(body);
        if let Some(s) = &self.session {
            r = r.header("mcp-session-id", s);
        }
        r
    }

    async fn initialize(&mut self, version: &str) -> (HeaderMap, Value) {
        let r = self
            .post(&json!({"jsonrpc":"2.0","id":1,"method":"initialize",
                "params":{"protocolVersion":version,"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let headers = r.headers().clone();
        let body: Value = r.json().await.unwrap();
        self.session = headers
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned());
        self.version = body["result"]["protocolVersion"]
            .as_str()
            .unwrap()
            .to_owned();
        (headers, body)
    }
}

#[tokio::test]
async fn initialize_negotiates_and_issues_a_session() {
    let server = start(|_| {}).await;
    for (asked, got) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let mut client = Client::new(&server);
        let (_, body) = client.initialize(asked).await;
        assert_eq!(body["result"]["protocolVersion"], got);
        assert_eq!(body["result"]["serverInfo"]["name"], "mcptop");
        let id = client.session.unwrap();
        assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{id}");
    }
}

#[tokio::test]
async fn headers_are_checked() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    client.initialize("2025-11-25").await;
    let list = json!({"jsonrpc":"2.0","id":2,"method":"tools/list"});

    // Accept without text/event-stream: 406.
    let r = http()
        .post(&client.url)
        .header("accept", "application/json")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    // An unsupported protocol version: 400.
    let r = http()
        .post(&client.url)
        .header("accept", BOTH)
        .header("mcp-session-id", client.session.as_deref().unwrap())
        .header("mcp-protocol-version", "2099-01-01")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // No session: 400; an unknown one: 404.
    let mut anonymous = Client::new(&server);
    assert_eq!(anonymous.post(&list).send().await.unwrap().status(), 400);
    anonymous.session = Some("nope".into());
    assert_eq!(anonymous.post(&list).send().await.unwrap().status(), 404);
    // Notifications: 202.
    let r = client
        .post(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // ping and tools/list answer JSON.
    let r: Value = client
        .post(&json!({"jsonrpc":"2.0","id":3,"method":"ping"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["result"], json!({}));
}

#[tokio::test]
async fn dns_rebinding_is_refused() {
    let server = start(|_| {}).await;
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize",
        "params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let evil = "evil.example.com";
    for (host, origin, status) in [
        (Some(evil), Some(format!("http://{evil}")), 403),
        (Some(evil), None, 403),
        (None, Some(format!("http://{evil}")), 403),
        (
            Some("localhost"),
            Some(format!("http://localhost:{}", server.addr().port())),
            200,
        ),
    ] {
        let mut r = http()
            .post(server.mcp_url())
            .header("accept", BOTH)
            .json(&init);
        if let Some(h) = host {
            r = r.header("host", h);
        }
        if let Some(o) = &origin {
            r = r.header("origin", o);
        }
        assert_eq!(
            r.send().await.unwrap().status(),
            status,
            "{host:?} {origin:?}"
        );
    }
}

#[tokio::test]
async fn tools_call_echoes_the_token_and_publishes_on_the_session_stream() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    client.initialize("2025-11-25").await;
    let session_id = client.session.clone().unwrap();
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/{session_id}/events", server.base_url()))
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap(),
    );
    for token in [json!("progress-test-1"), json!(42)] {
        let r = client
            .post(&json!({"jsonrpc":"2.0","id":7,"method":"tools/call",
                "params":{"name":"test_tool_with_progress","arguments":{},"_meta":{"progressToken":token}}}))
            .send()
            .await
            .unwrap();
        let mut reader = SseReader::new(r);
        // 2025-11-25: retry, then the priming event (an id, empty data) first.
        assert_eq!(
            reader.next().await,
            Some(mcptop::sse::OwnedItem::Retry(1000))
        );
        let priming = reader.next_event().await.unwrap();
        assert_eq!(priming.data, "");
        assert!(!priming.last_event_id.is_empty());
        let rest = reader.rest().await;
        let progress: Vec<Value> = rest
            .iter()
            .map(|e| json(&e.data))
            .filter(|m| m["method"] == "notifications/progress")
            .collect();
        assert_eq!(progress.len(), 3);
        for (p, expected) in progress.iter().zip([0, 50, 100]) {
            assert_eq!(p["params"]["progressToken"], token, "echoed exactly");
            assert_eq!(p["params"]["progress"], expected);
            assert_eq!(p["params"]["total"], 100);
        }
        let result = json(&rest.last().unwrap().data);
        assert_eq!(result["id"], 7);
        assert!(
            rest.iter().all(|e| !e.last_event_id.is_empty()),
            "every event has an id"
        );
    }
    // The daemon session behind the MCP session saw it all, labelled with the tool.
    let mut progress_seen = 0;
    while progress_seen < 6 {
        let e = events.next_event().await.unwrap();
        let v = json(&e.data);
        if e.event_type == "message" {
            assert_eq!(v["tool"], "test_tool_with_progress");
            progress_seen += 1;
        }
    }
}

#[tokio::test]
async fn a_cut_stream_resumes_with_last_event_id() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    client.initialize("2025-11-25").await;
    let r = client
        .post(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
            "params":{"name":"test_reconnection","arguments":{}}}))
        .send()
        .await
        .unwrap();
    let cut = SseReader::new(r).rest().await;
    assert_eq!(cut.len(), 1, "only the priming event before the cut");
    let last_id = cut[0].last_event_id.clone();
    let r = http()
        .get(&client.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", client.session.as_deref().unwrap())
        .header("mcp-protocol-version", &client.version)
        .header("last-event-id", &last_id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let resumed = SseReader::new(r).rest().await;
    let result = json(&resumed.last().unwrap().data);
    assert_eq!(result["id"], 1);
    assert_eq!(result["result"]["isError"], false);
}

#[tokio::test]
async fn delete_ends_the_session() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    client.initialize("2025-06-18").await;
    let r = http()
        .delete(&client.url)
        .header("mcp-session-id", client.session.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = client
        .post(&json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn older_clients_get_no_priming_event() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    client.initialize("2025-03-26").await;
    let r = client
        .post(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
            "params":{"name":"test_error_handling","arguments":{}}}))
        .send()
        .await
        .unwrap();
    let events = SseReader::new(r).rest().await;
    assert_eq!(events.len(), 1);
    let result = json(&events[0].data);
    assert_eq!(result["result"]["isError"], true);
}

#[tokio::test]
async fn fixtures_return_every_content_type_and_log_lines_reach_client_and_monitor() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    client.initialize("2025-11-25").await;
    let session_id = client.session.clone().unwrap();
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/{session_id}/events", server.base_url()))
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap(),
    );
    let call = |id: u64, name: &str| {
        client.post(&json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
            "params":{"name":name,"arguments":{}}}))
    };
    let result_of = |events: Vec<mcptop::sse::Event>| {
        events
            .iter()
            .filter(|e| !e.data.is_empty())
            .map(|e| json(&e.data))
            .find(|m| m.get("result").is_some())
            .unwrap()["result"]
            .clone()
    };
    let types = |result: &Value| -> Vec<String> {
        result["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = result_of(
        SseReader::new(call(2, "test_multiple_content_types").send().await.unwrap())
            .rest()
            .await,
    );
    assert_eq!(types(&r), ["text", "image", "resource"]);
    assert_eq!(r["content"][1]["mimeType"], "image/png");
    let r = result_of(
        SseReader::new(call(3, "test_audio_content").send().await.unwrap())
            .rest()
            .await,
    );
    assert_eq!(r["content"][0]["mimeType"], "audio/wav");

    // Logging: below the level set, nothing; at it, every line, in order.
    let set = |level: &str| {
        client.post(
            &json!({"jsonrpc":"2.0","id":9,"method":"logging/setLevel","params":{"level":level}}),
        )
    };
    let answer: Value = set("warning").send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["result"], json!({}));
    let quiet = SseReader::new(call(4, "test_tool_with_logging").send().await.unwrap())
        .rest()
        .await;
    assert!(quiet
        .iter()
        .all(|e| !e.data.contains("notifications/message")));
    set("debug").send().await.unwrap();
    let logged = SseReader::new(call(5, "test_tool_with_logging").send().await.unwrap())
        .rest()
        .await;
    let lines: Vec<Value> = logged
        .iter()
        .filter(|e| !e.data.is_empty())
        .map(|e| json(&e.data))
        .filter(|m| m["method"] == "notifications/message")
        .map(|m| m["params"]["data"].clone())
        .collect();
    assert_eq!(
        lines,
        [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed"
        ]
    );
    let bad: Value = set("loud").send().await.unwrap().json().await.unwrap();
    assert_eq!(bad["error"]["code"], -32602);
    // The monitor's stream carries the log lines as the running call's messages.
    let mut messages = Vec::new();
    while messages.len() < 3 {
        let e = events.next_event().await.unwrap();
        let v = json(&e.data);
        if e.event_type == "call" && v["state"] == "working" {
            assert_eq!(v["tool"], "test_tool_with_logging");
            messages.push(v["message"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(messages[0], "Tool execution started");
}

#[tokio::test]
async fn tasks_of_2025_11_25_run_on_and_answer_tasks_result_when_they_end() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    let (_, init) = client.initialize("2025-11-25").await;
    assert!(init["result"]["capabilities"]["tasks"]["requests"]["tools"]["call"].is_object());
    let send = |body: Value| client.post(&body).send();
    let last_message = |events: Vec<mcptop::sse::Event>| {
        json(
            &events
                .iter()
                .rev()
                .find(|e| !e.data.is_empty())
                .unwrap()
                .data,
        )
    };
    let created: Value = send(json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
        "params":{"name":"slow_compute","arguments":{"seconds":0.3},"task":{"ttl":60000}}}))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let task = &created["result"]["task"];
    assert_eq!(task["status"], "working");
    assert_eq!(task["ttl"], 60000);
    let id = task["taskId"].as_str().unwrap().to_owned();
    let got: Value =
        send(json!({"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":id}}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(got["result"]["taskId"], id.as_str());
    // tasks/result waits for the end, and says which task it was.
    let started = std::time::Instant::now();
    let result = last_message(
        SseReader::new(
            send(json!({"jsonrpc":"2.0","id":3,"method":"tasks/result","params":{"taskId":id}}))
                .await
                .unwrap(),
        )
        .rest()
        .await,
    );
    assert!(started.elapsed() >= Duration::from_millis(200), "it waited");
    assert_eq!(result["result"]["isError"], false);
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
    let list: Value = send(json!({"jsonrpc":"2.0","id":4,"method":"tasks/list"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["result"]["tasks"][0]["status"], "completed");
    // Cancel a long one; a second cancel is invalid; tools say whether they run as tasks.
    let long: Value = send(json!({"jsonrpc":"2.0","id":5,"method":"tools/call",
        "params":{"name":"slow_compute","arguments":{"seconds":30},"task":{}}}))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let long_id = long["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel =
        json!({"jsonrpc":"2.0","id":6,"method":"tasks/cancel","params":{"taskId":long_id}});
    let cancelled: Value = send(cancel.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(cancelled["result"]["status"], "cancelled");
    let again: Value = send(cancel).await.unwrap().json().await.unwrap();
    assert_eq!(again["error"]["code"], -32602);
    let sync_only: Value = send(json!({"jsonrpc":"2.0","id":7,"method":"tools/call",
        "params":{"name":"greet","task":{}}}))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(sync_only["error"]["code"], -32601);
    let task_only: Value = send(json!({"jsonrpc":"2.0","id":8,"method":"tools/call",
        "params":{"name":"failing_job"}}))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(task_only["error"]["code"], -32601);
    // Another MCP session does not see these tasks.
    let mut other = Client::new(&server);
    other.initialize("2025-11-25").await;
    let hidden: Value = other
        .post(&json!({"jsonrpc":"2.0","id":9,"method":"tasks/get","params":{"taskId":id}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hidden["error"]["code"], -32602);
}

/// Resources, prompts and completion (the conformance suite's fixtures): declared in
/// `initialize`, listed, read, and a resource that does not exist is an error naming it.
#[tokio::test]
async fn resources_prompts_and_completion_answer_as_the_suite_asks() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    let (_, hello) = client.initialize("2025-11-25").await;
    let caps = &hello["result"]["capabilities"];
    assert!(
        caps["resources"].is_object()
            && caps["prompts"].is_object()
            && caps["completions"].is_object(),
        "{hello}"
    );
    let ask = |id: u64, method: &str, params: Value| {
        let request =
            client.post(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}));
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let listed = ask(2, "resources/list", json!({})).await;
    assert_eq!(
        listed["result"]["resources"][0]["uri"], "test://static-text",
        "{listed}"
    );
    let text = ask(3, "resources/read", json!({"uri":"test://static-text"})).await;
    assert_eq!(
        text["result"]["contents"][0]["text"],
        "This is the content of the static text resource."
    );
    let missing = ask(4, "resources/read", json!({"uri":"test://nope"})).await;
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    assert_eq!(missing["error"]["data"]["uri"], "test://nope", "{missing}");
    let prompt = ask(
        5,
        "prompts/get",
        json!({"name":"test_prompt_with_arguments","arguments":{"arg1":"a","arg2":"b"}}),
    )
    .await;
    assert_eq!(
        prompt["result"]["messages"][0]["content"]["text"],
        "Prompt with arguments: arg1='a', arg2='b'"
    );
    let done = ask(
        6,
        "completion/complete",
        json!({"ref":{"type":"ref/prompt","name":"test_prompt_with_arguments"},"argument":{"name":"arg1","value":"pa"}}),
    )
    .await;
    assert_eq!(
        done["result"]["completion"]["values"],
        json!(["paris", "park", "party"])
    );
    assert!(ask(
        7,
        "resources/subscribe",
        json!({"uri":"test://watched-resource"})
    )
    .await["result"]
        .is_object());
}

/// MCP 2025-11-25: a plain tools/call asks its client (elicitation, sampling) on its own
/// response stream, and goes on when the client posts its answer back.
#[tokio::test]
async fn a_call_asks_its_client_on_its_stream_and_goes_on_with_the_answer() {
    let server = start(|_| {}).await;
    let mut client = Client::new(&server);
    client.initialize("2025-11-25").await;
    for (tool, arguments, answer, expected) in [
        (
            "test_elicitation",
            json!({"message":"Who are you?"}),
            json!({"action":"accept","content":{"username":"ada","email":"ada@example.com"}}),
            "User response: action=accept, content={\"email\":\"ada@example.com\",\"username\":\"ada\"}",
        ),
        (
            "test_sampling",
            json!({"prompt":"Say hi"}),
            json!({"role":"assistant","content":{"type":"text","text":"hi"},"model":"m","stopReason":"endTurn"}),
            "LLM response: hi",
        ),
    ] {
        let r = client
            .post(&json!({"jsonrpc":"2.0","id":9,"method":"tools/call",
                "params":{"name":tool,"arguments":arguments}}))
            .send()
            .await
            .unwrap();
        let mut reader = SseReader::new(r);
        // The question, on the call's stream.
        let asked = loop {
            let event = reader.next_event().await.expect("the question comes");
            if !event.data.is_empty() {
                break json(&event.data);
            }
        };
        assert!(asked["id"].is_string(), "{asked}");
        let method = asked["method"].as_str().unwrap();
        assert!(["elicitation/create", "sampling/createMessage"].contains(&method), "{asked}");
        if method == "elicitation/create" {
            assert_eq!(asked["params"]["message"], "Who are you?");
        }
        // The answer, posted back.
        let posted = client
            .post(&json!({"jsonrpc":"2.0","id":asked["id"],"result":answer}))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        let rest = reader.rest().await;
        let result = json(&rest.last().unwrap().data);
        assert_eq!(result["id"], 9, "{result}");
        assert_eq!(result["result"]["content"][0]["text"], expected, "{result}");
    }
    // A refusal ends the call as a failed tool result that says so.
    let r = client
        .post(&json!({"jsonrpc":"2.0","id":10,"method":"tools/call",
            "params":{"name":"test_sampling","arguments":{"prompt":"x"}}}))
        .send()
        .await
        .unwrap();
    let mut reader = SseReader::new(r);
    let asked = loop {
        let event = reader.next_event().await.expect("the question comes");
        if !event.data.is_empty() {
            break json(&event.data);
        }
    };
    client
        .post(&json!({"jsonrpc":"2.0","id":asked["id"],"error":{"code":-32601,"message":"no sampling here"}}))
        .send()
        .await
        .unwrap();
    let result = json(&reader.rest().await.last().unwrap().data);
    assert_eq!(result["result"]["isError"], true, "{result}");
    assert!(
        result["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("no sampling here"),
        "{result}"
    );
}
