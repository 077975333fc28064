//! The events stream's extensions: keep-alives, ids, `Last-Event-ID` replay, `lagged`.

use std::time::Duration;

use mcptop::server::EventKind;
use mcptop::sse::OwnedItem;
use mcptop::time::Time;

use super::*;

async fn subscribe(server: &RunningServer, s: &NewSession, last_id: Option<&str>) -> SseReader {
    let mut request = http()
        .get(format!("{}/session/{}/events", server.base_url(), s.id))
        .bearer_auth(&s.token);
    if let Some(id) = last_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    SseReader::new(response)
}

fn publish(server: &RunningServer, s: &NewSession, n: u64) {
    let session = server.state().sessions.get(&s.id).unwrap();
    for i in 0..n {
        session.events.publish(
            EventKind::Progress,
            format!("{{\"token\":1,\"progress\":{i}}}"),
            Time::now(),
        );
    }
}

#[tokio::test]
async fn keep_alive_comment_after_the_idle_interval() {
    let server = start(|c| c.keepalive = Duration::from_millis(150)).await;
    let s = new_session(&server).await;
    let mut events = subscribe(&server, &s, None).await;
    let started = std::time::Instant::now();
    assert_eq!(events.next().await, Some(OwnedItem::Comment));
    assert_eq!(events.next().await, Some(OwnedItem::Comment));
    // Two intervals, not a busy loop.
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn last_event_id_replays_what_the_ring_still_has() {
    let server = start(|c| c.replay_capacity = 4).await;
    let s = new_session(&server).await;
    publish(&server, &s, 10);

    // Saw 8: gets 9 and 10.
    let mut events = subscribe(&server, &s, Some("8")).await;
    let got: Vec<String> = vec![
        events.next_event().await.unwrap().last_event_id,
        events.next_event().await.unwrap().last_event_id,
    ];
    assert_eq!(got, ["9", "10"]);

    // Saw 2: 3..=6 fell out of the ring (4 events), 7..=10 are replayed.
    let mut events = subscribe(&server, &s, Some("2")).await;
    let lagged = events.next_event().await.unwrap();
    assert_eq!(lagged.event_type, "lagged");
    assert_eq!(json(&lagged.data)["missed"], 4);
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(events.next_event().await.unwrap().last_event_id);
    }
    assert_eq!(ids, ["7", "8", "9", "10"]);

    // Then live events continue the numbering.
    publish(&server, &s, 1);
    assert_eq!(events.next_event().await.unwrap().last_event_id, "11");
}

#[tokio::test]
async fn a_slow_subscriber_is_told_how_many_events_it_lost() {
    let server = start(|c| c.broadcast_capacity = 4).await;
    let s = new_session(&server).await;
    let mut events = subscribe(&server, &s, None).await;
    // This test's runtime has one thread: the subscriber cannot run while 100 events
    // are published, so it overflows.
    publish(&server, &s, 100);
    let mut missed = 0;
    let mut ids = Vec::new();
    while ids.last().map(String::as_str) != Some("100") {
        let e = events.next_event().await.unwrap();
        if e.event_type == "lagged" {
            missed += json(&e.data)["missed"].as_u64().unwrap();
        } else {
            ids.push(e.last_event_id);
        }
    }
    assert!(missed > 0, "the overflow is reported");
    assert_eq!(
        missed + ids.len() as u64,
        100,
        "every event is delivered or counted"
    );
}

#[tokio::test]
async fn streams_end_when_the_server_shuts_down() {
    let server = start(|_| {}).await;
    let s = new_session(&server).await;
    let mut events = subscribe(&server, &s, None).await;
    server.shutdown().await.unwrap();
    assert_eq!(events.next().await, None);
}

/// `--speed max` publishes as fast as the slowest subscriber takes events: a reader far
/// slower than the publisher, behind a capacity of 64, still gets every event, in order;
/// `--wait-subscribers` holds the start until it is there; `--loop` goes on past the end.
/// On tokio's paused clock: a sleep returns only once every other task is idle, so the
/// waiting publisher has had every chance to publish, and the loop's count is exact time.
#[tokio::test(start_paused = true)]
async fn a_replay_at_full_speed_loses_nothing_to_a_slow_reader_and_loops() {
    use mcptop::server::replay::{self, ReplayEvent, ReplayOptions, Speed};
    use mcptop::server::EventKind;
    use tokio_util::sync::CancellationToken;
    let server = start(|c| c.broadcast_capacity = 64).await;
    let session = server.state().sessions.create(None, "/".into(), false);
    let events: Vec<ReplayEvent> = (0..5000)
        .map(|i| ReplayEvent {
            at: Duration::from_millis(i),
            kind: EventKind::Progress,
            data: format!("{{\"token\":1,\"progress\":{i}}}"),
        })
        .collect();
    let stop = CancellationToken::new();
    let options = ReplayOptions {
        speed: Speed::Max,
        looped: false,
        wait_subscribers: 1,
    };
    let publisher = tokio::spawn(replay::publish(
        std::sync::Arc::clone(&session),
        events.clone(),
        options,
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!publisher.is_finished());
    assert_eq!(session.events.count(), 0, "waits for its subscriber");
    let mut sub = session.events.subscribe(None);
    for i in 0..5000u64 {
        let event = within("the next event", sub.live.recv())
            .await
            .expect("no event lost to lag");
        assert_eq!(event.id, i + 1);
        if i % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(within("the publisher", publisher).await.unwrap(), 5000);

    // Looped, at 50× the recorded pace: the 5 s file plays in 100 ms and starts over.
    let session = server.state().sessions.create(None, "/".into(), false);
    let looped = ReplayOptions {
        speed: Speed::Factor(50.0),
        looped: true,
        wait_subscribers: 0,
    };
    let publisher = tokio::spawn(replay::publish(
        std::sync::Arc::clone(&session),
        events,
        looped,
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(650)).await;
    stop.cancel();
    let published = within("the looped publisher", publisher).await.unwrap();
    // 650 ms of a 100 ms pass: six passes and part of a seventh.
    assert!(
        (30_000..35_000).contains(&published),
        "{published} events in 0.65 s of a 0.1 s loop"
    );
    assert_eq!(session.events.count(), published);
}

async fn publish_items(server: &RunningServer, s: &NewSession, items: Value) {
    let response = http()
        .post(format!("{}/session/{}/publish", server.base_url(), s.id))
        .bearer_auth(&s.token)
        .json(&items)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// A tap's `server` item is kept: every later subscriber, of the session or of the
/// all-sessions stream, gets it first, without an id (it is state, not a numbered event).
#[tokio::test]
async fn the_server_a_tap_saw_is_sent_first_to_every_new_subscriber() {
    let server = start(|_| {}).await;
    let s = new_session(&server).await;
    let server_item = serde_json::json!({
        "type": "server", "name": "everything", "version": "2.0.0",
        "protocol": "2025-11-25", "capabilities": ["tools"],
        "tools": [{"name": "echo", "description": "Echoes back the input"},
                  {"name": "slow", "tasks": "required"}],
    });
    publish_items(
        &server,
        &s,
        serde_json::json!([{"type":"call","token":"1","tool":"echo","state":"started"}, server_item]),
    )
    .await;
    // A subscriber that comes later gets the server before anything live.
    let mut events = subscribe(&server, &s, None).await;
    let first = events.next_event().await.unwrap();
    assert_eq!(first.event_type, "server");
    assert_eq!(first.last_event_id, "", "no id on the kept server event");
    let data = json(&first.data);
    assert_eq!(data["name"], "everything");
    assert_eq!(data["tools"][1]["tasks"], "required");
    // Then the call running now, without an id either.
    let open = events.next_event().await.unwrap();
    assert_eq!(
        (open.event_type.as_str(), open.last_event_id.as_str()),
        ("call", "")
    );
    assert_eq!(json(&open.data)["state"], "started");
    publish_items(
        &server,
        &s,
        serde_json::json!({"type":"call","token":"1","tool":"echo","state":"finished"}),
    )
    .await;
    let next = events.next_event().await.unwrap();
    assert_eq!(
        (next.event_type.as_str(), next.last_event_id.as_str()),
        ("call", "3")
    );

    // The stream of every session (this one was made without the admin token): every
    // session's server, tagged with its session.
    let response = http()
        .get(format!("{}/session/**/events", server.base_url()))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap();
    let mut all = SseReader::new(response);
    let first = all.next_event().await.unwrap();
    assert_eq!(first.event_type, "server");
    let data = json(&first.data);
    assert_eq!(
        (data["session"].as_str(), data["name"].as_str()),
        (Some(s.id.as_str()), Some("everything"))
    );

    // A new listing replaces the kept one, live and for later subscribers.
    publish_items(
        &server,
        &s,
        serde_json::json!({"type":"server","name":"everything","tools":[{"name":"only"}]}),
    )
    .await;
    let live = events.next_event().await.unwrap();
    assert_eq!(live.event_type, "server");
    assert_eq!(
        live.last_event_id, "4",
        "live, it is a numbered event of the stream"
    );
    let mut later = subscribe(&server, &s, None).await;
    let kept = json(&later.next_event().await.unwrap().data);
    assert_eq!(kept["tools"].as_array().map(Vec::len), Some(1));
}

/// A monitor that attaches late sees the calls open now (a call waiting for a person
/// since before it came included), from their real start, and none that ended.
#[tokio::test]
async fn a_late_subscriber_gets_the_calls_open_now_and_none_that_ended() {
    let server = start(|_| {}).await;
    let s = new_session(&server).await;
    publish_items(
        &server,
        &s,
        serde_json::json!([
            {"type":"call","token":"1","tool":"deploy","state":"started","timestamp":"2026-12-06T10:00:00Z"},
            {"type":"call","token":"2","tool":"echo","state":"started"},
            {"type":"progress","token":"1","progress":1,"total":4},
            {"type":"call","token":"2","tool":"echo","state":"finished"},
            {"type":"call","token":"1","tool":"deploy","state":"waiting","waiting_for":"input","message":"asks the user: Deploy?"},
            {"type":"call","token":"3","tool":"later","state":"working","message":"seen only working"},
        ]),
    )
    .await;
    let mut events = subscribe(&server, &s, None).await;
    let mut first = Vec::new();
    for _ in 0..3 {
        let e = events.next_event().await.unwrap();
        assert_eq!(
            (e.event_type.as_str(), e.last_event_id.as_str()),
            ("call", ""),
            "{e:?}"
        );
        let v = json(&e.data);
        first.push((v["token"].clone(), v["state"].clone()));
    }
    assert_eq!(
        first,
        [
            (serde_json::json!("1"), serde_json::json!("started")),
            (serde_json::json!("1"), serde_json::json!("waiting")),
            (serde_json::json!("3"), serde_json::json!("working")),
        ]
    );
    // Then live, numbered.
    publish_items(
        &server,
        &s,
        serde_json::json!({"type":"call","token":"1","tool":"deploy","state":"finished"}),
    )
    .await;
    let live = events.next_event().await.unwrap();
    assert_eq!(live.last_event_id, "7");
    // A resume (Last-Event-ID) gets the replay, not the snapshot.
    let mut resumed = subscribe(&server, &s, Some("6")).await;
    let replayed = resumed.next_event().await.unwrap();
    assert_eq!(replayed.last_event_id, "7");

    // The stream of every session (nobody followed it meanwhile): the open calls,
    // tagged; a session that ends takes its calls with it.
    let all = || async {
        let response = http()
            .get(format!("{}/session/**/events", server.base_url()))
            .bearer_auth(server.admin_token())
            .send()
            .await
            .unwrap();
        SseReader::new(response)
    };
    let mut stream = all().await;
    let e = stream.next_event().await.unwrap();
    let v = json(&e.data);
    assert_eq!(
        (v["token"].as_str(), v["session"].as_str()),
        (Some("3"), Some(s.id.as_str()))
    );
    server.state().sessions.remove(&s.id);
    let other = new_session(&server).await;
    publish_items(
        &server,
        &other,
        serde_json::json!({"type":"call","token":"9","tool":"x","state":"started"}),
    )
    .await;
    let mut stream = all().await;
    let e = stream.next_event().await.unwrap();
    let v = json(&e.data);
    assert_eq!(
        (
            v["token"].as_str(),
            v["session"].as_str(),
            e.last_event_id.as_str()
        ),
        (Some("9"), Some(other.id.as_str()), ""),
        "the ended session's call is not open any more"
    );
}
