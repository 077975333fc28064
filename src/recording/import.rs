//! A raw SSE capture (`curl -N` output) read as a recording, timed by its events' own
//! timestamps.

use std::time::Duration;

use crate::event::SourceEvent;
use crate::sse::{Decoder, Item, Limits};
use crate::time::Time;
use crate::wire::{decode_event, Frame};

use super::{Recording, SourceInfo};

/// A raw capture: every event and keep-alive, timed by the events' own timestamps where
/// they have them (a capture holds no arrival times); `fallback_start` when none has.
pub fn from_sse(bytes: &[u8], fallback_start: Time) -> Recording {
    let mut decoder = Decoder::new(Limits::default());
    let mut stamped: Vec<(Option<Time>, SourceEvent)> = Vec::new();
    decoder.feed(bytes, &mut |item| match item {
        Item::Event(e) => {
            let stamp = match decode_event(e.event_type, e.data, e.last_event_id) {
                Frame::Progress(p) => p.timestamp,
                Frame::Call(c) => c.timestamp,
                _ => None,
            };
            stamped.push((
                stamp,
                SourceEvent::Event {
                    event_type: e.event_type.to_owned(),
                    data: e.data.to_owned(),
                    id: e.last_event_id.to_owned(),
                },
            ));
        }
        Item::Comment => stamped.push((None, SourceEvent::KeepAlive)),
        Item::Dropped(dropped) => stamped.push((
            None,
            SourceEvent::Discarded {
                reason: crate::sse::discard_reason(&dropped),
            },
        )),
        Item::Retry(_) => {}
    });
    let start = stamped
        .iter()
        .find_map(|(t, _)| *t)
        .unwrap_or(fallback_start);
    let mut last = Duration::ZERO;
    let items = stamped
        .into_iter()
        .map(|(t, event)| {
            if let Some(t) = t {
                // Never back in time: an out-of-order stamp plays at once.
                last = last.max((t - start).to_std().unwrap_or(Duration::ZERO));
            }
            (last, event)
        })
        .collect();
    Recording {
        started_at: start,
        source: SourceInfo::default(),
        items,
        notes: Vec::new(),
        skipped: 0,
    }
}
