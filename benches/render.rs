//! Rendering the monitor: a model holding 10,000 calls drawn into a 200×50 frame.
//!
//! `cargo bench --bench render`. Baseline in the same run: drawing an empty frame of the
//! same size (the fixed cost of a ratatui draw on the test backend), so the figure to
//! compare between runs is the ratio.

use chrono::TimeDelta;
use criterion::{criterion_group, criterion_main, Criterion};
use mcptop::model::ModelConfig;
use mcptop::report::Feed;
use mcptop::source::{SourceEvent, Timed};
use mcptop::time::Time;
use mcptop::ui::app::{App, SourceLabel};
use mcptop::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const CALLS: usize = 10_000;

fn busy_app() -> (App, Time) {
    let start = Time::from_unix_nanos(1_800_000_000_000_000_000);
    let mut app = App::new(SourceLabel::default(), start);
    app.feed = Feed::new(ModelConfig {
        max_calls: CALLS + 100,
        ..ModelConfig::default()
    });
    let tools = [
        "run_tests",
        "index_repo",
        "download_artifact",
        "build_project",
        "fetch_url",
    ];
    for i in 0..CALLS {
        for step in 1..=3u32 {
            let at = start + TimeDelta::milliseconds((i * 3 + step as usize) as i64);
            let data = format!(
                r#"{{"token":{i},"progress":{step},"total":10,"message":"step {step} of call {i}","tool":"{}"}}"#,
                tools[i % tools.len()]
            );
            app.ingest(&Timed {
                at,
                event: SourceEvent::Event {
                    event_type: "message".into(),
                    data,
                    id: String::new(),
                },
            });
        }
    }
    let now = start + TimeDelta::seconds(40);
    (app, now)
}

fn bench(c: &mut Criterion) {
    let (mut app, now) = busy_app();
    assert_eq!(app.model().len(), CALLS);
    let theme = Theme {
        color: true,
        ..Theme::plain()
    };
    let mut group = c.benchmark_group("render_200x50");
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    group.bench_function("empty_frame_baseline", |b| {
        b.iter(|| {
            terminal.draw(|_| {}).expect("draw");
        });
    });
    group.bench_function("table_10000_calls", |b| {
        b.iter(|| {
            terminal
                .draw(|f| mcptop::ui::draw(f, &mut app, now, 0, theme))
                .expect("draw");
        });
    });
    // `W`: the same calls as bars on a time axis.
    app.handle_key(mcptop::ui::app::Key::Char('W'), now);
    group.bench_function("timeline_10000_calls", |b| {
        b.iter(|| {
            terminal
                .draw(|f| mcptop::ui::draw(f, &mut app, now, 0, theme))
                .expect("draw");
        });
    });
    app.handle_key(mcptop::ui::app::Key::Esc, now);
    // The findings are refreshed at most once a second, not per frame: their cost here
    // (all 10,000 calls stalled, the worst case) is paid once a second.
    group.bench_function("findings_10000_stalled_calls", |b| {
        b.iter(|| app.model().findings(now).len());
    });
    // The header's counts: computed in the frame after any call starts or ends, so the
    // header never counts a call the table shows otherwise (paid at most once a frame).
    group.bench_function("header_counts_10000_calls", |b| {
        b.iter(|| app.model().counts(now));
    });
    // `A`: 10,000 calls of 50 agent sessions (their hooks' reports), one row per session.
    let (mut agents, now) = agents_app();
    agents.handle_key(mcptop::ui::app::Key::Char('A'), now);
    group.bench_function("agents_view_50_sessions_10000_calls", |b| {
        b.iter(|| {
            terminal
                .draw(|f| mcptop::ui::draw(f, &mut agents, now, 0, theme))
                .expect("draw");
        });
    });
    // Once a second, with the findings: whether several agents are live.
    group.bench_function("live_agents_10000_calls", |b| {
        b.iter(|| agents.model().live_agents(now, TimeDelta::minutes(10)));
    });
    group.finish();
}

/// 10,000 calls reported by the hooks of 50 agent sessions, a tenth still running.
fn agents_app() -> (App, Time) {
    let start = Time::from_unix_nanos(1_800_000_000_000_000_000);
    let mut app = App::new(SourceLabel::default(), start);
    app.feed = Feed::new(ModelConfig {
        max_calls: CALLS + 100,
        ..ModelConfig::default()
    });
    let event = |at: Time, data: String| Timed {
        at,
        event: SourceEvent::Event {
            event_type: "call".into(),
            data,
            id: String::new(),
        },
    };
    for i in 0..CALLS {
        let at = start + TimeDelta::milliseconds(i as i64 * 3);
        let session = i % 50;
        let head = format!(
            r#""session":"s{session}","session_label":"claude-code · project-{session}","token":"toolu_{i}","tool":"Bash""#
        );
        app.ingest(&event(
            at,
            format!(r#"{{{head},"state":"started","origin":"hook","message":"cargo test -p crate-{i}"}}"#),
        ));
        if i % 10 != 0 {
            app.ingest(&event(at, format!(r#"{{{head},"state":"finished"}}"#)));
        }
    }
    (app, start + TimeDelta::seconds(40))
}

criterion_group!(benches, bench);
criterion_main!(benches);
