//! Replay in the monitor: a recording held in memory and a clock over it. Events keep
//! their recorded times; seeking back re-derives the state by replaying from the start
//! (the model is pure, so the same events give the same screen).

use std::time::Duration;

use chrono::TimeDelta;

use super::keys::{Action, Key};
use crate::feed::Feed;
use crate::recording::{Opened, Recording, Tape};
use crate::time::Time;

pub struct Player {
    pub name: String,
    /// The recording's items, in memory or read from its file as they play.
    items: Box<dyn Tape + Send>,
    started_at: Time,
    pub length: Duration,
    /// The next item to apply.
    next: usize,
    pub position: Duration,
    pub speed: f64,
    pub playing: bool,
}

const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

impl Player {
    pub fn new(name: String, recording: Recording) -> Player {
        Player::of(name, recording.started_at, Box::new(recording.items))
    }

    /// A recording opened for replay (a large one is read from its file as it plays).
    pub fn opened(name: String, opened: Opened) -> Player {
        Player::of(name, opened.started_at, opened.tape)
    }

    fn of(name: String, started_at: Time, items: Box<dyn Tape + Send>) -> Player {
        let length = items
            .len()
            .checked_sub(1)
            .map_or(Duration::ZERO, |i| items.at(i));
        Player {
            name,
            items,
            started_at,
            length,
            next: 0,
            position: Duration::ZERO,
            speed: 1.0,
            playing: true,
        }
    }

    /// The recorded time the replay is at: the monitor's "now".
    pub fn clock(&self) -> Time {
        self.started_at + TimeDelta::from_std(self.position).unwrap_or_default()
    }

    fn apply_until(&mut self, position: Duration, feed: &mut Feed) {
        while self.next < self.items.len() {
            let at = self.items.at(self.next);
            if at > position {
                break;
            }
            if let Some(event) = self.items.event(self.next) {
                let at = self.started_at + TimeDelta::from_std(at).unwrap_or_default();
                feed.apply(&crate::event::Timed { at, event });
            }
            self.next += 1;
        }
        self.position = position.min(self.length);
        if self.next == self.items.len() {
            self.playing = false;
        }
    }

    /// Moves the clock on by `wall` of real time (scaled by the speed).
    pub fn advance(&mut self, wall: Duration, feed: &mut Feed) {
        if self.playing {
            let to = self.position + wall.mul_f64(self.speed);
            self.apply_until(to, feed);
        }
    }

    /// Jumps to `to`; going back starts again from an empty model.
    pub fn seek(&mut self, to: Duration, feed: &mut Feed) {
        let to = to.min(self.length);
        if to < self.position {
            *feed = Feed::new(feed.model.config().clone());
            self.next = 0;
            self.position = Duration::ZERO;
        }
        self.apply_until(to, feed);
    }

    /// One event forward (paused).
    pub fn step(&mut self, feed: &mut Feed) {
        self.playing = false;
        if self.next < self.items.len() {
            let at = self.items.at(self.next);
            // Everything at that same instant goes with it, as it did live.
            self.apply_until(at, feed);
        }
    }

    /// One event back (paused): the state re-derived from the start without it.
    pub fn step_back(&mut self, feed: &mut Feed) {
        self.playing = false;
        let keep = self.next.saturating_sub(1);
        *feed = Feed::new(feed.model.config().clone());
        for i in 0..keep {
            if let Some(event) = self.items.event(i) {
                feed.apply(&crate::event::Timed {
                    at: self.started_at + TimeDelta::from_std(self.items.at(i)).unwrap_or_default(),
                    event,
                });
            }
        }
        self.next = keep;
        self.position = keep
            .checked_sub(1)
            .map_or(Duration::ZERO, |i| self.items.at(i));
    }

    /// The previous or next connection change (the recording's markers).
    pub fn marker(&mut self, forward: bool, feed: &mut Feed) {
        let here = self.position;
        let items = &self.items;
        let target = if forward {
            (0..items.len())
                .find(|&i| items.at(i) > here && items.is_marker(i))
                .map(|i| items.at(i))
        } else {
            (0..items.len())
                .rev()
                .find(|&i| items.at(i) + Duration::from_millis(500) < here && items.is_marker(i))
                .map(|i| items.at(i))
        };
        if let Some(to) = target {
            self.seek(to, feed);
        }
    }

    pub fn faster(&mut self) {
        self.speed = SPEEDS
            .iter()
            .copied()
            .find(|&s| s > self.speed)
            .unwrap_or(self.speed);
    }

    pub fn slower(&mut self) {
        self.speed = SPEEDS
            .iter()
            .rev()
            .copied()
            .find(|&s| s < self.speed)
            .unwrap_or(self.speed);
    }

    /// A replay's key (`action` in the replay's scope; `pause` when the key is the
    /// pause binding): `None` when it is not one; else whether the model was derived
    /// again (a step or a seek), which restarts the event rate.
    pub fn handle(
        &mut self,
        key: Key,
        action: Option<Action>,
        pause: bool,
        feed: &mut Feed,
    ) -> Option<bool> {
        let five = Duration::from_secs(5);
        match action {
            _ if pause => {
                self.playing = !self.playing;
                return Some(false);
            }
            Some(Action::StepForward) => self.step(feed),
            Some(Action::StepBack) => self.step_back(feed),
            Some(Action::SeekForward) => self.seek(self.position + five, feed),
            Some(Action::SeekBack) => self.seek(self.position.saturating_sub(five), feed),
            Some(Action::SeekTenths) => {
                // Only a digit says how many tenths.
                let Key::Char(d @ '0'..='9') = key else {
                    return None;
                };
                let tenth = u32::from(d) - u32::from('0');
                self.seek(self.length * tenth / 10, feed);
            }
            Some(Action::Faster) => {
                self.faster();
                return Some(false);
            }
            Some(Action::Slower) => {
                self.slower();
                return Some(false);
            }
            Some(Action::NextMarker) => self.marker(true, feed),
            Some(Action::PreviousMarker) => self.marker(false, feed),
            _ => return None,
        }
        Some(true)
    }

    /// `REPLAY name 00:42/03:10 ×2` (and PAUSED when stopped).
    pub fn header(&self) -> String {
        let mmss = |d: Duration| format!("{:02}:{:02}", d.as_secs() / 60, d.as_secs() % 60);
        let speed = if self.speed.fract() == 0.0 {
            format!("×{}", self.speed as u64)
        } else {
            format!("×{}", self.speed)
        };
        let state = if self.playing { "" } else { " ‖" };
        format!(
            "REPLAY {} {}/{} {speed}{state}",
            self.name,
            mmss(self.position),
            mmss(self.length)
        )
    }
}
