use super::*;
use std::time::Duration;

fn at(ms: u64) -> (Instant, Time) {
    thread_local!(static BASE: Instant = Instant::now());
    let base = BASE.with(|b| *b);
    (base + Duration::from_millis(ms), Time::now())
}

fn see(o: &mut Observer, d: Direction, msg: &str, ms: u64) -> (Pass, Vec<Item>) {
    let mut out = Vec::new();
    let v = o.observe(d, "", msg, at(ms), &mut out);
    (v, out)
}

fn call(item: &Item) -> &crate::wire::schema::CallEvent<'static> {
    item.as_call()
        .unwrap_or_else(|| panic!("not a call: {item:?}"))
}

fn state_of(item: &Item) -> (String, &'static str) {
    let c = call(item);
    (c.tool.to_string(), c.state.as_str())
}

/// (state, error or message) of every call item.
fn states(items: &[Item]) -> Vec<(&'static str, Option<String>)> {
    items
        .iter()
        .filter_map(Item::as_call)
        .map(|c| {
            let text = c
                .error
                .as_deref()
                .or(c.message.as_deref())
                .map(str::to_owned);
            (c.state.as_str(), text)
        })
        .collect()
}

#[test]
fn a_call_with_progress_starts_reports_and_finishes() {
    let mut o = Observer::new(false);
    let (v, items) = see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"index","arguments":{},"_meta":{"progressToken":"p1"}}}"#,
        0,
    );
    assert_eq!(v, Pass::Forward);
    assert_eq!(state_of(&items[0]), ("index".into(), "started"));
    let started = call(&items[0]);
    assert_eq!(started.token, Value::from(7));
    assert_eq!(started.extras.progress_requested, Some(true));
    assert_eq!(
        started.extras.progress_token,
        Some(crate::wire::Token::Str("p1".into())),
        "the agent's token is what a person sees"
    );
    let (v, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":2,"total":4,"message":"half"}}"#,
        100,
    );
    assert_eq!(v, Pass::Forward);
    let p = items[0].as_progress().expect("progress");
    assert_eq!(
        (&p.token, p.tool.as_deref()),
        (&Value::from(7), Some("index"))
    );
    assert_eq!(
        (p.progress.0, p.total.map(|t| t.0), p.message.as_deref()),
        (2.0, Some(4.0), Some("half"))
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"ok"}]}}"#,
        1500,
    );
    let end = call(&items[0]);
    assert_eq!(
        (end.state, end.duration_ms, end.error.as_deref()),
        (CallState::Finished, Some(1500), None)
    );
    assert_eq!(o.pending(), 0);
    // Progress for a finished call's token is not attributed to anything.
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":3}}"#,
        1600,
    );
    assert!(items.is_empty());
}

#[test]
fn errors_tool_errors_and_cancellations_end_calls() {
    let mut o = Observer::new(false);
    for id in 1..=3 {
        see(
            &mut o,
            Direction::ToServer,
            &format!(
                r#"{{"jsonrpc":"2.0","id":"r{id}","method":"tools/call","params":{{"name":"t{id}"}}}}"#
            ),
            0,
        );
    }
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":"r1","error":{"code":-32602,"message":"unknown tool"}}"#,
        10,
    );
    assert_eq!(states(&items), [("failed", Some("unknown tool".into()))]);
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":"r2","result":{"isError":true,"content":[{"type":"text","text":"disk full"}]}}"#,
        10,
    );
    assert_eq!(states(&items), [("failed", Some("disk full".into()))]);
    let (_, items) = see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"r3","reason":"user"}}"#,
        10,
    );
    assert_eq!(states(&items), [("cancelled", Some("user".into()))]);
    assert_eq!(o.pending(), 0);
}

#[test]
fn request_progress_adds_a_token_and_keeps_its_notifications_from_the_agent() {
    let mut o = Observer::new(true);
    let (v, items) = see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{"n":1}}}"#,
        0,
    );
    let Pass::Replace(text) = v else {
        panic!("{v:?}")
    };
    let sent: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sent["params"]["_meta"]["progressToken"], "mcptop-1");
    assert_eq!(sent["params"]["arguments"]["n"], 1);
    assert_eq!(call(&items[0]).extras.progress_requested, Some(true));
    assert_eq!(
        call(&items[0]).extras.progress_token,
        Some(crate::wire::Token::Str(String::new())),
        "the tap's own token is not shown"
    );
    let (v, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"mcptop-1","progress":1,"total":2}}"#,
        5,
    );
    assert_eq!(v, Pass::Drop, "the agent never asked for it");
    assert_eq!(items.len(), 1, "but the monitor shows it");
    // A call that brought its own token keeps its notifications.
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","_meta":{"progressToken":9}}}"#,
        6,
    );
    let (v, _) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":9,"progress":1}}"#,
        7,
    );
    assert_eq!(v, Pass::Forward);
    // In a batch only the tap's notification goes.
    let (v, _) = see(
        &mut o,
        Direction::ToClient,
        r#"[{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"mcptop-1","progress":2,"total":2}},{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":9,"progress":2}}]"#,
        8,
    );
    let Pass::Replace(kept) = v else {
        panic!("{v:?}")
    };
    assert!(
        !kept.contains("mcptop-1") && kept.contains(r#""progressToken":9"#),
        "{kept}"
    );
}

#[test]
fn without_a_token_the_call_says_no_progress_was_requested() {
    let mut o = Observer::new(false);
    let (v, items) = see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"grep"}}"#,
        0,
    );
    assert_eq!(v, Pass::Forward);
    assert_eq!(call(&items[0]).extras.progress_requested, Some(false));
    let json = items[0].to_json().unwrap();
    assert_eq!(json["progress_requested"], false);
    assert_eq!(json["type"], "call");
    assert_eq!(json["progress_token"], "");
}

#[test]
fn initialize_and_discover_name_the_server_and_junk_is_passed_on() {
    for method in ["initialize", "server/discover"] {
        let mut o = Observer::new(false);
        see(
            &mut o,
            Direction::ToServer,
            &format!(r#"{{"jsonrpc":"2.0","id":0,"method":"{method}","params":{{}}}}"#),
            0,
        );
        let (_, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"name":"everything","version":"2.0.0"}}}"#,
            1,
        );
        assert_eq!(
            items[0],
            Item::ServerName("everything 2.0.0".into()),
            "{method}"
        );
        assert_eq!(items.len(), 2, "{method}: {items:?}");
        let (v, items) = see(&mut o, Direction::ToClient, "not json at all", 2);
        assert_eq!((v, items.len(), o.unreadable), (Pass::Forward, 0, 1));
    }
}

#[test]
fn the_same_id_in_two_sessions_is_two_calls() {
    let mut o = Observer::new(false);
    let c = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#;
    let mut out = Vec::new();
    o.observe(Direction::ToServer, "session-a", c, at(0), &mut out);
    o.observe(Direction::ToServer, "session-b", c, at(0), &mut out);
    assert_eq!(o.pending(), 2);
    let tokens: Vec<Value> = out.iter().map(|i| call(i).token.clone()).collect();
    assert_ne!(tokens[0], tokens[1]);
    o.end_scope("session-a", "closed", at(5), &mut out);
    assert_eq!(o.pending(), 1);
    o.abandon_all("the server exited", at(9), &mut out);
    assert_eq!(o.pending(), 0);
    assert_eq!(out.last().map(|i| call(i).state), Some(CallState::Failed));
}

// Tasks ---------------------------------------------------------------------------------

const TASK_CALL: &str = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"research","arguments":{"q":"x"},"task":{"ttl":60000},"_meta":{"progressToken":"pt"}}}"#;

#[test]
fn a_task_of_2025_11_25_runs_until_its_status_says_completed() {
    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":5,"result":{"task":{"taskId":"t-1","status":"working","statusMessage":"queued","createdAt":"2025-11-25T10:30:00Z","lastUpdatedAt":"2025-11-25T10:30:00Z","ttl":60000,"pollInterval":500}}}"#,
        9,
    );
    assert_eq!(
        states(&items),
        [("working", None), ("working", Some("queued".into()))]
    );
    assert_eq!(call(&items[0]).extras.task.as_deref(), Some("t-1"));
    assert_eq!(
        o.pending(),
        1,
        "the call is not over when its task is created"
    );
    // Progress keeps coming under the request's token.
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"pt","progress":1,"total":4}}"#,
        100,
    );
    assert_eq!(items[0].as_progress().map(|p| p.progress.0), Some(1.0));
    // Polls: the same status says nothing new; a new message is news.
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":6,"method":"tasks/get","params":{"taskId":"t-1"}}"#,
        200,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":6,"result":{"taskId":"t-1","status":"working","statusMessage":"queued","createdAt":"x","lastUpdatedAt":"x","ttl":60000}}"#,
        210,
    );
    assert!(items.is_empty(), "{items:?}");
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"t-1","status":"input_required","statusMessage":"which branch?","createdAt":"x","lastUpdatedAt":"x","ttl":60000}}"#,
        300,
    );
    assert_eq!(states(&items), [("waiting", Some("which branch?".into()))]);
    assert_eq!(
        call(&items[0]).extras.waiting_for,
        Some(crate::wire::Wait::Input)
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"t-1","status":"working","createdAt":"x","lastUpdatedAt":"x","ttl":60000}}"#,
        400,
    );
    assert_eq!(states(&items), [("working", None)], "back to work");
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":7,"method":"tasks/get","params":{"taskId":"t-1"}}"#,
        4000,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":7,"result":{"taskId":"t-1","status":"completed","createdAt":"x","lastUpdatedAt":"x","ttl":60000}}"#,
        4100,
    );
    assert_eq!(states(&items), [("finished", None)]);
    assert_eq!(
        call(&items[0]).duration_ms,
        Some(4100),
        "the task's duration, not the request's"
    );
    assert_eq!(o.pending(), 0);
    // Its token is free again.
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"pt","progress":4}}"#,
        4200,
    );
    assert!(items.is_empty());
}

#[test]
fn a_task_of_the_extension_ends_with_its_inlined_result_or_error() {
    let created = r#"{"jsonrpc":"2.0","id":5,"result":{"resultType":"task","taskId":"t-2","status":"working","createdAt":"x","lastUpdatedAt":"x","ttlMs":null,"pollIntervalMs":100}}"#;
    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    see(&mut o, Direction::ToClient, created, 5);
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":8,"method":"tasks/get","params":{"taskId":"t-2"}}"#,
        50,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":8,"result":{"resultType":"complete","taskId":"t-2","status":"completed","createdAt":"x","lastUpdatedAt":"x","ttlMs":null,"result":{"isError":true,"content":[{"type":"text","text":"no such repo"}]}}}"#,
        60,
    );
    assert_eq!(states(&items), [("failed", Some("no such repo".into()))]);

    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    see(
        &mut o,
        Direction::ToClient,
        &created.replace("t-2", "t-3"),
        5,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","method":"notifications/tasks","params":{"taskId":"t-3","status":"failed","createdAt":"x","lastUpdatedAt":"x","ttlMs":null,"error":{"code":-32603,"message":"worker died"}}}"#,
        70,
    );
    assert_eq!(states(&items), [("failed", Some("worker died".into()))]);
}

#[test]
fn a_cancelled_task_shows_cancelled_in_both_generations() {
    // 2025-11-25: the answer to tasks/cancel is the task, cancelled.
    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":5,"result":{"task":{"taskId":"a","status":"working","createdAt":"x","lastUpdatedAt":"x","ttl":null}}}"#,
        1,
    );
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":9,"method":"tasks/cancel","params":{"taskId":"a"}}"#,
        10,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":9,"result":{"taskId":"a","status":"cancelled","statusMessage":"The task was cancelled by request.","createdAt":"x","lastUpdatedAt":"x","ttl":null}}"#,
        20,
    );
    assert_eq!(
        states(&items),
        [(
            "cancelled",
            Some("The task was cancelled by request.".into())
        )]
    );
    // The extension: an empty acknowledgement.
    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":5,"result":{"resultType":"task","taskId":"b","status":"working","createdAt":"x","lastUpdatedAt":"x","ttlMs":1000}}"#,
        1,
    );
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":9,"method":"tasks/cancel","params":{"taskId":"b"}}"#,
        10,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":9,"result":{"resultType":"complete"}}"#,
        20,
    );
    assert_eq!(
        states(&items),
        [("cancelled", Some("cancelled by the client".into()))]
    );
    assert_eq!(o.pending(), 0);
}

#[test]
fn tasks_result_ends_a_task_and_an_expired_task_fails() {
    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":5,"result":{"task":{"taskId":"r","status":"working","createdAt":"x","lastUpdatedAt":"x","ttl":60000}}}"#,
        1,
    );
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":10,"method":"tasks/result","params":{"taskId":"r"}}"#,
        2,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":10,"result":{"content":[{"type":"text","text":"done"}],"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"r"}}}}"#,
        3000,
    );
    assert_eq!(states(&items), [("finished", None)]);

    // ttl 1 s and nobody polls: the next tick after it fails the call as expired.
    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":5,"result":{"task":{"taskId":"e","status":"working","createdAt":"x","lastUpdatedAt":"x","ttl":1000}}}"#,
        1,
    );
    let mut out = Vec::new();
    o.tick(at(500), &mut out);
    assert!(out.is_empty());
    o.tick(at(1500), &mut out);
    let s = states(&out);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, "failed");
    assert!(
        s[0].1.as_deref().unwrap_or_default().contains("expired"),
        "{s:?}"
    );
    // A task the server no longer knows (tasks/get answered with an error) fails too.
    see(
        &mut o,
        Direction::ToServer,
        &TASK_CALL.replace("\"id\":5", "\"id\":11"),
        2000,
    );
    see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":11,"result":{"task":{"taskId":"g","status":"working","createdAt":"x","lastUpdatedAt":"x","ttl":null}}}"#,
        2001,
    );
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":12,"method":"tasks/get","params":{"taskId":"g"}}"#,
        2002,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":12,"error":{"code":-32602,"message":"unknown task"}}"#,
        2003,
    );
    assert_eq!(states(&items)[0].0, "failed");
    assert_eq!(o.pending(), 0);
}

fn server_of(items: &[Item]) -> &crate::wire::schema::ServerEvent {
    items
        .iter()
        .find_map(|i| match i {
            Item::Event(crate::wire::schema::Published::Server(s)) => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no server item in {items:?}"))
}

#[test]
fn the_server_its_revision_and_its_tools_page_by_page_are_published() {
    let mut o = Observer::new(false);
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#,
        0,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"logging":{}},"serverInfo":{"name":"everything","version":"2.0.0"}}}"#,
        1,
    );
    let server = server_of(&items);
    assert_eq!(
        (
            server.name.as_str(),
            server.version.as_deref(),
            server.protocol.as_deref()
        ),
        ("everything", Some("2.0.0"), Some("2025-11-25"))
    );
    assert_eq!(server.capabilities, vec!["logging", "tools"]);
    assert!(server.tools.is_empty());
    // Two pages of tools/list: the second adds to the first.
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        2,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","description":"Echoes back the input"},{"name":"slow","execution":{"taskSupport":"required"}}],"nextCursor":"2"}}"#,
        3,
    );
    assert_eq!(server_of(&items).tools.len(), 2);
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"2"}}"#,
        4,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"get-sum","title":"Adds two numbers"},{"description":"no name: skipped"}]}}"#,
        5,
    );
    let server = server_of(&items);
    let tools: Vec<(&str, Option<&str>, Option<&str>)> = server
        .tools
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.description.as_deref(),
                t.tasks.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        tools,
        vec![
            ("echo", Some("Echoes back the input"), None),
            ("slow", None, Some("required")),
            ("get-sum", Some("Adds two numbers"), None),
        ]
    );
    assert_eq!(
        server.name, "everything",
        "the listing keeps what initialize said"
    );
    let json = items.iter().find_map(Item::to_json).unwrap_or_default();
    assert_eq!(json["type"], "server");
    // A new listing from the start replaces the old one.
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}}"#,
        6,
    );
    let (_, items) = see(
        &mut o,
        Direction::ToClient,
        r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"only"}]}}"#,
        7,
    );
    assert_eq!(server_of(&items).tools.len(), 1);
}

#[test]
fn a_huge_tool_list_is_held_to_its_caps() {
    let mut o = Observer::new(false);
    see(
        &mut o,
        Direction::ToServer,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        0,
    );
    let tools: Vec<serde_json::Value> = (0..1000)
        .map(|i| serde_json::json!({"name": format!("t{i}"), "description": "d".repeat(10_000)}))
        .collect();
    let answer = serde_json::json!({"jsonrpc":"2.0","id":1,"result":{"tools":tools}}).to_string();
    let (_, items) = see(&mut o, Direction::ToClient, &answer, 1);
    let server = server_of(&items);
    assert_eq!(server.tools.len(), crate::wire::schema::MAX_TOOLS);
    assert_eq!(
        server.tools_cut,
        1000 - crate::wire::schema::MAX_TOOLS as u64
    );
    assert!(server.tools.iter().all(|t| t
        .description
        .as_ref()
        .is_some_and(|d| d.len() <= crate::wire::schema::MAX_DESCRIPTION)));
}

#[test]
fn the_same_listing_again_publishes_nothing() {
    let mut o = Observer::new(false);
    let answer = r#"{"jsonrpc":"2.0","id":ID,"result":{"tools":[{"name":"echo"}]}}"#;
    let mut published = 0;
    for id in 1..=3 {
        see(
            &mut o,
            Direction::ToServer,
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#),
            id,
        );
        let (_, items) = see(
            &mut o,
            Direction::ToClient,
            &answer.replace("ID", &id.to_string()),
            id,
        );
        published += items.len();
    }
    assert_eq!(published, 1, "one server item for three equal listings");
}

#[test]
fn a_call_waits_while_its_server_asks_the_client_and_runs_on_when_answered() {
    let mut o = Observer::new(false);
    let c = Direction::ToClient;
    let s = Direction::ToServer;
    see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy","arguments":{}}}"#,
        0,
    );
    // The server asks the user (elicitation): the call waits, saying what is asked.
    let (v, items) = see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":"e1","method":"elicitation/create","params":{"message":"Deploy to\nproduction?","requestedSchema":{"type":"object","properties":{}}}}"#,
        100,
    );
    assert_eq!(v, Pass::Forward);
    assert_eq!(
        states(&items),
        [(
            "waiting",
            Some("asks the user: Deploy to production?".into())
        )]
    );
    assert_eq!(call(&items[0]).extras.waiting_for, Some(Wait::Input));
    assert_eq!(call(&items[0]).token, Value::from(1));
    // The user declines: the call runs on and says so.
    let (_, items) = see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":"e1","result":{"action":"decline"}}"#,
        200,
    );
    assert_eq!(
        states(&items),
        [("working", Some("the user declined".into()))]
    );
    // Sampling and roots, then the call's end.
    for (method, asked, answered) in [
        (
            "sampling/createMessage",
            "sampling: asks the client's model",
            "sampling answered",
        ),
        (
            "roots/list",
            "roots: asks for the client's roots",
            "roots listed",
        ),
    ] {
        let (_, items) = see(
            &mut o,
            c,
            &format!(r#"{{"jsonrpc":"2.0","id":9,"method":"{method}","params":{{}}}}"#),
            300,
        );
        assert_eq!(states(&items), [("waiting", Some(asked.into()))]);
        let (_, items) = see(&mut o, s, r#"{"jsonrpc":"2.0","id":9,"result":{}}"#, 400);
        assert_eq!(states(&items), [("working", Some(answered.into()))]);
    }
    let (_, items) = see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#,
        500,
    );
    assert_eq!(states(&items)[0].0, "finished");
    // Asked with no call running: nothing to say; an answer to nothing: nothing.
    let (_, items) = see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":"e2","method":"elicitation/create","params":{"message":"hi"}}"#,
        600,
    );
    assert!(items.is_empty());
    let (_, items) = see(&mut o, s, r#"{"jsonrpc":"2.0","id":"e2","result":{}}"#, 700);
    assert!(items.is_empty());
}

#[test]
fn a_task_named_by_the_question_is_the_call_that_waits() {
    let mut o = Observer::new(false);
    let c = Direction::ToClient;
    let s = Direction::ToServer;
    see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{},"task":{"ttl":60000}}}"#,
        0,
    );
    see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"t-1","status":"working","createdAt":"2026-01-01T00:00:00Z","ttl":60000}}}"#,
        10,
    );
    // A newer call runs too; the question names the task.
    see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fast","arguments":{}}}"#,
        20,
    );
    let (_, items) = see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":"q","method":"elicitation/create","params":{"message":"Which region?","_meta":{"io.modelcontextprotocol/related-task":{"taskId":"t-1"}}}}"#,
        30,
    );
    assert_eq!(
        items
            .iter()
            .filter_map(Item::as_call)
            .map(|c| c.tool.to_string())
            .collect::<Vec<_>>(),
        ["slow"]
    );
    let (_, items) = see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":"q","result":{"action":"cancel"}}"#,
        40,
    );
    assert_eq!(
        states(&items),
        [("working", Some("the user cancelled the question".into()))]
    );
}

#[test]
fn a_multi_round_call_is_one_row_from_its_first_request_to_its_result() {
    let mut o = Observer::new(false);
    let c = Direction::ToClient;
    let s = Direction::ToServer;
    let (_, items) = see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy","arguments":{}}}"#,
        0,
    );
    assert_eq!(states(&items), [("started", None)]);
    // The server needs input: the call waits, saying what is asked, and does not end.
    let (_, items) = see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{"ok":{"method":"elicitation/create","params":{"message":"Deploy?"}},"model":{"method":"sampling/createMessage","params":{}}},"requestState":"S1"}}"#,
        100,
    );
    assert_eq!(
        states(&items),
        [(
            "waiting",
            // In the order of their keys.
            Some("sampling: asks the client's model; asks the user: Deploy?".into())
        )]
    );
    assert_eq!(o.pending(), 1);
    // Another call of the same tool meanwhile is a call of its own.
    let (_, items) = see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"deploy","arguments":{}}}"#,
        150,
    );
    assert_eq!(call(&items[0]).token, Value::from(2));
    // The retry with the answers and the state: the same call, round 2.
    let (_, items) = see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"deploy","arguments":{},"inputResponses":{"ok":{"action":"accept"}},"requestState":"S1"}}"#,
        200,
    );
    assert_eq!(
        states(&items),
        [("working", Some("round 2: the client answered".into()))]
    );
    assert_eq!(
        call(&items[0]).token,
        Value::from(1),
        "the first request's row"
    );
    let (_, items) = see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":3,"result":{"resultType":"complete","content":[]}}"#,
        300,
    );
    let end = call(&items[0]);
    assert_eq!(
        (end.state, end.token.clone()),
        (CallState::Finished, Value::from(1))
    );
    assert_eq!(end.duration_ms, Some(300), "from the first request");
    // Without a state, the retry goes on with the tool's oldest call that got none.
    see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":2,"result":{"resultType":"input_required","inputRequests":{"r":{"method":"roots/list"}}}}"#,
        400,
    );
    let (_, items) = see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"deploy","inputResponses":{"r":{"roots":[]}}}}"#,
        500,
    );
    assert_eq!(call(&items[0]).token, Value::from(2));
    assert_eq!(call(&items[0]).state, CallState::Working);
    // A retry that matches nothing is a new call; so is a state never seen.
    let (_, items) = see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"deploy","inputResponses":{},"requestState":"nope"}}"#,
        600,
    );
    assert_eq!(states(&items), [("started", None)]);
    // A call still waiting for its client's retry ends with its session.
    see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":5,"result":{"resultType":"input_required","inputRequests":{},"requestState":"S9"}}"#,
        700,
    );
    let mut out = Vec::new();
    o.end_scope("", "the session ended", at(800), &mut out);
    assert!(
        states(&out).contains(&("cancelled", Some("the session ended".into()))),
        "{out:?}"
    );
}

#[test]
fn a_task_that_asks_says_what_and_what_is_left_as_the_client_answers() {
    let created = r#"{"jsonrpc":"2.0","id":5,"result":{"resultType":"task","taskId":"t-9","status":"working","createdAt":"x","lastUpdatedAt":"x","ttlMs":null,"pollIntervalMs":100}}"#;
    let mut o = Observer::new(false);
    see(&mut o, Direction::ToServer, TASK_CALL, 0);
    see(&mut o, Direction::ToClient, created, 5);
    let poll = |o: &mut Observer, id: u32, status: &str, requests: &str, ms: u64| {
        see(
            o,
            Direction::ToServer,
            &format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tasks/get","params":{{"taskId":"t-9"}}}}"#
            ),
            ms,
        );
        see(
            o,
            Direction::ToClient,
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"resultType":"complete","taskId":"t-9","status":"{status}","statusMessage":"waiting for the client's input","createdAt":"x","lastUpdatedAt":"x","ttlMs":null{requests}}}}}"#),
            ms + 1,
        )
        .1
    };
    let two = r#","inputRequests":{"a":{"method":"elicitation/create","params":{"message":"Your name?"}},"b":{"method":"roots/list","params":{}}}"#;
    let items = poll(&mut o, 10, "input_required", two, 10);
    assert_eq!(
        states(&items),
        [(
            "waiting",
            Some("asks the user: Your name?; roots: asks for the client's roots".into())
        )]
    );
    // The same again: nothing new to say.
    assert!(poll(&mut o, 11, "input_required", two, 20).is_empty());
    // One answered: what is left.
    let one = r#","inputRequests":{"b":{"method":"roots/list","params":{}}}"#;
    let items = poll(&mut o, 12, "input_required", one, 30);
    assert_eq!(
        states(&items),
        [("waiting", Some("roots: asks for the client's roots".into()))]
    );
    let items = poll(&mut o, 13, "working", "", 40);
    assert_eq!(states(&items)[0].0, "working");
}

#[test]
fn too_many_unanswered_questions_are_let_go_and_the_call_says_so() {
    let mut o = Observer::new(false);
    let s = Direction::ToServer;
    let c = Direction::ToClient;
    see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy"}}"#,
        0,
    );
    let ask = |n: usize| format!(r#"{{"jsonrpc":"2.0","id":"q{n}","method":"roots/list"}}"#);
    for n in 0..MAX_PENDING {
        see(&mut o, c, &ask(n), 1);
    }
    let (_, items) = see(&mut o, c, &ask(MAX_PENDING), 2);
    assert_eq!(
        states(&items),
        [
            (
                "working",
                Some(format!(
                    "the tap lost track of its question among {MAX_PENDING} unanswered"
                ))
            ),
            ("waiting", Some("roots: asks for the client's roots".into())),
        ]
    );
    // The questions of a call that ended go first, saying nothing.
    see(
        &mut o,
        c,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#,
        3,
    );
    see(
        &mut o,
        s,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"next"}}"#,
        4,
    );
    // With the one question left of the first call, the table is full again.
    for n in 0..MAX_PENDING - 1 {
        see(&mut o, c, &ask(n + 20_000), 5);
    }
    let (_, items) = see(&mut o, c, &ask(40_000), 6);
    assert_eq!(
        states(&items),
        [("waiting", Some("roots: asks for the client's roots".into()))]
    );
}
