//! The TUI's screens rendered on ratatui's TestBackend: what a person would see, at
//! 120×30 and 60×15.

use mcptop::source::{LinkStatus, SourceEvent, Timed, Transport};
use mcptop::time::Time;
use mcptop::ui::app::{App, Key, SourceLabel};
use mcptop::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn t(ms: i64) -> Time {
    Time::from_unix_nanos(1_800_000_000_000_000_000 + ms * 1_000_000)
}

fn event(at: i64, event_type: &str, id: u64, data: &str) -> Timed {
    Timed {
        at: t(at),
        event: SourceEvent::Event {
            event_type: event_type.into(),
            data: data.into(),
            id: id.to_string(),
        },
    }
}

fn progress(
    at: i64,
    id: u64,
    token: u64,
    tool: &str,
    p: f64,
    total: Option<f64>,
    message: &str,
) -> Timed {
    let total = total.map(|t| format!(",\"total\":{t}")).unwrap_or_default();
    event(
        at,
        "message",
        id,
        &format!(
            r#"{{"token":{token},"progress":{p}{total},"message":"{message}","tool":"{tool}"}}"#
        ),
    )
}

/// A session: a test run in progress, an indexer without a total, a finished fetch, a
/// failed deploy, and a loss report from the server.
fn app() -> App {
    let mut app = App::new(
        SourceLabel {
            daemon: "127.0.0.1:40123".into(),
            transport: "SSE".into(),
            session: "demo agents".into(),
        },
        t(0),
    );
    let connected = Timed {
        at: t(0),
        event: SourceEvent::Status(LinkStatus::Connected {
            transport: Transport::Sse,
            session_id: "s".into(),
            resumed: false,
        }),
    };
    let mut events = vec![connected];
    events.push(event(
        100,
        "call",
        1,
        r#"{"token":7,"tool":"run_tests","state":"started"}"#,
    ));
    for i in 1..=8u64 {
        events.push(progress(
            100 + i as i64 * 500,
            1 + i,
            7,
            "run_tests",
            i as f64,
            Some(24.0),
            &format!("test {i}/24: parser::case_{i} ok"),
        ));
    }
    events.push(progress(
        900,
        10,
        8,
        "index_repo",
        120.0,
        None,
        "indexed src/module_120.rs",
    ));
    events.push(progress(
        1000,
        11,
        9,
        "fetch_url",
        2.0,
        Some(2.0),
        "response received",
    ));
    events.push(event(1100, "call", 12, r#"{"token":10,"tool":"deploy","state":"failed","error":"health check failed: 503","duration_ms":9000}"#));
    events.push(event(1200, "lagged", 12, r#"{"missed":37}"#));
    for e in &events {
        app.ingest(e);
    }
    app
}

fn render(app: &mut App, width: u16, height: u16, now: Time) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| mcptop::ui::draw(f, app, now, 0, Theme::plain()))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

#[test]
fn the_table_shows_every_call_with_its_progress_and_the_warnings() {
    let mut app = app();
    let screen = render(&mut app, 120, 30, t(4_500));
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[0].contains("CONNECTED"), "{screen}");
    assert!(
        lines[0].contains("127.0.0.1:40123 · SSE · demo agents"),
        "{screen}"
    );
    assert!(screen.contains("! server dropped 37 events"), "{screen}");
    let run_tests = lines
        .iter()
        .find(|l| l.contains("run_tests"))
        .expect(&screen);
    assert!(run_tests.contains("▶"), "{run_tests}");
    assert!(run_tests.contains("███░░░░░░░ 8/24"), "{run_tests}");
    assert!(run_tests.contains("33%"), "{run_tests}");
    assert!(
        run_tests.contains("test 8/24: parser::case_8 ok"),
        "{run_tests}"
    );
    let index = lines
        .iter()
        .find(|l| l.contains("index_repo"))
        .expect(&screen);
    assert!(
        index.contains("◐") && index.contains("120"),
        "unknown total: spinner and count: {index}"
    );
    let deploy = lines.iter().find(|l| l.contains("deploy")).expect(&screen);
    assert!(
        deploy.contains("✗") && deploy.contains("health check failed: 503"),
        "{deploy}"
    );
    assert!(deploy.contains("9.0s"), "the server's duration: {deploy}");
    let fetch = lines
        .iter()
        .find(|l| l.contains("fetch_url"))
        .expect(&screen);
    assert!(fetch.contains("✓") && fetch.contains("2/2"), "{fetch}");
    assert!(lines.last().unwrap().contains("q quit"), "{screen}");
}

#[test]
fn a_narrow_pane_keeps_state_tool_and_progress() {
    let mut app = app();
    let screen = render(&mut app, 60, 15, t(4_500));
    let run_tests = screen
        .lines()
        .find(|l| l.contains("run_tests"))
        .expect(&screen);
    assert!(run_tests.contains("8/24"), "{screen}");
    // State, tool, bar, percent, elapsed and the time since the last update (quiet or
    // stuck?) outlive the rest; a message with no room to say anything is left out.
    let header = screen
        .lines()
        .find(|l| l.contains("progress"))
        .expect(&screen);
    for column in ["tool", "progress", "%", "elapsed", "last"] {
        assert!(header.contains(column), "{column}: {screen}");
    }
    for column in ["rate", "eta", "message"] {
        assert!(!header.contains(column), "{column}: {screen}");
    }
    for line in screen.lines() {
        assert!(line.chars().count() <= 60);
    }
    let tiny = render(&mut app, 40, 12, t(4_500));
    assert!(
        tiny.lines()
            .any(|l| l.contains("run_tests") && l.contains("8/24")),
        "{tiny}"
    );
}

#[test]
fn pause_freezes_the_table_but_counts_what_arrives() {
    let mut app = app();
    app.handle_key(Key::Char('p'), t(5_000));
    app.ingest(&progress(
        5_500,
        30,
        7,
        "run_tests",
        9.0,
        Some(24.0),
        "test 9/24 ok",
    ));
    app.ingest(&progress(
        6_000,
        31,
        7,
        "run_tests",
        10.0,
        Some(24.0),
        "test 10/24 ok",
    ));
    // A new call while paused: neither its row nor its count shows until resumed.
    app.ingest(&progress(6_100, 32, 12, "lint", 1.0, Some(5.0), "linting"));
    let screen = render(&mut app, 120, 30, t(17_000));
    assert!(
        screen.contains("PAUSED 12.0s · 3 new events · p to resume"),
        "{screen}"
    );
    assert!(
        screen.lines().next().unwrap().contains("2 running") && !screen.contains("lint"),
        "frozen counts: {screen}"
    );
    assert!(
        screen.contains("8/24") && !screen.contains("10/24"),
        "frozen: {screen}"
    );
    app.handle_key(Key::Char('p'), t(17_000));
    let screen = render(&mut app, 120, 30, t(17_000));
    assert!(
        !screen.contains("PAUSED") && screen.contains("10/24"),
        "{screen}"
    );
    assert!(
        screen.contains("lint") && screen.lines().next().unwrap().contains("stalled"),
        "live again: {screen}"
    );
}

#[test]
fn the_header_keeps_the_counts_and_a_filter_in_view_at_every_width() {
    let mut app = app();
    for (width, height) in [(120, 30), (80, 24), (60, 15), (40, 12)] {
        let head = render(&mut app, width, height, t(4_500));
        let head = head.lines().next().unwrap().to_owned();
        assert!(head.contains("2 running"), "{width}: {head}");
    }
    app.handle_key(Key::Char('/'), t(4_500));
    for c in "state:running".chars() {
        app.handle_key(Key::Char(c), t(4_500));
    }
    app.handle_key(Key::Enter, t(4_500));
    for (width, height) in [(120, 30), (80, 24), (60, 15), (40, 12)] {
        let screen = render(&mut app, width, height, t(4_500));
        let head = screen.lines().next().unwrap();
        assert!(
            head.contains("2 running") && head.contains("[filter"),
            "{width}: {screen}"
        );
    }
}

/// The header counts what the table shows in the same frame: a call that ends (or
/// starts) between two frames moves both at once, however soon the next frame comes.
#[test]
fn the_header_counts_the_calls_of_the_frame_it_heads() {
    let mut app = app();
    let screen = render(&mut app, 120, 30, t(4_500));
    assert!(
        screen.lines().next().unwrap().contains("2 running"),
        "{screen}"
    );
    app.ingest(&event(
        4_510,
        "call",
        20,
        r#"{"token":7,"tool":"run_tests","state":"finished","duration_ms":4410}"#,
    ));
    let screen = render(&mut app, 120, 30, t(4_520));
    let head = screen.lines().next().unwrap();
    assert!(head.contains("1 running"), "{screen}");
    let row = screen.lines().find(|l| l.contains("run_tests")).unwrap();
    assert!(row.starts_with('✓'), "{screen}");
    app.ingest(&event(
        4_530,
        "call",
        21,
        r#"{"token":30,"tool":"lint","state":"started"}"#,
    ));
    let screen = render(&mut app, 120, 30, t(4_540));
    assert!(
        screen.lines().next().unwrap().contains("2 running"),
        "{screen}"
    );
    let row = screen.lines().find(|l| l.contains("lint")).unwrap();
    assert!(row.starts_with('▶'), "{screen}");
}

/// The detail view names the subagent that made a call (the table's agent column gives
/// way to what the call says in a narrow pane).
#[test]
fn the_detail_names_the_subagent_that_made_the_call() {
    let mut app = app();
    app.ingest(&event(
        4_000,
        "call",
        30,
        r#"{"token":"toolu_9","tool":"Grep","state":"started","origin":"hook","message":"fn parse","subagent":"Explore","subagent_id":"a1b2"}"#,
    ));
    app.handle_key(Key::Char('/'), t(4_100));
    for c in "tool:Grep".chars() {
        app.handle_key(Key::Char(c), t(4_100));
    }
    app.handle_key(Key::Enter, t(4_100));
    app.handle_key(Key::Char('g'), t(4_100));
    app.handle_key(Key::Enter, t(4_100));
    for (width, height) in [(120, 30), (80, 24)] {
        let screen = render(&mut app, width, height, t(4_200));
        let title = screen
            .lines()
            .find(|l| l.contains("Grep #"))
            .unwrap_or_default();
        assert!(title.contains("subagent Explore (a1b2)"), "{screen}");
    }
}

/// An empty view's hint is what it has to say: at 40 columns it wraps, whole.
#[test]
fn an_empty_view_says_its_whole_hint_in_a_narrow_pane() {
    let mut app = app();
    for (key, end) in [('I', "tools/list through it"), ('A', "gemini too)")] {
        app.handle_key(Key::Char(key), t(4_500));
        let screen = render(&mut app, 40, 12, t(4_500));
        let said = screen.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        assert!(said.contains(end), "{key}: {screen}");
        let hint = screen.lines().skip_while(|l| !l.contains("yet:"));
        assert!(hint.clone().all(|l| !l.contains('…')), "{key}: {screen}");
        assert!(hint.count() > 3, "{key}: {screen}");
        app.handle_key(Key::Esc, t(4_500));
    }
}

#[test]
fn the_selection_stays_on_its_call_and_enter_opens_it() {
    let mut app = app();
    app.handle_key(Key::Down, t(4_500)); // run_tests
    app.handle_key(Key::Down, t(4_500)); // index_repo
    let selected = app.selected;
    // A new call appears; the selection does not move to another call.
    app.ingest(&progress(
        4_600,
        40,
        11,
        "build_project",
        1.0,
        Some(100.0),
        "compiling",
    ));
    assert_eq!(app.selected, selected);
    app.handle_key(Key::Enter, t(4_700));
    let screen = render(&mut app, 120, 30, t(4_700));
    assert!(
        screen.contains("index_repo #2  token 8  running"),
        "{screen}"
    );
    assert!(screen.contains("indexed src/module_120.rs"), "{screen}");
    assert!(
        screen.contains(r#"last frame (message): {"token":8,"progress":120,"#),
        "the raw last frame: {screen}"
    );
    app.handle_key(Key::Esc, t(4_700));
    let screen = render(&mut app, 120, 30, t(4_700));
    assert!(screen.contains("build_project"), "{screen}");
}

#[test]
fn a_task_waiting_for_input_says_so_and_its_row_shows_the_agents_token() {
    let mut app = app();
    for e in [
        event(
            1300,
            "call",
            13,
            r#"{"token":"5@s1","tool":"research","state":"started","progress_token":"pt-9"}"#,
        ),
        event(
            1400,
            "call",
            14,
            r#"{"token":"5@s1","tool":"research","state":"working","task":"task-1"}"#,
        ),
        event(
            1500,
            "call",
            15,
            r#"{"token":"5@s1","tool":"research","state":"waiting","waiting_for":"input","message":"which branch?"}"#,
        ),
    ] {
        app.ingest(&e);
    }
    let screen = render(&mut app, 120, 30, t(2000));
    let row = screen
        .lines()
        .find(|l| l.contains("research"))
        .unwrap_or_else(|| panic!("no research row: {screen}"));
    assert!(row.contains("waiting for input: which branch?"), "{row}");
    assert!(
        row.contains("pt-9") && !row.contains("5@s1"),
        "the agent's token: {row}"
    );
    assert!(
        row.trim_start().starts_with('?'),
        "the waiting glyph: {row}"
    );
    assert!(
        screen.contains("1 waiting"),
        "the header counts it: {screen}"
    );
    assert!(!screen.contains("waits for input"), "not at once: {screen}");
    let later = render(&mut app, 120, 30, t(8000));
    assert!(
        later.contains("research #pt-9 waits for input the server asked for"),
        "after a while the header says what it waits for: {later}"
    );
    assert!(
        !later.contains("research stalled"),
        "waiting is not stalling: {later}"
    );
    app.ingest(&event(
        1600,
        "call",
        16,
        r#"{"token":"5@s1","tool":"research","state":"finished","duration_ms":300}"#,
    ));
    let screen = render(&mut app, 120, 30, t(2000));
    assert!(!screen.contains("waiting for input"), "{screen}");
}

#[test]
fn t_opens_per_tool_statistics_and_a_tall_pane_shows_them_below_the_table() {
    let mut app = app();
    let now = t(2000);
    let tall = render(&mut app, 120, 30, now);
    assert!(
        tall.contains(" Per tool, over the calls shown (T)"),
        "{tall}"
    );
    let deploy = tall
        .lines()
        .find(|l| l.starts_with("deploy "))
        .unwrap_or_else(|| panic!("{tall}"));
    assert!(
        deploy.contains("1 100%") && deploy.contains("health check failed: 503"),
        "{deploy}"
    );
    // A short pane has no room: the table alone.
    assert!(!render(&mut app, 80, 15, now).contains("Per tool"));
    app.handle_key(Key::Char('T'), now);
    let full = render(&mut app, 60, 15, now);
    assert!(
        full.contains("tool") && full.contains("calls") && full.contains("run_tests"),
        "{full}"
    );
    insta::assert_snapshot!("stats_120x30", render(&mut app, 120, 30, now));
    insta::assert_snapshot!("stats_80x24", render(&mut app, 80, 24, now));
    app.handle_key(Key::Esc, now);
    assert!(render(&mut app, 120, 30, now).contains("tool       token"));
}

#[test]
fn the_what_column_shows_what_a_tapped_call_works_on() {
    let mut app = app();
    app.ingest(&event(
        1300,
        "call",
        13,
        r#"{"token":"1@s1","tool":"read_file","state":"started","progress_token":"","arguments":{"path":"src/main.rs","api_key":"<redacted>","limit":5}}"#,
    ));
    let screen = render(&mut app, 120, 30, t(2000));
    assert!(
        screen.contains("what"),
        "the column has its title: {screen}"
    );
    let row = screen
        .lines()
        .find(|l| l.contains("read_file"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains("path=src/main.rs"), "{row}");
    assert!(
        !row.contains("redacted"),
        "redacted values are left out: {row}"
    );
    // Without arguments anywhere the column takes no room.
    let plain = render(&mut self::app(), 120, 30, t(2000));
    assert!(
        !plain.lines().nth(2).unwrap_or_default().contains(" what "),
        "{plain}"
    );
}

#[test]
fn w_opens_the_timeline_with_a_bar_per_call_zoom_and_the_shared_selection() {
    let mut app = app();
    let now = t(6000);
    app.handle_key(Key::Char('W'), now);
    let screen = render(&mut app, 120, 30, now);
    assert!(screen.contains(" Timeline · 4 calls"), "{screen}");
    for tool in ["run_tests", "index_repo", "fetch_url", "deploy"] {
        let row = screen
            .lines()
            .find(|l| l.contains(tool))
            .unwrap_or_else(|| panic!("{tool}: {screen}"));
        assert!(row.contains('█'), "{tool} has a bar: {row}");
    }
    // The running call's bar reaches now, at the right edge.
    let run_tests = screen.lines().find(|l| l.contains("run_tests")).unwrap();
    assert!(run_tests.trim_end().ends_with('█'), "{run_tests}");
    insta::assert_snapshot!("timeline_120x30", screen);
    insta::assert_snapshot!("timeline_80x24", render(&mut app, 80, 24, now));
    let title = |s: &str| {
        s.lines()
            .find(|l| l.contains(" Timeline"))
            .unwrap_or_default()
            .to_owned()
    };
    app.handle_key(Key::Char('+'), now);
    let zoomed = render(&mut app, 120, 30, now);
    assert!(title(&screen).contains("the last 13.9s"), "{screen}");
    assert!(
        title(&zoomed).contains("the last 6.9s"),
        "the span halves: {zoomed}"
    );
    // j/k select in start order; Enter opens the selected call.
    app.handle_key(Key::Char('k'), now);
    app.handle_key(Key::Enter, now);
    assert!(
        matches!(app.screen, mcptop::ui::app::Screen::Detail(_)),
        "{:?}",
        app.screen
    );
    app.handle_key(Key::Esc, now);
}

#[test]
fn help_explains_keys_and_glyphs() {
    let mut app = app();
    app.handle_key(Key::Char('?'), t(0));
    let screen = render(&mut app, 120, 30, t(0));
    for text in [
        "pause the screen",
        "stalled",
        "quit (also Ctrl-C)",
        "unknown total",
    ] {
        assert!(screen.contains(text), "{text}: {screen}");
    }
    app.handle_key(Key::Char('q'), t(0));
    assert!(app.quit);
}

#[test]
fn an_empty_stream_says_it_is_alive() {
    let mut app = App::new(SourceLabel::default(), t(0));
    app.ingest(&Timed {
        at: t(0),
        event: SourceEvent::Status(LinkStatus::Connected {
            transport: Transport::Sse,
            session_id: "s".into(),
            resumed: false,
        }),
    });
    app.ingest(&Timed {
        at: t(15_000),
        event: SourceEvent::KeepAlive,
    });
    let screen = render(&mut app, 120, 30, t(20_000));
    assert!(
        screen.contains(
            "no tool call has reported yet. The stream is alive: last keep-alive 5.0s ago"
        ),
        "{screen}"
    );
    // And what to do next, at every size.
    for (w, h) in [(120, 30), (40, 12)] {
        let screen = render(&mut app, w, h, t(20_000));
        assert!(screen.contains("`mcptop setup"), "{screen}");
    }
}

/// A link going down, then the source stopping for good, over a table with rows: the
/// header says why in a line of its own, at both sizes, and the rows stay.
#[test]
fn a_link_down_and_a_stop_are_explained_above_the_table() {
    let mut app = app();
    app.ingest(&Timed {
        at: t(2_000),
        event: SourceEvent::Status(LinkStatus::Disconnected {
            reason: "the daemon answered 503: 503 Service Temporarily Unavailable".into(),
            retry_in: std::time::Duration::from_secs(2),
        }),
    });
    let screen = render(&mut app, 120, 30, t(2_500));
    assert!(screen.contains("RECONNECTING IN 2s"), "{screen}");
    assert!(
        screen
            .contains(" ⟳ link down: the daemon answered 503: 503 Service Temporarily Unavailable"),
        "{screen}"
    );
    assert!(screen.contains("run_tests"), "the rows stay: {screen}");
    app.ingest(&Timed {
        at: t(3_000),
        event: SourceEvent::Status(LinkStatus::Stopped(mcptop::source::Stop::SessionGone)),
    });
    for (w, h) in [(120, 30), (60, 15)] {
        let screen = render(&mut app, w, h, t(3_500));
        assert!(screen.contains("STOPPED"), "{screen}");
        assert!(
            screen.contains(" ■ stopped: session no longer exists"),
            "{screen}"
        );
        assert!(
            !screen.contains("link down"),
            "one state at a time: {screen}"
        );
    }
    // Back up (a new run of the source): the line goes.
    let mut app = self::app();
    app.ingest(&Timed {
        at: t(2_000),
        event: SourceEvent::Status(LinkStatus::Disconnected {
            reason: "the server ended the stream".into(),
            retry_in: std::time::Duration::from_millis(250),
        }),
    });
    app.ingest(&Timed {
        at: t(2_300),
        event: SourceEvent::Status(LinkStatus::Connected {
            transport: Transport::Sse,
            session_id: "s".into(),
            resumed: true,
        }),
    });
    let screen = render(&mut app, 120, 30, t(2_500));
    assert!(!screen.contains("link down"), "{screen}");
}

fn visible_tools(app: &mut App, now: Time) -> Vec<String> {
    app.rows(now).into_iter().map(|r| r.tool).collect()
}

#[test]
fn filter_sort_and_findings_only() {
    let mut app = app();
    let now = t(4_500);
    for c in "/tool:run".chars() {
        app.handle_key(Key::Char(c), now);
    }
    // Live as it is typed, and shown in the footer.
    assert_eq!(visible_tools(&mut app, now), ["run_tests"]);
    let screen = render(&mut app, 120, 30, now);
    assert!(screen.contains("/tool:run█"), "{screen}");
    app.handle_key(Key::Enter, now);
    assert!(render(&mut app, 120, 30, now).contains("[filter tool:run]"));
    // Esc on the table clears it; a negated state filter.
    app.handle_key(Key::Esc, now);
    for c in "/!state:done".chars() {
        app.handle_key(Key::Char(c), now);
    }
    app.handle_key(Key::Enter, now);
    assert_eq!(
        visible_tools(&mut app, now),
        ["run_tests", "index_repo", "deploy"]
    );
    // Esc while typing puts the previous filter back.
    app.handle_key(Key::Char('/'), now);
    app.handle_key(Key::Backspace, now);
    app.handle_key(Key::Esc, now);
    assert_eq!(app.view.filter, "!state:done");
    app.handle_key(Key::Esc, now);

    // Sort by tool, then inverted; ties keep creation order.
    app.handle_key(Key::Char('s'), now);
    app.handle_key(Key::Char('s'), now);
    assert_eq!(
        visible_tools(&mut app, now),
        ["deploy", "fetch_url", "index_repo", "run_tests"]
    );
    app.handle_key(Key::Char('i'), now);
    assert_eq!(
        visible_tools(&mut app, now),
        ["run_tests", "index_repo", "fetch_url", "deploy"]
    );
    assert!(render(&mut app, 120, 30, now).contains("sort tool ↓"));

    // Findings only: run_tests has gone quiet far beyond its cadence by now.
    app.handle_key(Key::Char('F'), t(120_000));
    assert!(visible_tools(&mut app, t(120_000)).contains(&"run_tests".to_owned()));
    assert!(!visible_tools(&mut app, t(120_000)).contains(&"fetch_url".to_owned()));
}

#[test]
fn y_copies_the_selected_row_through_osc52() {
    let mut app = app();
    let now = t(4_500);
    app.handle_key(Key::Char('y'), now);
    assert!(app.clipboard.is_none(), "nothing selected yet");
    app.handle_key(Key::Down, now);
    app.handle_key(Key::Char('y'), now);
    let text = app.clipboard.take().unwrap();
    assert!(
        text.starts_with("run_tests  7  running  8/24  33%"),
        "{text}"
    );
    assert!(render(&mut app, 120, 30, now).contains("copied the row to the clipboard"));
    app.handle_key(Key::Char('Y'), now);
    let json: serde_json::Value = serde_json::from_str(&app.clipboard.take().unwrap()).unwrap();
    assert_eq!(json["tool"], "run_tests");
    assert_eq!(mcptop::ui::osc52("hi"), "\u{1b}]52;c;aGk=\u{7}");
}

/// Whole screens pinned as snapshots (tests/snapshots/): any change to what a person sees
/// shows up in review.
#[test]
fn screens_snapshots() {
    let now = t(4_500);
    let reconnecting = Timed {
        at: t(4_000),
        event: SourceEvent::Status(LinkStatus::Disconnected {
            reason: "the server ended the stream".into(),
            retry_in: std::time::Duration::from_secs(3),
        }),
    };
    type Setup = fn(&mut App, Time);
    let screens: [(&str, Setup); 7] = [
        ("busy", |_, _| {}),
        ("paused", |app, now| app.handle_key(Key::Char('p'), now)),
        ("filtered", |app, now| {
            for c in "/state:running".chars() {
                app.handle_key(Key::Char(c), now);
            }
            app.handle_key(Key::Enter, now);
        }),
        ("detail", |app, now| {
            app.handle_key(Key::Down, now);
            app.handle_key(Key::Enter, now);
        }),
        ("help", |app, now| app.handle_key(Key::Char('?'), now)),
        ("reconnecting", |_, _| {}),
        ("waiting", |_, _| {}),
    ];
    for (size, (w, h)) in [
        ("120x30", (120, 30)),
        ("80x24", (80, 24)),
        ("60x15", (60, 15)),
        ("40x12", (40, 12)),
    ] {
        for (name, setup) in screens {
            let mut app = if name == "waiting" {
                App::new(SourceLabel::default(), t(0))
            } else {
                app()
            };
            if name == "reconnecting" {
                app.ingest(&reconnecting);
            }
            setup(&mut app, now);
            let screen = render(&mut app, w, h, now);
            insta::assert_snapshot!(format!("{name}_{size}"), screen);
        }
    }
}

#[test]
fn replay_plays_seeks_and_steps_back_to_the_same_state() {
    use mcptop::ui::player::Player;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-recording.jsonl");
    let recording = mcptop::source::replay::load(&path).unwrap();
    let mut app = App::new(SourceLabel::default(), recording.started_at);
    let mut player = Player::new("demo-recording.jsonl".into(), recording);
    let length = player.length;
    assert!(length > std::time::Duration::from_secs(5));
    player.speed = 2.0;
    app.player = Some(player);

    // Half the recording at ×2 is a quarter of it in real time.
    app.advance(length / 4);
    let now = app.clock(t(0));
    let screen = render(&mut app, 120, 30, now);
    let halfway = format!(
        "REPLAY demo-recording.jsonl 00:{:02}/00:{:02} ×2",
        (length / 2).as_secs(),
        length.as_secs()
    );
    assert!(screen.contains(&halfway), "{halfway}: {screen}");
    // What the calls are, apart from the clocks.
    let state = |app: &App| -> Vec<(String, String, String, String)> {
        app.rows(app.clock(t(0)))
            .into_iter()
            .map(|r| (r.tool, r.progress, r.state.as_str().to_owned(), r.message))
            .collect()
    };
    app.handle_key(Key::Char('5'), now);
    let at_half = state(&app);
    let events_at_half = app.model().stream().events;

    // Seeking back and forth gives the same state as getting there directly.
    app.handle_key(Key::Char('9'), now);
    app.handle_key(Key::Char('5'), now);
    assert_eq!(state(&app), at_half);
    assert_eq!(app.model().stream().events, events_at_half);

    // A step forward then a step back is where we were.
    app.handle_key(Key::Char('.'), now);
    let after_step = app.model().stream().events;
    app.handle_key(Key::Char(','), now);
    assert!(app.model().stream().events < after_step);
    assert_eq!(state(&app), at_half);
    assert_eq!(app.model().stream().events, events_at_half);
    let clock = app.clock(t(0));
    let header = render(&mut app, 120, 30, clock);
    assert!(header.contains("‖"), "paused after a step: {header}");
}

/// Replay's play and pause follow the pause binding: moved to `P` in the config, `P`
/// plays and pauses the replay, and `p` no longer does.
#[test]
fn replay_pauses_with_the_pause_key_as_bound() {
    use mcptop::ui::player::Player;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-recording.jsonl");
    let recording = mcptop::source::replay::load(&path).unwrap();
    let mut app = App::new(SourceLabel::default(), recording.started_at);
    let settings = mcptop::ui::config::parse(
        "[keys]\npause = [\"P\"]\n",
        std::path::Path::new("config.toml"),
    )
    .unwrap();
    settings.apply(&mut app);
    app.player = Some(Player::new("demo-recording.jsonl".into(), recording));
    let playing = |app: &App| app.player.as_ref().is_some_and(|p| p.playing);
    let before = playing(&app);
    app.handle_key(Key::Char('p'), t(0));
    assert_eq!(playing(&app), before, "p is not bound to pause any more");
    app.handle_key(Key::Char('P'), t(0));
    assert_eq!(playing(&app), !before, "P plays or pauses");
    app.handle_key(Key::Char('P'), t(0));
    assert_eq!(playing(&app), before);
}

/// A replay's keys are in the key map too: `faster = [">"]` moves the speed up from `>`,
/// and `+` no longer does.
#[test]
fn replay_keys_rebind_from_the_config() {
    use mcptop::ui::player::Player;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-recording.jsonl");
    let recording = mcptop::source::replay::load(&path).unwrap();
    let mut app = App::new(SourceLabel::default(), recording.started_at);
    let settings = mcptop::ui::config::parse(
        "[keys]\nfaster = [\">\"]\nseek_forward = [\"l\"]\n",
        std::path::Path::new("config.toml"),
    )
    .unwrap();
    settings.apply(&mut app);
    app.player = Some(Player::new("demo-recording.jsonl".into(), recording));
    let speed = |app: &App| app.player.as_ref().map(|p| p.speed);
    let position = |app: &App| app.player.as_ref().map(|p| p.position);
    let before = speed(&app);
    app.handle_key(Key::Char('+'), t(0));
    assert_eq!(speed(&app), before, "+ is not faster any more");
    app.handle_key(Key::Char('>'), t(0));
    assert!(speed(&app) > before, "> is");
    let at = position(&app);
    app.handle_key(Key::Right, t(0));
    assert_eq!(position(&app), at, "→ no longer seeks");
    app.handle_key(Key::Char('l'), t(0));
    assert!(position(&app) > at, "l seeks 5 s on");
}

/// The key hints name the keys as bound: moved keys show their new key, and an action
/// left without a key is not hinted at.
#[test]
fn the_footer_names_the_keys_as_bound() {
    let settings = mcptop::ui::config::parse(
        "[keys]\nquit = [\"Q\"]\npause = [\"P\"]\nfilter = []\n",
        std::path::Path::new("config.toml"),
    )
    .unwrap();
    let mut app = app();
    settings.apply(&mut app);
    let screen = render(&mut app, 120, 30, t(4_500));
    let footer = screen.lines().last().unwrap();
    assert!(
        footer.contains("Q quit") && footer.contains("P pause"),
        "{footer}"
    );
    assert!(
        !footer.contains("q quit") && !footer.contains("filter"),
        "{footer}"
    );
    assert!(
        footer.contains("j/k move") && footer.contains("? help"),
        "{footer}"
    );
}

#[test]
fn f_follows_each_new_call_until_the_selection_moves() {
    let mut app = app();
    let now = t(4_500);
    app.handle_key(Key::Char('f'), now);
    let newest = app.model().calls().last().unwrap().id;
    assert_eq!(app.selected, Some(newest));
    app.ingest(&progress(4_600, 50, 12, "lint", 1.0, Some(3.0), "checking"));
    let lint = app.model().calls().last().unwrap().id;
    assert_eq!(app.selected, Some(lint), "the new call is selected");
    app.handle_key(Key::Up, now);
    app.ingest(&progress(
        4_700,
        51,
        13,
        "fmt",
        1.0,
        Some(3.0),
        "formatting",
    ));
    assert_ne!(
        app.selected,
        app.model().calls().last().map(|c| c.id),
        "moving stopped it"
    );
}

/// Two wrapped servers on an all-sessions stream: one call without a progress token, one
/// with progress, and a finished one.
fn tapped() -> App {
    let mut app = App::new(
        SourceLabel {
            daemon: "127.0.0.1:40123".into(),
            transport: "SSE".into(),
            session: "all sessions".into(),
        },
        t(0),
    );
    app.ingest(&Timed {
        at: t(0),
        event: SourceEvent::Status(LinkStatus::Connected {
            transport: Transport::Sse,
            session_id: "*".into(),
            resumed: false,
        }),
    });
    let events = [
        event(
            100,
            "call",
            1,
            r#"{"session":"6f1c2e9a-0000","session_label":"filesystem 1.2","token":3,"tool":"search_files","state":"started","progress_requested":false}"#,
        ),
        event(
            200,
            "call",
            2,
            r#"{"session":"a2b9c4d1-0000","session_label":"everything 2.0","token":5,"tool":"long_op","state":"started","progress_requested":true}"#,
        ),
        event(
            700,
            "message",
            3,
            r#"{"session":"a2b9c4d1-0000","session_label":"everything 2.0","token":5,"tool":"long_op","progress":2,"total":5}"#,
        ),
        event(
            800,
            "call",
            4,
            r#"{"session":"6f1c2e9a-0000","session_label":"filesystem 1.2","token":4,"tool":"read_file","state":"finished","duration_ms":120}"#,
        ),
    ];
    for e in &events {
        app.ingest(e);
    }
    app
}

#[test]
fn taps_show_a_session_column_and_why_a_bar_is_empty() {
    let mut app = tapped();
    let screen = render(&mut app, 120, 30, t(5_000));
    let lines: Vec<&str> = screen.lines().collect();
    let header = lines
        .iter()
        .find(|l| l.contains("tool") && l.contains("progress"))
        .expect(&screen);
    assert!(header.contains("session"), "{screen}");
    let search = lines
        .iter()
        .find(|l| l.contains("search_files") && l.contains("filesystem"))
        .expect(&screen);
    assert!(search.contains("filesystem 1.2"), "{search}");
    assert!(search.contains("▶"), "a running row: {search}");
    assert!(search.contains("(no progress token)"), "{search}");
    assert!(search.contains("4.9s"), "its elapsed clock: {search}");
    assert!(
        screen.contains("search_files #3: no progress token requested, so only elapsed time shows (try --request-progress)"),
        "the finding says why: {screen}"
    );
    assert!(
        !screen.contains("stalled"),
        "no update is expected: {screen}"
    );
    let long = lines.iter().find(|l| l.contains("long_op")).expect(&screen);
    assert!(
        long.contains("everything 2.0") && long.contains("2/5"),
        "{long}"
    );
    let read = lines
        .iter()
        .find(|l| l.contains("read_file"))
        .expect(&screen);
    assert!(read.contains("✓") && read.contains("120ms"), "{read}");
    // The same token in two sessions would be two rows; the filter narrows to one session.
    app.handle_key(Key::Char('/'), t(5_000));
    for c in "session:everything".chars() {
        app.handle_key(Key::Char(c), t(5_000));
    }
    app.handle_key(Key::Enter, t(5_000));
    let screen = render(&mut app, 120, 30, t(5_000));
    assert!(
        screen.contains("long_op") && !screen.contains("filesystem 1.2"),
        "{screen}"
    );
    // 60 columns: state, tool and progress stay.
    let mut app = tapped();
    let narrow = render(&mut app, 60, 15, t(5_000));
    assert!(
        narrow.contains("search_files") && narrow.contains("long_op"),
        "{narrow}"
    );
}

/// Escapes, bidi overrides and zero-width characters from a hostile server are shown as
/// visible escapes on every screen and on the clipboard, never sent raw; a zero-width
/// joiner cannot shift the footer.
#[test]
fn hostile_text_is_shown_escaped_on_every_screen_and_the_clipboard() {
    let mut app = App::new(
        SourceLabel {
            daemon: "127.0.0.1:9\u{1b}]0;x\u{7}".into(),
            transport: "SSE".into(),
            session: "s\u{202e}".into(),
        },
        t(0),
    );
    let evil = r#"{"token":1,"progress":1,"total":4,"tool":"ev\u001b]52;c;cm0=\u0007il","message":"a\u200d\u200d\u200d\u200db\u202ec\r\nd\u009b2J"}"#;
    app.ingest(&event(10, "message", 1, evil));
    let now = t(500);
    for (w, h) in [(120, 30), (80, 24), (60, 15), (40, 12)] {
        let screen = render(&mut app, w, h, now);
        assert!(
            !screen
                .chars()
                .any(|c| c != '\n' && mcptop::sanitize::is_unsafe(c)),
            "{w}x{h}: {screen:?}"
        );
        assert!(
            screen.contains("ev\\x1b]52;c;cm0=\\x07il") || w < 120,
            "{w}x{h}:\n{screen}"
        );
        // Every line is exactly as wide as the screen: nothing zero-width rode along.
        for line in screen.lines() {
            assert_eq!(line.chars().count(), w as usize, "{w}x{h}: {line:?}");
        }
    }
    app.handle_key(Key::Down, now);
    app.handle_key(Key::Enter, now);
    let detail = render(&mut app, 120, 30, now);
    assert!(
        detail.contains("a\\u{200d}\\u{200d}\\u{200d}\\u{200d}b\\u{202e}c\\r\\nd\\x9b2J"),
        "{detail}"
    );
    app.handle_key(Key::Esc, now);
    for key in ['y', 'Y'] {
        app.handle_key(Key::Char(key), now);
        let copied = app.clipboard.take().unwrap();
        assert!(
            !copied.chars().any(mcptop::sanitize::is_unsafe),
            "{key}: {copied:?}"
        );
    }
    // The OSC 52 sequence itself carries no raw control either.
    let sequence = mcptop::ui::osc52("x\u{1b}[201~y");
    let payload = sequence
        .trim_start_matches("\u{1b}]52;c;")
        .trim_end_matches('\u{7}');
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "x\\x1b[201~y");
}

/// A daemon killed and restarted under the monitor: its running calls become lost (not
/// stalled for ever, no ETA), `c` clears them, the header names the new daemon, and a new
/// call that reuses a token is a row of its own.
#[test]
fn a_restarted_daemon_leaves_lost_calls_not_ghosts() {
    let daemon = |address: &str, instance: &str, at: i64| Timed {
        at: t(at),
        event: SourceEvent::Status(LinkStatus::Daemon {
            address: address.into(),
            instance: instance.into(),
            quiet_hint: None,
        }),
    };
    let mut app = app();
    app.ingest(&daemon("127.0.0.1:40123", "pid 10 · started a", 1_300));
    app.ingest(&daemon("127.0.0.1:40123", "pid 10 · started a", 1_400));
    assert_eq!(
        app.model().counts(t(1_500)).running,
        2,
        "the same run: nothing lost"
    );
    app.ingest(&daemon("127.0.0.1:41999", "pid 11 · started b", 60_000));
    app.ingest(&progress(
        60_100,
        1,
        7,
        "run_tests",
        1.0,
        Some(24.0),
        "test 1/24",
    ));
    let now = t(61_000);
    let screen = render(&mut app, 120, 30, now);
    assert!(screen.contains("127.0.0.1:41999"), "{screen}");
    assert!(!screen.contains("40123"), "{screen}");
    assert!(!screen.contains("stalled"), "{screen}");
    let lost: Vec<&str> = screen.lines().filter(|l| l.starts_with('◌')).collect();
    assert_eq!(lost.len(), 2, "{screen}");
    assert!(lost.iter().all(|l| !l.contains("eta")), "{screen}");
    assert!(screen.contains("2 lost"), "{screen}");
    insta::assert_snapshot!("lost_after_restart_120x30", screen);
    insta::assert_snapshot!("lost_after_restart_80x24", render(&mut app, 80, 24, now));
    // The new run's call on token 7 is its own row, running.
    let table = screen.split(" Per tool").next().unwrap_or_default();
    assert_eq!(
        table.lines().filter(|l| l.contains("run_tests")).count(),
        2,
        "{screen}"
    );
    app.handle_key(Key::Char('c'), now);
    let cleared = render(&mut app, 120, 30, now);
    assert!(!cleared.contains('◌'), "{cleared}");
    assert!(cleared.contains("run_tests"), "{cleared}");
}

/// The help ends where it ends; the detail view's messages scroll with j/k while the
/// table's selection stays put; `--ascii` leaves no other glyph in the help.
#[test]
fn help_is_bounded_and_the_detail_scrolls_its_messages() {
    let mut app = app();
    let now = t(4_500);
    app.handle_key(Key::Char('?'), now);
    for _ in 0..100 {
        app.handle_key(Key::Char('j'), now);
    }
    let bottom = render(&mut app, 80, 24, now);
    assert!(bottom.contains("those run."), "{bottom}");
    let text_rows = bottom.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(text_rows > 10, "not a blank page: {bottom}");
    app.handle_key(Key::Esc, now);

    // 40 messages for one call; the detail shows them all, a page at a time.
    for i in 0..40u64 {
        app.ingest(&progress(
            5_000 + i as i64 * 10,
            100 + i,
            42,
            "long",
            i as f64,
            Some(100.0),
            &format!("step {i:02}"),
        ));
    }
    let long = app
        .model()
        .calls()
        .find(|c| c.key.tool.as_deref() == Some("long"))
        .unwrap()
        .id;
    app.selected = Some(long);
    app.handle_key(Key::Enter, now);
    let first = render(&mut app, 80, 24, t(5_500));
    assert!(
        first.contains("step 39") && !first.contains("step 00"),
        "{first}"
    );
    assert!(first.contains("messages, newest first (40):"), "{first}");
    assert!(first.contains("(j/k scroll · / search)"), "{first}");
    app.handle_key(Key::Char('G'), now);
    let last = render(&mut app, 80, 24, t(5_500));
    assert!(
        last.contains("step 00") && !last.contains("  step 39"),
        "{last}"
    );
    // `/` searches the detail as it is typed; n/N step through the matches.
    app.handle_key(Key::Char('/'), now);
    for c in "STEP 1".chars() {
        app.handle_key(Key::Char(c), now);
    }
    let typing = render(&mut app, 80, 24, t(5_500));
    assert!(typing.contains("search: STEP 1▏"), "{typing}");
    app.handle_key(Key::Enter, now);
    let found = render(&mut app, 80, 24, t(5_500));
    assert!(
        found.contains("\"STEP 1\": match 1 of 10"),
        "case-insensitive, steps 10-19: {found}"
    );
    assert!(found.contains("step 19"), "the first match shows: {found}");
    // The matches are marked (underlined) where they are, and nothing else is.
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| mcptop::ui::draw(f, &mut app, t(5_500), 0, Theme::plain()))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let marked: Vec<String> = (0..24)
        .map(|y| {
            (0..80)
                .filter(|x| {
                    buffer[(*x, y)]
                        .modifier
                        .contains(ratatui::style::Modifier::UNDERLINED)
                })
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect();
    assert!(
        !marked.is_empty() && marked.iter().all(|m| m == "step 1"),
        "{marked:?}"
    );
    app.handle_key(Key::Char('N'), now);
    let wrapped = render(&mut app, 80, 24, t(5_500));
    assert!(
        wrapped.contains("match 10 of 10") && wrapped.contains("step 10"),
        "N from the first goes round to the last: {wrapped}"
    );
    app.handle_key(Key::Char('n'), now);
    assert!(render(&mut app, 80, 24, t(5_500)).contains("match 1 of 10"));
    // Esc clears the search first, then leaves.
    app.handle_key(Key::Esc, now);
    assert!(matches!(app.screen, mcptop::ui::app::Screen::Detail(_)));
    assert!(!render(&mut app, 80, 24, t(5_500)).contains("match"));
    assert_eq!(
        app.selected,
        Some(long),
        "the table's selection did not move"
    );
    app.handle_key(Key::Esc, now);

    let mut ascii = app;
    let mut terminal = Terminal::new(TestBackend::new(120, 60)).unwrap();
    ascii.handle_key(Key::Char('?'), now);
    let theme = Theme {
        ascii: true,
        ..Theme::plain()
    };
    terminal
        .draw(|f| mcptop::ui::draw(f, &mut ascii, now, 0, theme))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut screen = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            screen.push_str(buffer[(x, y)].symbol());
        }
    }
    assert!(screen.is_ascii(), "{screen}");
}

/// The filter: Esc while typing cancels the edit, `/` again edits the filter in force,
/// the findings follow it, and an empty result says so.
#[test]
fn the_filter_edits_cancels_and_narrows_the_findings() {
    let mut app = app();
    let now = t(120_000);
    let typed = |app: &mut App, text: &str| {
        for c in text.chars() {
            app.handle_key(Key::Char(c), now);
        }
    };
    typed(&mut app, "/tool:fetch");
    app.handle_key(Key::Enter, now);
    typed(&mut app, "/state:done");
    app.handle_key(Key::Enter, now);
    assert_eq!(app.view.filter, "tool:fetch state:done");
    // The stalled run_tests is not shown, so neither is its finding.
    let screen = render(&mut app, 120, 30, now);
    assert!(!screen.contains("run_tests"), "{screen}");
    assert!(
        !screen
            .lines()
            .any(|l| l.starts_with(" !") && l.contains("stalled")),
        "{screen}"
    );
    typed(&mut app, "/nothing");
    app.handle_key(Key::Esc, now);
    assert_eq!(
        app.view.filter, "tool:fetch state:done",
        "Esc cancelled the edit"
    );
    typed(&mut app, "/zzz");
    app.handle_key(Key::Enter, now);
    let empty = render(&mut app, 120, 30, now);
    assert!(
        empty.contains("no calls match tool:fetch state:done zzz (Esc clears)"),
        "{empty}"
    );
    app.handle_key(Key::Esc, now);
    assert_eq!(app.view.filter, "");
    let all = render(&mut app, 120, 30, now);
    assert!(
        all.lines()
            .any(|l| l.starts_with(" !") && l.contains("stalled")),
        "{all}"
    );
}

/// `C` opens the column chooser; Space hides a column live; a config file rebinds keys.
#[test]
fn the_column_chooser_and_a_rebound_key() {
    let now = t(4_500);
    for (size, (w, h)) in [
        ("120x30", (120u16, 30u16)),
        ("80x24", (80, 24)),
        ("40x12", (40, 12)),
    ] {
        let mut app = app();
        // The table drawn once, so the chooser knows which columns had room.
        render(&mut app, w, h, now);
        app.handle_key(Key::Char('C'), now);
        let chooser = render(&mut app, w, h, now);
        if w < 60 {
            // A narrow pane: why an enabled column is not drawn is read before the cut.
            assert!(chooser.contains("☑ token     (no room)"), "{chooser}");
        }
        insta::assert_snapshot!(format!("columns_{size}"), chooser);
        // Down to `message`, in view however short the pane, and hide it.
        for _ in 0..12 {
            app.handle_key(Key::Char('j'), now);
        }
        let chooser = render(&mut app, w, h, now);
        assert!(chooser.contains("☑ message"), "{chooser}");
        app.handle_key(Key::Char(' '), now);
        app.handle_key(Key::Esc, now);
        let table = render(&mut app, w, h, now);
        assert!(!table.contains("message"), "{table}");
        assert!(!table.contains("parser::case_8"), "{table}");
    }
    let settings = mcptop::ui::config::parse(
        "[keys]\nquit = [\"Q\"]\nhelp = [\"h\"]\n",
        std::path::Path::new("config.toml"),
    )
    .unwrap();
    let mut app = app();
    settings.apply(&mut app);
    for e in rebuild_events() {
        app.ingest(&e);
    }
    app.handle_key(Key::Char('q'), now);
    assert!(!app.quit, "q is no longer quit");
    app.handle_key(Key::Char('h'), now);
    let help = render(&mut app, 120, 30, now);
    assert!(help.contains("  Q          quit"), "{help}");
    insta::assert_snapshot!("rebound_help_120x30", help);
    app.handle_key(Key::Char('Q'), now);
    assert!(app.quit);
}

/// The events of [`app`], for an app made another way.
fn rebuild_events() -> Vec<Timed> {
    vec![progress(
        100,
        1,
        7,
        "run_tests",
        1.0,
        Some(24.0),
        "test 1/24",
    )]
}

/// Many calls, some running for hours, in panes of every size: running calls stay in view
/// (first, or counted on the last line), and long durations keep their compact form.
#[test]
fn many_long_calls_keep_running_ones_in_view() {
    let mut app = App::new(
        SourceLabel {
            daemon: "127.0.0.1:40123".into(),
            transport: "SSE".into(),
            session: "agents".into(),
        },
        t(0),
    );
    let mut id = 0u64;
    let mut next = || {
        id += 1;
        id
    };
    // Forty short calls that finished, then three long runners (one started first).
    app.ingest(&progress(
        0,
        next(),
        500,
        "build_project",
        1.0,
        Some(100.0),
        "crate 1",
    ));
    for i in 0..40u64 {
        let at = 1_000 + i as i64 * 100;
        app.ingest(&progress(
            at,
            next(),
            i,
            "fetch_url",
            2.0,
            Some(2.0),
            "response received",
        ));
    }
    for (token, tool) in [(501, "run_tests"), (502, "index_repo")] {
        app.ingest(&progress(
            6_000,
            next(),
            token,
            tool,
            1.0,
            Some(10.0),
            "working",
        ));
    }
    // Keep the runners reporting, for an hour and two minutes.
    for minute in 1..=62i64 {
        let at = minute * 60_000;
        app.ingest(&progress(
            at,
            next(),
            500,
            "build_project",
            1.0 + minute as f64,
            Some(100.0),
            "compiling",
        ));
        app.ingest(&progress(
            at,
            next(),
            501,
            "run_tests",
            1.0 + minute as f64 / 10.0,
            Some(10.0),
            "testing",
        ));
        app.ingest(&progress(
            at,
            next(),
            502,
            "index_repo",
            1.0 + minute as f64 / 10.0,
            Some(10.0),
            "indexing",
        ));
    }
    let now = t(62 * 60_000 + 500);
    for (size, (w, h)) in [
        ("120x30", (120u16, 30u16)),
        ("80x24", (80, 24)),
        ("60x15", (60, 15)),
        ("40x12", (40, 12)),
    ] {
        let screen = render(&mut app, w, h, now);
        let running_rows = screen.lines().filter(|l| l.starts_with('▶')).count();
        assert_eq!(running_rows, 3, "{size}:\n{screen}");
        assert!(
            screen.contains("↓ ") && screen.contains(" more"),
            "{size}:\n{screen}"
        );
        if w >= 60 {
            assert!(screen.contains("1h02m"), "{size}:\n{screen}");
        }
        insta::assert_snapshot!(format!("many_long_{size}"), screen);
    }
    // The selection goes down into the finished rows: what still runs is counted above.
    for _ in 0..20 {
        app.handle_key(Key::Char('j'), now);
    }
    let screen = render(&mut app, 60, 15, now);
    let running_rows = screen.lines().filter(|l| l.starts_with('▶')).count();
    assert_eq!(running_rows, 0, "scrolled past them:\n{screen}");
    assert!(screen.contains("↑ 3 running above"), "{screen}");
}

#[test]
fn i_opens_the_servers_and_their_tools_and_the_views_keys_move_between_views() {
    let mut app = app();
    let now = t(6000);
    app.handle_key(Key::Char('I'), now);
    let empty = render(&mut app, 80, 24, now);
    assert!(empty.contains("no server seen yet"), "{empty}");
    app.ingest(&event(
        1400,
        "server",
        0,
        r#"{"session":"s1","session_label":"wrap everything","name":"everything","version":"2.0.0","protocol":"2025-11-25","capabilities":["tools","logging","resources"],"tools":[{"name":"echo","description":"Echoes back the input"},{"name":"get-sum","description":"Returns the sum of two numbers"},{"name":"simulate-research-query","description":"Simulates a deep research query with\nstatus updates","tasks":"required"},{"name":"evil\u001b[2J","description":"\u001b]52;c;AAAA\u0007steals the clipboard"}],"tools_cut":3}"#,
    ));
    let screen = render(&mut app, 120, 30, now);
    assert!(
        screen.contains("everything 2.0.0 · protocol 2025-11-25"),
        "{screen}"
    );
    assert!(screen.contains("session wrap everything"), "{screen}");
    assert!(
        screen.contains("capabilities: tools, logging, resources"),
        "{screen}"
    );
    assert!(screen.contains("7 tools"), "listed and cut: {screen}");
    let research = screen
        .lines()
        .find(|l| l.contains("simulate-research-query"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(
        research.contains("task ") && research.contains("with status updates"),
        "task support, the description on one line: {research}"
    );
    assert!(screen.contains("… and 3 more"), "{screen}");
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "nothing raw reaches the terminal: {screen}"
    );
    insta::assert_snapshot!("servers_120x30", screen);
    insta::assert_snapshot!("servers_80x24", render(&mut app, 80, 24, now));
    // A server's numbers cannot overflow the view's sums.
    let mut hostile = self::app();
    hostile.ingest(&event(
        1400,
        "server",
        0,
        r#"{"session":"s9","name":"x","tools":[{"name":"a"}],"tools_cut":18446744073709551615}"#,
    ));
    hostile.handle_key(Key::Char('I'), now);
    let big = render(&mut hostile, 80, 24, now);
    assert!(big.contains("18446744073709551615 tools"), "{big}");
    // The views' keys move between them; a view's own key goes back to the table.
    app.handle_key(Key::Char('T'), now);
    assert_eq!(app.screen, mcptop::ui::app::Screen::Stats);
    app.handle_key(Key::Char('W'), now);
    assert_eq!(app.screen, mcptop::ui::app::Screen::Timeline);
    app.handle_key(Key::Char('W'), now);
    assert_eq!(app.screen, mcptop::ui::app::Screen::Table);
    // In the timeline, Enter with nothing selected says how to select.
    app.handle_key(Key::Char('W'), now);
    app.selected = None;
    app.handle_key(Key::Enter, now);
    assert_eq!(app.screen, mcptop::ui::app::Screen::Timeline);
    assert!(
        render(&mut app, 120, 30, now).contains("j/k to select a call first"),
        "the flash says what to do"
    );
}

/// The last running calls end within a fifth of a second of each other, and nothing else
/// arrives: the header's counts and the findings are still owed a refresh, the loop is told
/// when, and the tick at that moment brings them up to date.
#[test]
fn counts_catch_up_when_the_last_calls_end_together() {
    let mut app = app();
    let mut at = 5_000;
    render(&mut app, 80, 24, t(at));
    for (id, token, tool) in [(20u64, 7u64, "run_tests"), (21, 8, "index_repo")] {
        app.ingest(&event(
            at,
            "call",
            id,
            &format!(r#"{{"token":{token},"tool":"{tool}","state":"finished"}}"#),
        ));
        let head = render(&mut app, 80, 24, t(at));
        assert!(head.lines().next().is_some(), "{head}");
        at += 50;
    }
    // The loop wakes when told, ticks, and draws when the tick asks for it; within a
    // second nothing is owed any more and the header counts no running call.
    let mut wakes = 0;
    while let Some(owed) = app.refresh_owed(t(at)) {
        assert!(owed <= std::time::Duration::from_secs(1), "{owed:?}");
        at += i64::try_from(owed.as_millis()).unwrap();
        app.tick(t(at));
        assert!(app.dirty, "the refresh asks for a frame");
        render(&mut app, 80, 24, t(at));
        wakes += 1;
        assert!(wakes <= 2, "one wake for the counts, one for the findings");
    }
    assert!(at <= 6_100, "caught up at {at}");
    let screen = render(&mut app, 80, 24, t(at));
    let head = screen.lines().next().unwrap();
    assert!(!head.contains("running"), "{screen}");
}

#[test]
fn the_daemons_own_otlp_losses_show_in_the_header_and_age_out() {
    let mut app = app();
    let counts = |at: i64, dropped: u64, refused: u64| Timed {
        at: t(at),
        event: SourceEvent::Status(LinkStatus::DaemonCounts(mcptop::event::DaemonCounts {
            spans_dropped: dropped,
            export_error: Some("the collector answered 503".into()),
            otlp_refused: refused,
            otlp_strangers: 0,
        })),
    };
    app.ingest(&counts(2_000, 512, 0));
    app.tick(t(2_100));
    let screen = render(&mut app, 120, 30, t(2_100));
    assert!(
        screen.contains("OTLP export dropped 512 spans (the collector answered 503)"),
        "{screen}"
    );
    // The receiver's refusals are their own line; a count that does not grow ages out.
    app.ingest(&counts(3_000, 512, 2));
    app.tick(t(3_100));
    let screen = render(&mut app, 120, 30, t(3_100));
    assert!(
        screen.contains("OTLP receiver refused 2 exports"),
        "{screen}"
    );
    let quiet = t(3_000 + 10 * 60 * 1000);
    app.tick(quiet);
    let screen = render(&mut app, 120, 30, quiet);
    assert!(!screen.contains("OTLP"), "{screen}");
}

/// Every key goes through the key map, in the scope of the view on screen: a view's own
/// keys rebind without touching the table's, and the same key can mean one thing on the
/// timeline and another on the table.
#[test]
fn each_view_s_keys_are_its_own_and_rebind() {
    use mcptop::ui::app::Screen;
    use mcptop::ui::keys::{Action, KeyMap};
    let mut app = app();
    app.keys = KeyMap::with(&[(Action::ZoomIn, vec![Key::Char('z')])]);
    app.handle_key(Key::Char('W'), t(6000));
    assert_eq!(app.screen, Screen::Timeline);
    app.handle_key(Key::Char('+'), t(6000));
    assert_eq!(app.timeline.zoom, 0, "+ no longer zooms in");
    app.handle_key(Key::Char('z'), t(6000));
    app.handle_key(Key::Char('z'), t(6000));
    assert_eq!(app.timeline.zoom, 2);
    app.handle_key(Key::Char('-'), t(6000));
    assert_eq!(app.timeline.zoom, 1, "- still zooms out");
    app.handle_key(Key::Esc, t(6000));
    assert_eq!(app.screen, Screen::Table);
    // `x` toggles a column in the chooser and dismisses findings on the table.
    app.handle_key(Key::Char('C'), t(6000));
    assert_eq!(app.screen, Screen::Columns);
    let before: Vec<bool> = app.columns.iter().map(|(_, on)| *on).collect();
    app.handle_key(Key::Char('x'), t(6000));
    let after: Vec<bool> = app.columns.iter().map(|(_, on)| *on).collect();
    assert_ne!(before, after, "x toggled the column under the cursor");
    assert_eq!(app.screen, Screen::Columns);
    app.handle_key(Key::Esc, t(6000));
    app.refresh_findings(t(60_000));
    assert!(
        !app.findings.is_empty(),
        "the session has findings to dismiss"
    );
    app.handle_key(Key::Char('x'), t(60_000));
    assert!(app.findings.is_empty(), "x dismissed them on the table");
    // The detail's search steps with its own keys, rebound like any other.
    app.keys = KeyMap::with(&[(Action::NextMatch, vec![Key::Char('m')])]);
    app.handle_key(Key::Char('g'), t(60_000));
    app.handle_key(Key::Enter, t(60_000));
    assert!(matches!(app.screen, Screen::Detail(_)));
    app.handle_key(Key::Char('/'), t(60_000));
    for c in "test".chars() {
        app.handle_key(Key::Char(c), t(60_000));
    }
    app.handle_key(Key::Enter, t(60_000));
    app.handle_key(Key::Char('n'), t(60_000));
    assert_eq!(app.detail.match_index, 0, "n is no longer the next match");
    app.handle_key(Key::Char('m'), t(60_000));
    assert_eq!(app.detail.match_index, 1);
    app.handle_key(Key::Char('h'), t(60_000));
    assert_eq!(app.screen, Screen::Table, "h closes the detail");
}

/// Three agent sessions on an all-sessions stream: Claude Code waiting for permission (with
/// a subagent at work), Codex working, Gemini CLI ended; and a wrapped server's tap.
fn agents_app() -> App {
    let mut app = App::new(
        SourceLabel {
            daemon: "127.0.0.1:40123".into(),
            transport: "SSE".into(),
            session: "all sessions".into(),
        },
        t(0),
    );
    let call = |at: i64, id: u64, session: &str, label: &str, rest: &str| {
        event(
            at,
            "call",
            id,
            &format!(r#"{{"session":"{session}","session_label":"{label}",{rest}}}"#),
        )
    };
    let claude = ("s1", "claude-code · shop");
    let codex = ("s2", "codex · api");
    let gemini = ("s3", "gemini · docs");
    let hook = r#""origin":"hook","progress_requested":false"#;
    let events = [
        call(
            100,
            1,
            claude.0,
            claude.1,
            &format!(
                r#""token":"t1","tool":"Bash","state":"started","message":"cargo test",{hook}"#
            ),
        ),
        call(
            200,
            2,
            claude.0,
            claude.1,
            r#""token":"t1","tool":"Bash","state":"finished""#,
        ),
        call(
            300,
            3,
            claude.0,
            claude.1,
            &format!(
                r#""token":"t2","tool":"Task","state":"started","message":"explore the parser",{hook}"#
            ),
        ),
        call(
            400,
            4,
            claude.0,
            claude.1,
            &format!(
                r#""token":"t3","tool":"Grep","state":"started","message":"fn parse","subagent":"Explore","subagent_id":"a1",{hook}"#
            ),
        ),
        call(
            500,
            5,
            claude.0,
            claude.1,
            &format!(
                r#""token":"t4","tool":"Bash","state":"started","message":"rm -rf build",{hook}"#
            ),
        ),
        call(
            600,
            6,
            claude.0,
            claude.1,
            r#""token":"t4","tool":"Bash","state":"waiting","waiting_for":"permission","message":"rm -rf build""#,
        ),
        call(
            700,
            7,
            codex.0,
            codex.1,
            &format!(r#""token":"c1","tool":"Bash","state":"started","message":"npm test",{hook}"#),
        ),
        call(
            750,
            8,
            claude.0,
            claude.1,
            &format!(
                r#""token":"t5","tool":"Read","state":"started","message":"src/parse.rs","subagent":"Explore","subagent_id":"a1",{hook}"#
            ),
        ),
        call(
            800,
            9,
            codex.0,
            codex.1,
            r#""token":"c0","tool":"apply_patch","state":"failed","error":"patch did not apply","origin":"hook""#,
        ),
        call(
            900,
            10,
            gemini.0,
            gemini.1,
            &format!(
                r#""token":"g1","tool":"read_file","state":"started","message":"README.md",{hook}"#
            ),
        ),
        call(
            1000,
            11,
            gemini.0,
            gemini.1,
            r#""token":"g1","tool":"read_file","state":"finished""#,
        ),
        call(
            1100,
            12,
            gemini.0,
            gemini.1,
            &format!(r#""token":"session-end","tool":"session","state":"started",{hook}"#),
        ),
        call(
            1100,
            13,
            gemini.0,
            gemini.1,
            r#""token":"session-end","tool":"session","state":"finished","message":"ended (exit)""#,
        ),
        call(
            1200,
            14,
            "s4",
            "github",
            r#""token":1,"tool":"search","state":"started""#,
        ),
    ];
    for e in &events {
        app.ingest(e);
    }
    app
}

/// `A`: one row per agent session, the one waiting for its user on top; Enter shows its
/// calls; with several agents live the monitor opens on it by itself.
#[test]
fn the_agents_view() {
    let now = t(61_000);
    for (size, (w, h)) in [
        ("120x30", (120u16, 30u16)),
        ("80x24", (80, 24)),
        ("40x12", (40, 12)),
    ] {
        let mut app = agents_app();
        // Several agents at work: the monitor starts on the agents view.
        let first = render(&mut app, w, h, now);
        assert!(first.contains("Agents (A)"), "{first}");
        insta::assert_snapshot!(format!("agents_{size}"), first);
        let rows: Vec<&str> = first
            .lines()
            .filter(|l| l.starts_with(['⚑', '?', '▶', '‼', '✓', '·']))
            .collect();
        assert_eq!(rows.len(), 3, "{first}");
        assert!(rows[0].contains("claude-code"), "waiting on top: {first}");
        assert!(rows[0].contains("permission"), "{first}");
        assert!(
            rows[1].contains("codex") && rows[1].contains("working"),
            "{first}"
        );
        assert!(
            rows[2].contains("gemini") && rows[2].contains("ended"),
            "{first}"
        );
        if w >= 80 {
            assert!(rows[0].contains(" 5, 1 subagent"), "{first}");
            assert!(rows[1].contains("1 failed"), "{first}");
        }
        // Enter on the first: the table, its calls only, the subagent's shown as such.
        app.handle_key(Key::Enter, now);
        let table = render(&mut app, w, h, now);
        assert_eq!(app.view.filter, "in:s1");
        if w >= 120 {
            // The session by its label, as a person knows it.
            assert!(table.contains("filter in:claude-code · shop"), "{table}");
        }
        assert!(
            !table.contains("npm test") && !table.contains("README"),
            "{table}"
        );
        // The subagent's column, where what the calls say leaves it room.
        if w >= 120 {
            let grep = table
                .lines()
                .find(|l| l.contains("Grep"))
                .unwrap_or_default();
            assert!(grep.contains("Explore"), "{table}");
        }
        // Esc clears the filter; the view does not come back by itself.
        app.handle_key(Key::Esc, now);
        let table = render(&mut app, w, h, t(62_500));
        assert!(!table.contains("Agents (A)"), "{table}");
        // The header says who waits on the user, and for how long.
        let header: String = table.lines().take(4).collect::<Vec<_>>().join("\n");
        assert!(header.contains("claude-code · shop: Bash"), "{table}");
        if w >= 80 {
            assert!(header.contains("waits for permission"), "{table}");
        }
        // j moves the cursor; A again goes back to the table.
        app.handle_key(Key::Char('A'), now);
        app.handle_key(Key::Char('j'), now);
        app.handle_key(Key::Enter, now);
        render(&mut app, w, h, now);
        assert_eq!(app.view.filter, "in:s2");
    }
    // The timeline: the subagent's calls together, marked, though Codex's came between.
    let mut agents = agents_app();
    agents.handle_key(Key::Char('W'), now);
    let timeline = render(&mut agents, 120, 30, now);
    let line_of = |label: &str| timeline.lines().position(|l| l.contains(label));
    let (grep, read) = (line_of("↳ Grep"), line_of("↳ Read"));
    assert!(grep.is_some() && read == grep.map(|g| g + 1), "{timeline}");

    // With no agents: the view says how to get some.
    let mut app = app();
    app.handle_key(Key::Char('A'), t(4_500));
    let empty = render(&mut app, 80, 24, t(4_500));
    assert!(empty.contains("no agent session yet"), "{empty}");
}
