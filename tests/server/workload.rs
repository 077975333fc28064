//! The workload drives the tools through real HTTP calls.

use mcptop::server::workload::{self, WorkloadConfig};
use tokio_util::sync::CancellationToken;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_call_tools_and_every_call_is_published() {
    let server = start(|_| {}).await;
    let session = workload::create_session(
        &server.base_url(),
        "workload test",
        Some(server.admin_token()),
    )
    .await
    .unwrap();
    let mut events = SseReader::new(
        http()
            .get(format!(
                "{}/session/{}/events",
                server.base_url(),
                session.session_id
            ))
            .bearer_auth(&session.token)
            .send()
            .await
            .unwrap(),
    );
    let config = WorkloadConfig {
        agents: 3,
        pace: 200.0,
        // Bursts would overflow this subscriber; here every event must arrive.
        bursts: false,
        max_calls: Some(9),
        // One agent in three speaks 2026-07-28 and runs long calls as tasks.
        modern_agents: true,
    };
    let done = within(
        "the workload",
        workload::drive(
            &server.base_url(),
            &session,
            &config,
            CancellationToken::new(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(done, 9);
    // Every call started and ended on the session's stream, each under its own token.
    let mut started = std::collections::HashSet::new();
    let mut ended = 0;
    let mut progress = 0;
    while ended < 9 {
        let Some(e) = events.next_event().await else {
            panic!("workload events: ended {ended}, started {started:?}")
        };
        match e.event_type.as_str() {
            "call" => {
                let v = json(&e.data);
                match v["state"].as_str() {
                    Some("started") => {
                        started.insert(v["token"].to_string());
                    }
                    // A call that asked its person waits, then works on: not an end.
                    Some("waiting" | "working") => {}
                    _ => ended += 1,
                }
            }
            "message" => progress += 1,
            _ => {}
        }
    }
    assert_eq!(started.len(), 9, "nine calls, nine tokens");
    assert!(progress > 0);
}

/// The demo's Claude Code session: its hook events, through `mcptop hook`'s own planning,
/// land in an agent session of their own: built-in tools with what each works on, a
/// subagent's calls, a push that waits for the person's permission, then ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_agent_runs_tools_a_subagent_and_waits_for_permission() {
    let server = start(|_| {}).await;
    let mut events = SseReader::new(
        http()
            .get(format!("{}/session/*/events", server.base_url()))
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap(),
    );
    let stop = CancellationToken::new();
    let agent = {
        let (base, admin, stop) = (
            server.base_url(),
            server.admin_token().to_owned(),
            stop.clone(),
        );
        tokio::spawn(async move { mcptop::server::hooked::drive(&base, &admin, 50.0, stop).await })
    };
    let (mut read, mut subagent, mut waited, mut pushed) = (false, false, false, false);
    // Bounded: one turn is about 30 events.
    for _ in 0..400 {
        let Some(e) = events.next_event().await else {
            panic!("the stream ended")
        };
        if e.event_type != "call" {
            continue;
        }
        let v = json(&e.data);
        assert_eq!(v["session_label"], mcptop::server::hooked::LABEL, "{v}");
        if v["state"] == "started" {
            assert_eq!(v["origin"], "hook", "{v}");
        }
        read |= v["tool"] == "Read" && v["message"].as_str().is_some_and(|m| m.ends_with(".rs"));
        subagent |= v["tool"] == "Bash" && v["subagent"] == "general-purpose";
        waited |= v["state"] == "waiting" && v["waiting_for"] == "permission";
        // The push ends: allowed (finished), or denied (the turn's end: lost).
        pushed |= waited
            && v["tool"] == "Bash"
            && matches!(v["state"].as_str(), Some("finished" | "lost"));
        if read && subagent && pushed {
            break;
        }
    }
    assert!(
        read && subagent && waited && pushed,
        "{read} {subagent} {waited} {pushed}"
    );
    stop.cancel();
    within("the agent's stop", agent).await.unwrap().unwrap();
}

/// The demo's servers view: the daemon's MCP endpoint as a tap reads it (MCP 2026-07-28
/// names the server in the result's `_meta`).
#[tokio::test]
async fn the_demo_describes_the_daemons_server_as_a_tap_would() {
    let server = start(|_| {}).await;
    let session = workload::create_session(&server.base_url(), "demo", Some(server.admin_token()))
        .await
        .unwrap();
    workload::describe_server(&server.base_url(), &session)
        .await
        .unwrap();
    let mut events = SseReader::new(
        http()
            .get(format!(
                "{}/session/{}/events",
                server.base_url(),
                session.session_id
            ))
            .bearer_auth(&session.token)
            .send()
            .await
            .unwrap(),
    );
    let e = within("the server event", events.next_event())
        .await
        .unwrap();
    assert_eq!(e.event_type, "server", "{}", e.data);
    let v = json(&e.data);
    assert_eq!(v["name"], "mcptop", "{v}");
    assert_eq!(v["protocol"], "2026-07-28", "{v}");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        tools.contains(&"run_tests") && tools.contains(&"apply_migration"),
        "{tools:?}"
    );
}
