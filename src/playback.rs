//! A whole recording played through the model at its own times: what `check`, `diff`,
//! `baseline` and `export` judge or report. Each keeps every call of the recording (up to
//! [`MAX_CALLS`]: a recording is from outside) with the history it needs.

use chrono::TimeDelta;

use crate::feed::Feed;
use crate::model::{HistoryLimits, Model, ModelConfig};
use crate::recording::Opened;
use crate::source::Timed;
use crate::time::Time;

/// Calls kept at most (the oldest finished go first past it).
pub const MAX_CALLS: usize = 200_000;

/// A model that keeps every call for good, each with `history`.
pub fn feed(history: HistoryLimits) -> Feed {
    Feed::new(ModelConfig {
        max_calls: MAX_CALLS,
        retention: TimeDelta::MAX,
        history,
        ..ModelConfig::default()
    })
}

/// `recording` played through [`feed`] with a short history: the model, and when the
/// recording ended.
pub fn play(recording: Opened) -> (Model, Time) {
    let mut feed = feed(HistoryLimits {
        samples: 4,
        messages: 2,
    });
    let mut end = recording.started_at;
    let tape = recording.tape;
    for i in 0..tape.len() {
        let Some(event) = tape.event(i) else { continue };
        let at = recording.started_at + TimeDelta::from_std(tape.at(i)).unwrap_or(TimeDelta::MAX);
        end = end.max(at);
        feed.apply(&Timed { at, event });
    }
    (feed.model, end)
}
