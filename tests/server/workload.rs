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
