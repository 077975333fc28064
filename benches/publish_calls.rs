//! What keeping the open calls costs a stream: `call` events are read (their token and
//! state) as they are published, so a monitor that attaches later gets the calls open then.
//!
//! `cargo bench --bench publish_calls`. One session stream (extensions on, the default
//! ring) publishes, with no subscriber:
//! - `progress`: 154-byte progress events (never read): the baseline, in the same run;
//! - `calls`: call events of about the same size, a `started` then a `finished` for each
//!   token, 64 calls open at a time;
//! - `calls_open_1024`: the same with 1,024 calls open (the most a stream remembers).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mcptop::server::{EventKind, SessionEvents};
use mcptop::time::Time;

const PROGRESS: &str = r#"{"token":1000001,"progress":41,"total":100,"message":"compiling crate 41 of 100","tool":"build_project","timestamp":"2026-11-22T05:58:24.293106306+00:00"}"#;

fn call(token: u64, state: &str) -> String {
    format!(
        r#"{{"token":{token},"tool":"build_project","state":"{state}","timestamp":"2026-11-22T05:58:24.293106306+00:00","message":"compiling crate 41 of 100"}}"#
    )
}

fn bench(c: &mut Criterion) {
    let now = Time::from_unix_nanos(1_796_000_000_000_000_000);
    let mut group = c.benchmark_group("publish_calls");
    group.throughput(Throughput::Elements(1));
    let events = SessionEvents::new(1024, 1024, true);
    group.bench_function("progress", |b| {
        b.iter(|| events.publish_event(EventKind::Progress, &[PROGRESS], now))
    });
    for open in [64u64, 1024] {
        let events = SessionEvents::new(1024, 1024, true);
        // Each iteration publishes one event: a started, or the finished of the call
        // started `open` events before.
        let starts: Vec<String> = (0..4096).map(|t| call(t, "started")).collect();
        let ends: Vec<String> = (0..4096).map(|t| call(t, "finished")).collect();
        for start in starts.iter().take(open as usize) {
            events.publish_event(EventKind::Call, &[start], now);
        }
        let mut n = 0usize;
        let name = if open == 64 {
            "calls".to_owned()
        } else {
            format!("calls_open_{open}")
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let i = n / 2;
                let event = if n.is_multiple_of(2) {
                    &starts[(i + open as usize) % 4096]
                } else {
                    &ends[i % 4096]
                };
                n += 1;
                events.publish_event(EventKind::Call, &[event], now)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
