//! The call model driven by NDJSON fixtures with injected time.

use crate::common;

use chrono::TimeDelta;
use common::fixture::{at, run};
use mcptop::model::{
    CallId, Change, DisplayState, FindingKind, Model, ModelConfig, Status, Verdict,
};
use mcptop::wire::{Frame, ProgressFrame, Token};

fn kinds(model: &Model, now: &str) -> Vec<FindingKind> {
    model
        .findings(at(now))
        .into_iter()
        .map(|f| f.kind)
        .collect()
}

fn messages(model: &Model, now: &str) -> Vec<String> {
    model
        .findings(at(now))
        .into_iter()
        .map(|f| f.message)
        .collect()
}

#[test]
fn construct_call_completes_at_total_and_a_reused_token_starts_a_new_generation() {
    let cfg = ModelConfig::default();
    let model = run(
        "construct_notion.ndjson",
        cfg.clone(),
        Some(at("2026-04-17T10:20:36.300Z")),
    );
    let calls: Vec<_> = model.calls().collect();
    assert_eq!(calls.len(), 1);
    let c = calls[0];
    assert_eq!(
        (c.key.tool.as_deref(), &c.key.token),
        (Some("notion"), &Some(Token::Int(7)))
    );
    assert_eq!(c.status, Status::Done);
    assert_eq!(c.percent(), Some(100.0));
    assert_eq!(c.message(), Some("notion: response received"));
    assert_eq!(c.messages.len(), 2);
    assert_eq!(
        c.elapsed(at("2026-04-17T10:25:00Z")),
        TimeDelta::milliseconds(3100)
    );

    let model = run("construct_notion.ndjson", cfg, None);
    let calls: Vec<_> = model.calls().collect();
    assert_eq!(calls.len(), 3);
    assert_eq!((calls[0].generation, calls[0].status), (1, Status::Done));
    assert_eq!((calls[1].generation, calls[1].status), (2, Status::Running));
    assert_eq!(calls[1].progress, Some(1.0));
    assert_eq!(calls[2].key.tool, None, "a null tool is no tool");
    assert_eq!(
        model.stream().last_keepalive,
        Some(at("2026-04-17T10:20:51.300Z"))
    );
    // Young calls: nothing to say yet.
    assert!(kinds(&model, "2026-04-17T10:21:11Z").is_empty());
    // Much later: the second notion call never reported again, and the stream went quiet.
    let later = messages(&model, "2026-04-17T10:22:30Z");
    // Two stalled calls are one line, first in the list.
    assert_eq!(
        later[0], "2 calls stalled: notion #7 stalled 1m20s; call #8 stalled 1m19s",
        "{later:?}"
    );
    assert!(
        later
            .iter()
            .any(|m| m.starts_with("stream silent for 1m19s")),
        "{later:?}"
    );
}

#[test]
fn concurrent_calls_on_token_zero_are_merged_and_said_to_be() {
    let model = run("shared_token_zero.ndjson", ModelConfig::default(), None);
    assert_eq!(model.len(), 1);
    let call = model.calls().next().expect("one row");
    assert!(call.shared_token);
    assert_eq!(call.status, Status::Done);
    assert_eq!(call.after_completion, 1);
    let found = kinds(&model, "2026-04-17T10:00:04Z");
    assert!(found.contains(&FindingKind::SharedToken), "{found:?}");
    assert!(found.contains(&FindingKind::AfterCompletion), "{found:?}");
    let text = messages(&model, "2026-04-17T10:00:04Z").join("\n");
    assert!(
        text.contains("notion #0: concurrent calls share this token"),
        "{text}"
    );
}

#[test]
fn loss_gaps_lateness_and_reconnects_are_reported() {
    let model = run("lag.ndjson", ModelConfig::default(), None);
    let s = model.stream();
    assert_eq!((s.server_missed, s.id_gaps, s.id_gap_events), (37, 1, 3));
    // The first events fix the clock skew (about 10.1 s); lateness is measured beyond it.
    assert!((s.clock_skew().unwrap() - 10.1).abs() < 1e-6);
    let delay = s.delay().expect("enough samples");
    assert!(delay > 4.0 && delay < 6.0, "{delay}");
    let found = messages(&model, "2026-04-17T10:00:30Z");
    assert_eq!(found[0], "server dropped 37 events · 8.5s ago");
    assert!(
        found[1].starts_with("3 events missing between ids (1 gap) · "),
        "{found:?}"
    );
    // After a quiet while the loss is history: off the list, still in the counts.
    let later = messages(&model, "2026-04-17T10:06:00Z");
    assert!(
        !later
            .iter()
            .any(|m| m.contains("dropped") || m.contains("missing")),
        "{later:?}"
    );
    assert_eq!(model.stream().server_missed, 37);
    assert!(
        found[2].starts_with("events arrive 5.") && found[2].ends_with("s late"),
        "{found:?}"
    );
    assert_eq!(found[3], "reconnected 4.9s ago after 3.1s down");
    // The stream resumed with ids, so loss is not guessed at.
    assert!(!kinds(&model, "2026-04-17T10:00:30Z").contains(&FindingKind::PossibleLoss));
    // A minute later the reconnect notice is gone; the loss reports stay.
    let k = kinds(&model, "2026-04-17T10:01:30Z");
    assert!(!k.contains(&FindingKind::Reconnected));
    assert!(k.contains(&FindingKind::ServerLoss));
}

#[test]
fn a_reconnect_without_ids_may_have_lost_events() {
    let mut model = Model::default();
    let t0 = at("2026-04-17T10:00:00Z");
    model.set_connection(mcptop::model::Connection::Connected { resumed: false }, t0);
    model.set_connection(
        mcptop::model::Connection::Disconnected {
            reason: "eof".into(),
        },
        t0 + TimeDelta::seconds(5),
    );
    model.set_connection(
        mcptop::model::Connection::Connected { resumed: true },
        t0 + TimeDelta::seconds(7),
    );
    let text = messages(&model, "2026-04-17T10:00:08Z").join("\n");
    assert!(
        text.contains("events sent while the stream was down for 2.0s may be lost (the stream has no ids to resume)"),
        "{text}"
    );
}

#[test]
fn stalls_are_judged_against_each_calls_own_cadence() {
    let model = run("stall.ndjson", ModelConfig::default(), None);
    let tests = model
        .calls()
        .find(|c| c.key.tool.as_deref() == Some("run_tests"))
        .unwrap();
    let index = model
        .calls()
        .find(|c| c.key.tool.as_deref() == Some("build_index"))
        .unwrap();
    assert_eq!(tests.percent(), Some(50.0));
    assert!((tests.rate.unwrap() - 10.0).abs() < 1e-9);
    assert_eq!(tests.eta(), Some(TimeDelta::seconds(5)));
    assert_eq!(index.eta(), None, "no total, no ETA");

    // Reporting every second: 9 s of quiet is fine, 11 s is a stall (floor 10 s).
    assert_eq!(
        model.display_state(tests, at("2026-04-17T10:00:14Z")),
        DisplayState::Running
    );
    assert_eq!(
        model.display_state(tests, at("2026-04-17T10:00:16Z")),
        DisplayState::Stalled
    );
    assert!(messages(&model, "2026-04-17T10:00:16Z")
        .contains(&"run_tests #run-1 stalled 11.0s".to_string()));
    // One report only: not enough data, until a long absolute silence.
    let verdicts = model.call_verdicts(index, at("2026-04-17T10:00:16Z"));
    assert_eq!(verdicts[0], (FindingKind::Stalled, Verdict::NotEnoughData));
    assert_eq!(
        model.display_state(index, at("2026-04-17T10:01:06Z")),
        DisplayState::Stalled
    );
    // The state a line shows and the finding agree at every moment, before, at and past
    // each threshold.
    for call in [tests, index] {
        for tenth in 0..1_500 {
            let now = at("2026-04-17T10:00:00Z") + TimeDelta::milliseconds(100 * tenth);
            let warned = model
                .call_verdicts(call, now)
                .iter()
                .any(|(kind, v)| *kind == FindingKind::Stalled && matches!(v, Verdict::Warn(_)));
            let shown = model.display_state(call, now) == DisplayState::Stalled;
            assert_eq!(shown, warned, "{:?} at {now}", call.key.tool);
        }
    }
    // Keep-alives keep the stream from looking silent.
    assert!(!kinds(&model, "2026-04-17T10:00:40Z").contains(&FindingKind::SilentStream));
    assert!(kinds(&model, "2026-04-17T10:01:20Z").contains(&FindingKind::SilentStream));
}

#[test]
fn lifecycle_events_start_finish_fail_and_cancel_calls() {
    let cfg = ModelConfig {
        retention: TimeDelta::seconds(60),
        ..ModelConfig::default()
    };
    let mut model = run("lifecycle.ndjson", cfg, None);
    let by_tool = |m: &Model, tool: &str| {
        m.calls()
            .find(|c| c.key.tool.as_deref() == Some(tool))
            .cloned()
    };
    let fetch = by_tool(&model, "web_fetch").unwrap();
    assert_eq!(fetch.status, Status::Done);
    assert_eq!(
        fetch.elapsed(at("2026-04-17T11:00:00Z")),
        TimeDelta::seconds(3)
    );
    let clone = by_tool(&model, "git_clone").unwrap();
    assert_eq!(clone.status, Status::Failed);
    assert_eq!(clone.error.as_deref(), Some("repository not found"));
    assert_eq!(
        clone.elapsed(at("2026-04-17T11:00:00Z")),
        TimeDelta::seconds(2)
    );
    let grep = by_tool(&model, "grep_repo").unwrap();
    assert_eq!(grep.status, Status::Cancelled);
    assert_eq!(grep.first_seen, at("2026-04-17T10:00:05.500Z"));
    let sleepy = by_tool(&model, "sleepy").unwrap();
    assert_eq!((sleepy.status, sleepy.updates), (Status::Running, 0));
    assert_eq!(model.stream().id_gap_events, 0);

    // Retention: finished calls go 60 s after they ended; running ones stay.
    model.expire(at("2026-04-17T10:01:03.500Z"));
    assert_eq!(model.len(), 4);
    model.expire(at("2026-04-17T10:01:06Z"));
    let left: Vec<_> = model.calls().filter_map(|c| c.key.tool.clone()).collect();
    assert_eq!(left, vec!["grep_repo".to_string(), "sleepy".to_string()]);
    model.clear_finished();
    assert_eq!(model.len(), 1);
}

fn progress(token: i128, p: f64, total: f64) -> Frame<'static> {
    Frame::Progress(ProgressFrame {
        token: Some(Token::Int(token)),
        progress: p,
        total: Some(total),
        message: Some("working".into()),
        tool: Some("t".into()),
        timestamp: None,
        session: None,
        session_label: None,
    })
}

#[test]
fn the_cap_evicts_oldest_finished_first_and_memory_stays_flat() {
    let cfg = ModelConfig {
        max_calls: 3,
        ..ModelConfig::default()
    };
    let mut model = Model::new(cfg);
    let t = at("2026-04-17T10:00:00Z");
    let a = model.apply(progress(1, 1.0, 2.0), t, "");
    model.apply(progress(2, 2.0, 2.0), t, ""); // finished at once
    model.apply(progress(3, 1.0, 2.0), t, "");
    model.apply(progress(4, 1.0, 2.0), t + TimeDelta::seconds(1), "");
    let tokens: Vec<_> = model
        .calls()
        .map(|c| c.key.token.clone().unwrap())
        .collect();
    assert_eq!(tokens, vec![Token::Int(1), Token::Int(3), Token::Int(4)]);
    assert_eq!(a, Change::NewCall(CallId(1)));
    // No finished call left: the one idle longest goes.
    model.apply(progress(5, 1.0, 2.0), t + TimeDelta::seconds(2), "");
    assert!(model.calls().all(|c| c.key.token != Some(Token::Int(1))));

    let cfg = ModelConfig {
        max_calls: 100,
        ..ModelConfig::default()
    };
    let mut model = Model::new(cfg);
    for n in 0..20_000i128 {
        let when = t + TimeDelta::milliseconds(n as i64);
        model.apply(progress(n, 1.0, 2.0), when, &n.to_string());
        if n % 2 == 0 {
            model.apply(progress(n, 2.0, 2.0), when, "");
        }
        assert!(model.len() <= 100);
        for c in model.calls() {
            assert!(c.history.len() <= model.config().history.samples);
        }
    }
    assert_eq!(model.evicted, 19_900);
}

#[test]
fn call_ids_are_stable_and_changes_say_what_happened() {
    let mut model = Model::default();
    let t = at("2026-04-17T10:00:00Z");
    assert_eq!(
        model.apply(progress(9, 1.0, 3.0), t, ""),
        Change::NewCall(CallId(1))
    );
    assert_eq!(
        model.apply(progress(9, 2.0, 3.0), t + TimeDelta::seconds(1), ""),
        Change::Updated(CallId(1))
    );
    assert_eq!(
        model.apply(progress(9, 3.0, 3.0), t + TimeDelta::seconds(2), ""),
        Change::Finished(CallId(1))
    );
    // The same token again from the start: a new call, a new id, generation 2.
    assert_eq!(
        model.apply(progress(9, 1.0, 3.0), t + TimeDelta::seconds(3), ""),
        Change::NewCall(CallId(2))
    );
    assert_eq!(model.call(CallId(2)).map(|c| c.generation), Some(2));
    assert_eq!(
        model.apply(Frame::Unknown(mcptop::wire::Unknown::NotJson), t, ""),
        Change::Ignored
    );
    assert_eq!(model.stream().unknown_frames, 1);
}

#[test]
fn backwards_progress_after_a_quiet_gap_is_a_new_call() {
    let mut model = Model::default();
    let t = at("2026-04-17T10:00:00Z");
    model.apply(progress(0, 5.0, 10.0), t, "");
    model.apply(progress(0, 2.0, 10.0), t + TimeDelta::seconds(1), "");
    assert_eq!(model.len(), 1, "no gap: the same (shared) row");
    assert!(model.calls().next().unwrap().shared_token);
    model.apply(progress(0, 1.0, 10.0), t + TimeDelta::seconds(30), "");
    assert_eq!(model.len(), 2);
    let first = model.call(CallId(1)).unwrap();
    assert_eq!(first.status, Status::Done, "silence ended the first call");
}

#[test]
fn the_reported_end_of_a_call_that_reached_its_total_is_the_same_call() {
    let model = run("end_after_total.ndjson", ModelConfig::default(), None);
    let calls: Vec<_> = model.calls().collect();
    assert_eq!(
        calls.len(),
        2,
        "one finished download, then a new one: {calls:#?}"
    );
    let first = calls[0];
    assert_eq!(first.status, Status::Done);
    assert!(first.end_reported);
    assert_eq!(first.progress, Some(48.5));
    assert_eq!(first.reported_duration, Some(TimeDelta::milliseconds(2010)));
    assert_eq!(first.ended_at, Some(at("2026-04-17T10:00:03Z")));
    assert_eq!((calls[1].status, calls[1].generation), (Status::Running, 2));
}

/// An agent's hooks show a call live; its OpenTelemetry reports the same call seconds
/// later (exporters batch): one row, which takes the agent's own duration, however the
/// reports interleave.
#[test]
fn a_late_opentelemetry_report_amends_the_hooks_row_and_adds_none() {
    let mut model = Model::new(ModelConfig::default());
    let call = |token: &str, state: &str, origin: &str, extra: &str| {
        serde_json::json!({
            "event": "call",
            "data": format!(
                r#"{{"session":"s1","token":"{token}","tool":"Bash","state":"{state}","origin":"{origin}"{extra}}}"#
            ),
        })
    };
    let t = |s: &str| at(&format!("2026-04-17T10:00:{s}Z"));
    // Hooks: start at 00, end at 02.
    common::fixture::apply_line(&mut model, &call("a", "started", "hook", ""), t("00"));
    common::fixture::apply_line(&mut model, &call("a", "finished", "hook", ""), t("02"));
    // The report, at 07: its start (agent's time), its end with the agent's duration.
    common::fixture::apply_line(
        &mut model,
        &call(
            "a",
            "started",
            "otel",
            r#","timestamp":"2026-04-17T10:00:00.100Z""#,
        ),
        t("07"),
    );
    common::fixture::apply_line(
        &mut model,
        &call("a", "finished", "otel", r#","duration_ms":1900"#),
        t("07"),
    );
    // A second call the report sees first (no hooks for it): a row of its own, ended.
    common::fixture::apply_line(&mut model, &call("b", "started", "otel", ""), t("08"));
    common::fixture::apply_line(
        &mut model,
        &call(
            "b",
            "failed",
            "otel",
            r#","error":"exit 1","duration_ms":500"#,
        ),
        t("08"),
    );
    // And the hooks' end of it, later still, is the same row.
    common::fixture::apply_line(&mut model, &call("b", "failed", "hook", ""), t("09"));
    let calls: Vec<_> = model.calls().cloned().collect();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(calls[0].status, Status::Done);
    assert_eq!(
        calls[0].reported_duration,
        Some(TimeDelta::milliseconds(1900))
    );
    assert_eq!(calls[1].status, Status::Failed);
    assert_eq!(calls[1].error.as_deref(), Some("exit 1"));
}

#[test]
fn an_agents_mcp_call_its_servers_tap_never_saw_is_said_to_be_stuck_before_the_wire() {
    let mut model = Model::new(ModelConfig::default());
    let line = |session: &str, label: &str, token: &str, tool: &str, extra: &str| {
        serde_json::json!({
            "event": "call",
            "data": format!(
                r#"{{"session":"{session}","session_label":"{label}","token":"{token}","tool":"{tool}","state":"started"{extra}}}"#
            ),
        })
    };
    let t = |s: &str| at(&format!("2026-04-17T10:00:{s}Z"));
    let hook = r#","origin":"hook""#;
    // The wrapped server `shop` shows (an earlier call of its tap).
    common::fixture::apply_line(&mut model, &line("s2", "shop", "1", "list", ""), t("00"));
    // The agent starts two MCP calls: one of `shop`, one of a server nobody wraps.
    let agent = "claude-code · proj";
    common::fixture::apply_line(
        &mut model,
        &line("s1", agent, "t1", "mcp__shop__search", hook),
        t("01"),
    );
    common::fixture::apply_line(
        &mut model,
        &line("s1", agent, "t2", "mcp__docs__fetch", hook),
        t("01"),
    );
    let stuck = |model: &Model, now: &str| -> Vec<String> {
        model
            .findings(t(now))
            .into_iter()
            .filter(|f| f.kind == FindingKind::NeverReached)
            .map(|f| f.message)
            .collect()
    };
    assert!(stuck(&model, "04").is_empty(), "not before a few seconds");
    assert_eq!(
        stuck(&model, "07"),
        [
            "mcp__shop__search: the agent started it 6.0s ago and server shop never saw it \
          (its tap got no tools/call): the agent is stuck before the wire, not the server"
        ]
    );
    // The tap sees it (late): no longer stuck, and one row: the tap's.
    common::fixture::apply_line(&mut model, &line("s2", "shop", "2", "search", ""), t("08"));
    assert!(stuck(&model, "09").is_empty());
    let shown = |model: &Model| -> Vec<String> {
        model
            .display_order()
            .into_iter()
            .filter_map(|id| model.call(id))
            .filter_map(|c| c.key.tool.clone())
            .collect()
    };
    assert_eq!(shown(&model), ["list", "mcp__docs__fetch", "search"]);
    assert_eq!(model.counts(t("09")).running, 3);
    // Two more agent calls of it and one tap call: the tap's answers the older one; the
    // other is still stuck, and still shows.
    for (token, second) in [("t3", "10"), ("t4", "11")] {
        common::fixture::apply_line(
            &mut model,
            &line("s1", agent, token, "mcp__shop__search", hook),
            t(second),
        );
    }
    common::fixture::apply_line(&mut model, &line("s2", "shop", "3", "search", ""), t("11"));
    let reached: Vec<Option<String>> = model
        .calls()
        .filter(|c| c.key.tool.as_deref() == Some("mcp__shop__search"))
        .map(|c| {
            c.reached
                .and_then(|id| model.call(id))
                .map(|c| format!("{:?}", c.key.token))
        })
        .collect();
    assert_eq!(
        reached,
        [
            Some("Some(Str(\"2\"))".to_owned()),
            Some("Some(Str(\"3\"))".to_owned()),
            None
        ]
    );
    assert_eq!(stuck(&model, "17").len(), 1, "{:?}", stuck(&model, "17"));
}

/// A `started` that comes without an id (the daemon telling a monitor that attached late
/// of a call open since before) began at its timestamp; a numbered one when it came.
#[test]
fn a_call_open_before_the_monitor_came_began_at_its_timestamp() {
    use mcptop::wire::decode_event;
    let mut model = Model::new(ModelConfig::default());
    let now = at("2026-12-06T10:10:00Z");
    let started =
        r#"{"token":"1","tool":"deploy","state":"started","timestamp":"2026-12-06T10:00:00Z"}"#;
    model.apply(decode_event("call", started, ""), now, "");
    let waiting = r#"{"token":"1","tool":"deploy","state":"waiting","waiting_for":"input","message":"asks the user: Deploy?","timestamp":"2026-12-06T10:02:00Z"}"#;
    model.apply(decode_event("call", waiting, ""), now, "");
    let later =
        r#"{"token":"2","tool":"deploy","state":"started","timestamp":"2026-12-06T10:00:00Z"}"#;
    model.apply(decode_event("call", later, "7"), now, "7");
    let ahead =
        r#"{"token":"3","tool":"deploy","state":"started","timestamp":"2026-12-06T11:00:00Z"}"#;
    model.apply(decode_event("call", ahead, ""), now, "");
    let by_token = |t: &str| {
        model
            .calls()
            .find(|c| c.key.token == Some(Token::Str(t.into())))
            .cloned()
            .unwrap()
    };
    let open = by_token("1");
    assert_eq!(open.first_seen, at("2026-12-06T10:00:00Z"));
    assert_eq!(open.elapsed(now), TimeDelta::minutes(10));
    assert_eq!(
        open.last_update, now,
        "heard of now: not stalled for ten minutes"
    );
    assert!(open.waiting.is_some());
    assert_eq!(
        by_token("2").first_seen,
        now,
        "a numbered event began when it came"
    );
    assert_eq!(
        by_token("3").first_seen,
        now,
        "a clock ahead is not believed"
    );
}

/// The row that says an agent's session ended is not a tool in the per-tool figures.
#[test]
fn a_session_end_is_no_tool_in_the_statistics() {
    use mcptop::model::agents::{SESSION_END, SESSION_TOOL};
    use mcptop::wire::decode_event;
    let mut model = Model::new(ModelConfig::default());
    let now = at("2026-12-06T10:00:00Z");
    for (token, tool, state) in [
        ("7", "Bash", "started"),
        ("7", "Bash", "finished"),
        (SESSION_END, SESSION_TOOL, "started"),
        (SESSION_END, SESSION_TOOL, "finished"),
    ] {
        let data =
            format!(r#"{{"token":"{token}","tool":"{tool}","state":"{state}","origin":"hook"}}"#);
        model.apply(decode_event("call", &data, ""), now, "");
    }
    assert_eq!(model.len(), 2, "both rows are held");
    let tools: Vec<String> = mcptop::model::stats::tool_stats(&model, now)
        .into_iter()
        .map(|s| s.tool)
        .collect();
    assert_eq!(tools, ["Bash"]);
}
