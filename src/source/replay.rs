//! The replay source: a recording, or a raw SSE capture (`curl -N` output), fed through
//! the same pipeline as a live stream, with its timing.
//!
//! Every event keeps the time it had when recorded (so rates, ETAs and lag findings come
//! out as they did live); only the pacing changes: `speed` scales the waits,
//! `idle_limit` shortens long quiet spells, `start_at` plays everything before that
//! offset at once (the state is built, nothing is skipped).

use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{LinkStatus, SourceEvent, Stop, Timed};
pub use crate::recording::{from_sse, load, Speed};
use crate::recording::{Recording, Tape};
use crate::time::Time;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    pub speed: Speed,
    /// Quiet spells longer than this (in recording time) are cut to it.
    pub idle_limit: Option<Duration>,
    /// Everything before this offset plays at once.
    pub start_at: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            speed: Speed::Factor(1.0),
            idle_limit: None,
            start_at: Duration::ZERO,
        }
    }
}

/// Plays a recording into `tx`, then reports the end.
pub async fn play(
    recording: Recording,
    pacing: Pacing,
    tx: mpsc::Sender<Timed>,
    stop: CancellationToken,
) -> Stop {
    play_tape(
        recording.started_at,
        Box::new(recording.items),
        pacing,
        tx,
        stop,
    )
    .await
}

/// As [`play`], from a tape: a recording on disk is read as it plays, never held whole.
pub async fn play_tape(
    started_at: Time,
    tape: Box<dyn Tape + Send>,
    pacing: Pacing,
    tx: mpsc::Sender<Timed>,
    stop: CancellationToken,
) -> Stop {
    let clock = tokio::time::Instant::now();
    let mut wall = Duration::ZERO; // playback time so far
    let mut previous = Duration::ZERO; // recording offset of the previous item
    let mut last_at = started_at;
    for i in 0..tape.len() {
        let offset = tape.at(i);
        let Some(event) = tape.event(i) else {
            continue;
        };
        let mut gap = offset.saturating_sub(previous);
        previous = offset;
        if let Some(limit) = pacing.idle_limit {
            gap = gap.min(limit);
        }
        if offset > pacing.start_at {
            if let Speed::Factor(f) = pacing.speed {
                wall += gap.div_f64(f);
                tokio::select! {
                    _ = stop.cancelled() => return Stop::Fatal("stopped".into()),
                    _ = tokio::time::sleep_until(clock + wall) => {}
                }
            }
        }
        last_at = started_at + TimeDelta::from_std(offset).unwrap_or_default();
        if tx.send(Timed { at: last_at, event }).await.is_err() {
            return Stop::Fatal("the consumer went away".into());
        }
    }
    let end = Timed {
        at: last_at,
        event: SourceEvent::Status(LinkStatus::Stopped(Stop::EndOfRecording)),
    };
    let _ = tx.send(end).await;
    Stop::EndOfRecording
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::SourceInfo;
    use crate::time::Time;

    #[test]
    fn speed_parses() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2x".parse::<Speed>(), Ok(Speed::Factor(2.0)));
        assert!("0".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
        for extreme in ["1e-300", "1e300", "inf", "NaN", "-2"] {
            assert!(extreme.parse::<Speed>().is_err(), "{extreme}");
        }
    }

    #[test]
    fn raw_captures_are_timed_by_their_stamps() {
        let sse = concat!(
            "data: {\"token\":1,\"progress\":1,\"timestamp\":\"2026-01-01T00:00:00Z\"}\n\n",
            ":\n\n",
            "event: call\ndata: {\"token\":1,\"tool\":\"t\",\"state\":\"finished\",\"timestamp\":\"2026-01-01T00:00:02.5Z\"}\n\n",
        );
        let r = from_sse(sse.as_bytes(), Time::from_unix_nanos(0));
        let offsets: Vec<Duration> = r.items.iter().map(|(d, _)| *d).collect();
        assert_eq!(
            offsets,
            [Duration::ZERO, Duration::ZERO, Duration::from_millis(2500)]
        );
        assert_eq!(r.items[1].1, SourceEvent::KeepAlive);
        assert_eq!(r.started_at.to_string(), "2026-01-01T00:00:00Z");
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_scales_caps_and_starts_late() {
        let event = |n: u32| SourceEvent::Event {
            event_type: "message".into(),
            data: n.to_string(),
            id: String::new(),
        };
        let recording = Recording {
            started_at: Time::from_unix_nanos(0),
            source: SourceInfo::default(),
            notes: Vec::new(),
            skipped: 0,
            items: vec![
                (Duration::from_secs(0), event(0)),
                (Duration::from_secs(10), event(1)),
                (Duration::from_secs(100), event(2)),
                (Duration::from_secs(104), event(3)),
            ],
        };
        let (tx, mut rx) = mpsc::channel(16);
        let pacing = Pacing {
            speed: Speed::Factor(2.0),
            idle_limit: Some(Duration::from_secs(20)),
            start_at: Duration::from_secs(10),
        };
        let started = tokio::time::Instant::now();
        let stop = play(recording, pacing, tx, CancellationToken::new()).await;
        assert_eq!(stop, Stop::EndOfRecording);
        // 0 and 10 s play at once; 100 s waits min(90, 20) / 2 = 10 s; 104 s 2 s more.
        assert_eq!(started.elapsed(), Duration::from_secs(12));
        let mut times = Vec::new();
        while let Ok(t) = rx.try_recv() {
            times.push(t.at.unix_nanos() / 1_000_000_000);
        }
        assert_eq!(times, [0, 10, 100, 104, 104], "recorded times are kept");
    }
}
