//! What the screen shows and how keys change it. No terminal here: [`App::handle_key`]
//! takes a key, [`App::ingest`] takes source events, and the views read the state.

use crate::event::{LinkStatus, SourceEvent, Timed};
use crate::feed::Feed;
use crate::model::{CallId, Connection, Model};
use crate::time::Time;

use super::rows::{rows, RowView};
use super::view::ViewOptions;

/// Where the data comes from, for the header.
#[derive(Debug, Clone, Default)]
pub struct SourceLabel {
    /// `127.0.0.1:40123`, a file name, …
    pub daemon: String,
    pub transport: String,
    pub session: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Table,
    Detail(CallId),
    Help,
    /// `C`: which columns show, toggled live.
    Columns,
    /// `T`: per-tool statistics.
    Stats,
    /// `W`: the calls as bars on a time axis.
    Timeline,
    /// `I`: the servers behind the sessions and their tools.
    Servers,
}

pub use super::keys::Key;

/// The link as the header names it: state, not strings compared against `"CONNECTED"`;
/// rendered to words only by [`LinkState::words`].
#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    Connecting,
    /// A new attempt after a drop.
    Reconnecting,
    /// Down; the next attempt is due at this moment (the header counts down to it).
    RetryingAt(Time),
    Connected,
    /// Connected, but no byte for longer than a keep-alive allows.
    Stale,
    Stopped,
    /// No daemon yet: the monitor waits for one.
    Waiting,
    /// Playing a recording: what the player says of itself.
    Replay(String),
}

impl LinkState {
    /// The header's words for it at `now`.
    pub fn words(&self, now: Time) -> String {
        match self {
            LinkState::Connecting => "CONNECTING".into(),
            LinkState::Reconnecting => "RECONNECTING".into(),
            LinkState::RetryingAt(at) => {
                let left = at.secs_since(now).max(0.0).ceil();
                format!("RECONNECTING IN {left:.0}s")
            }
            LinkState::Connected => "CONNECTED".into(),
            LinkState::Stale => "STALE".into(),
            LinkState::Stopped => "STOPPED".into(),
            LinkState::Waiting => "WAITING FOR A DAEMON".into(),
            LinkState::Replay(text) => text.clone(),
        }
    }
}

/// A frozen table while paused: the model keeps consuming underneath.
#[derive(Debug, Clone)]
pub struct Paused {
    pub since: Time,
    pub rows: Vec<RowView>,
    /// The header's counts as they were: the header holds still with the rows.
    pub counts: crate::model::StateCounts,
    pub events_at_pause: u64,
}

pub struct App {
    pub feed: Feed,
    pub source: SourceLabel,
    pub screen: Screen,
    /// The selected call: selection follows the call, not a row number.
    pub selected: Option<CallId>,
    /// The timeline's zoom: each step halves the time it spans (0: every call).
    pub timeline_zoom: u8,
    /// How far the servers view is scrolled (the draw holds it to the end).
    pub servers_scroll: usize,
    pub paused: Option<Paused>,
    pub quit: bool,
    /// The link's state, for the header.
    pub connection: LinkState,
    pub last_stop: Option<String>,
    /// Why the link is down, while it is (cleared when it is back).
    pub link_down: Option<String>,
    /// Why the source stopped, for the line printed after the screen closes.
    pub stopped: Option<crate::event::Stop>,
    /// Call updates seen (for `--count`).
    pub call_updates: u64,
    /// Events per second, smoothed.
    pub rate: f64,
    rate_window: (Time, u64),
    /// Whether something changed since the last draw.
    pub dirty: bool,
    /// Rows above the visible part of the table.
    pub scroll: usize,
    /// Visible table rows at the last draw (for PgUp/PgDn).
    pub page: usize,
    /// Filter, findings only, sort.
    pub view: ViewOptions,
    /// While `/` is being typed: the filter to go back to on Esc.
    pub editing: Option<String>,
    /// Text the event loop should put on the clipboard (OSC 52).
    pub clipboard: Option<String>,
    /// A short note for the footer, and until when it shows.
    pub flash: Option<(String, Time)>,
    /// Lines the help is scrolled down.
    pub help_scroll: u16,
    /// Messages the detail view is scrolled down (held to its end when drawn).
    pub detail_scroll: usize,
    /// What `/` searches for in the detail view (matches are highlighted).
    pub detail_query: String,
    /// While the search is typed: the query before it (Esc puts it back).
    pub detail_search_edit: Option<String>,
    /// Which match `n`/`N` stepped to (taken modulo the matches by the draw).
    pub detail_match: i64,
    /// The next draw scrolls to the current match.
    pub detail_jump: bool,
    /// The model's findings, refreshed at most once a second (or at once after news
    /// about the stream), so a frame never re-checks ten thousand calls.
    pub findings: Vec<crate::model::Finding>,
    findings_at: Option<Time>,
    findings_due: bool,
    /// A call started or ended since the findings were made: they are refreshed on the
    /// next second's tick, which the loop wakes for even when nothing else moves.
    findings_behind: bool,
    /// Replaying a recording instead of watching live.
    pub player: Option<super::player::Player>,
    /// `f`: the selection follows the newest call as calls start.
    pub follow: bool,
    /// The last raw event of each call (its type and data), for the detail view.
    pub raw: std::collections::HashMap<CallId, (String, String)>,
    /// Rows below the table's window at the last draw, and how many of them run.
    pub below: (usize, usize),
    /// Running calls above the table's window at the last draw (scrolled past).
    pub running_above: usize,
    /// What each key does (the config file's `[keys]` over the defaults).
    pub keys: super::keys::KeyMap,
    /// The table's columns in display order, each shown or not (`C` toggles them).
    pub columns: Vec<(super::columns::Column, bool)>,
    /// The column chooser's cursor.
    pub column_cursor: usize,
    /// The table's own state between frames.
    pub table: super::columns::TableState,
    /// Findings dismissed with `x`: their kind and call, and the stream's loss counters
    /// then (a stream finding comes back when they grow).
    dismissed: Vec<(crate::model::FindingKind, Option<CallId>)>,
    dismissed_at: (u64, u64, u64, usize),
    /// Calls by state, refreshed with the findings.
    pub counts: crate::model::StateCounts,
    /// The model's display order and how many of its first calls run, for the model
    /// generation it was made at: a frame reuses it until calls come, end or go.
    order: (u64, usize, Vec<CallId>),
    /// The timeline's order (calls by start) for the model generation it was made at.
    timeline: (u64, Vec<CallId>),
    counts_at: Option<Time>,
    counts_due: bool,
}

impl App {
    pub fn new(source: SourceLabel, now: Time) -> App {
        App {
            feed: Feed::default(),
            source,
            screen: Screen::Table,
            selected: None,
            timeline_zoom: 0,
            servers_scroll: 0,
            paused: None,
            quit: false,
            connection: LinkState::Connecting,
            last_stop: None,
            stopped: None,
            call_updates: 0,
            link_down: None,
            rate: 0.0,
            rate_window: (now, 0),
            dirty: true,
            scroll: 0,
            page: 10,
            view: ViewOptions::default(),
            editing: None,
            clipboard: None,
            flash: None,
            help_scroll: 0,
            detail_scroll: 0,
            detail_query: String::new(),
            detail_search_edit: None,
            detail_match: 0,
            detail_jump: false,
            findings: Vec::new(),
            findings_at: None,
            findings_due: true,
            findings_behind: false,
            player: None,
            follow: false,
            raw: std::collections::HashMap::new(),
            below: (0, 0),
            running_above: 0,
            keys: super::keys::KeyMap::default(),
            columns: super::columns::Column::DEFAULT
                .iter()
                .map(|&c| (c, true))
                .collect(),
            column_cursor: 0,
            table: Default::default(),
            dismissed: Vec::new(),
            dismissed_at: (0, 0, 0, 0),
            counts: crate::model::StateCounts::default(),
            order: (0, 0, Vec::new()),
            timeline: (0, Vec::new()),
            counts_at: None,
            counts_due: true,
        }
    }

    /// The time the screen shows: the replay's clock when replaying, else `wall`.
    pub fn clock(&self, wall: Time) -> Time {
        self.player.as_ref().map_or(wall, |p| p.clock())
    }

    /// Moves a replay on by `wall` of real time.
    pub fn advance(&mut self, wall: std::time::Duration) {
        if let Some(player) = &mut self.player {
            let before = player.position;
            player.advance(wall, &mut self.feed);
            if player.position != before {
                self.findings_due = true;
                self.dirty = true;
            }
            self.connection = LinkState::Replay(player.header());
        }
    }

    /// The replay keys; true when the key was one.
    fn replay_key(&mut self, key: Key) -> bool {
        // Play and pause follow the pause binding (the config may move it).
        let pause = self.keys.action(key) == Some(super::keys::Action::Pause);
        let Some(player) = &mut self.player else {
            return false;
        };
        let feed = &mut self.feed;
        let five = std::time::Duration::from_secs(5);
        match key {
            _ if pause => player.playing = !player.playing,
            Key::Char('.') => player.step(feed),
            Key::Char(',') => player.step_back(feed),
            Key::Right => player.seek(player.position + five, feed),
            Key::Left => player.seek(player.position.saturating_sub(five), feed),
            Key::Char(d @ '0'..='9') => {
                let tenth = u32::from(d) - u32::from('0');
                player.seek(player.length * tenth / 10, feed);
            }
            Key::Char('+') | Key::Char('=') => player.faster(),
            Key::Char('-') => player.slower(),
            Key::Char(']') => player.marker(true, feed),
            Key::Char('[') => player.marker(false, feed),
            _ => return false,
        }
        // A seek rebuilds the model: the event rate starts over from here, or it would
        // count the jump as events per second.
        if !pause && !matches!(key, Key::Char('+' | '=' | '-')) {
            self.rate = 0.0;
            self.rate_window = (player.clock(), self.feed.model.stream().events);
        }
        self.connection = LinkState::Replay(player.header());
        self.findings_due = true;
        true
    }

    pub fn model(&self) -> &Model {
        &self.feed.model
    }

    pub fn ingest(&mut self, timed: &Timed) {
        let news = |m: &Model| {
            let s = m.stream();
            (
                s.lagged_reports,
                s.id_gaps,
                s.reconnects.len(),
                m.last_error.is_some(),
            )
        };
        let before = news(&self.feed.model);
        let change = self.feed.apply(timed);
        if let (
            crate::model::Change::NewCall(id)
            | crate::model::Change::Updated(id)
            | crate::model::Change::Finished(id),
            SourceEvent::Event {
                event_type, data, ..
            },
        ) = (change, &timed.event)
        {
            // The last frame as the detail view shows it, at most 4 KiB of it.
            let cut = |s: &str| crate::sanitize::cut(s, 4096).into_owned();
            self.raw.insert(id, (cut(event_type), cut(data)));
            // Forget calls the model no longer holds.
            if self.raw.len() > 2 * self.feed.model.len() + 64 {
                let model = &self.feed.model;
                self.raw.retain(|id, _| model.call(*id).is_some());
            }
        }
        if matches!(
            change,
            crate::model::Change::NewCall(_) | crate::model::Change::Finished(_)
        ) {
            self.counts_due = true;
            self.findings_behind = true;
        }
        if matches!(
            change,
            crate::model::Change::NewCall(_)
                | crate::model::Change::Updated(_)
                | crate::model::Change::Finished(_)
        ) {
            self.call_updates += 1;
        }
        if self.follow && self.paused.is_none() {
            self.selected = self.feed.model.calls().last().map(|c| c.id);
        }
        // Stream news (loss, gaps, errors, connection changes) shows at once.
        if matches!(timed.event, SourceEvent::Status(_)) || news(&self.feed.model) != before {
            self.findings_due = true;
        }
        if let SourceEvent::Status(LinkStatus::Daemon { address, .. }) = &timed.event {
            // A restarted daemon (new port, new run): the header names the one watched.
            if self.player.is_none() && !address.is_empty() {
                self.source.daemon = address.clone();
            }
            self.findings_due = true;
            self.counts_due = true;
        } else if let SourceEvent::Status(status) = &timed.event {
            self.connection = match status {
                _ if self.player.is_some() => self.connection.clone(),
                LinkStatus::Connecting { attempt } if *attempt > 1 => LinkState::Reconnecting,
                LinkStatus::Connecting { .. } => LinkState::Connecting,
                LinkStatus::Connected { .. } => {
                    self.link_down = None;
                    LinkState::Connected
                }
                LinkStatus::Disconnected { retry_in, reason } => {
                    self.link_down = Some(reason.clone());
                    let wait =
                        chrono::TimeDelta::from_std(*retry_in).unwrap_or(chrono::TimeDelta::MAX);
                    LinkState::RetryingAt(timed.at + wait)
                }
                LinkStatus::Stopped(stop) => {
                    self.last_stop = Some(stop.message());
                    self.stopped = Some(stop.clone());
                    LinkState::Stopped
                }
                LinkStatus::Daemon { .. } | LinkStatus::DaemonCounts(_) => self.connection.clone(),
                LinkStatus::Waiting { reason } => {
                    self.link_down = Some(reason.clone());
                    LinkState::Waiting
                }
            };
        }
        self.dirty = true;
    }

    /// Once a second or so (and before each frame): smooth the event rate, expire old
    /// calls, refresh the findings when they are due.
    pub fn tick(&mut self, now: Time) {
        let owed = (self.counts_due, self.findings_behind);
        self.refresh_findings(now);
        if (owed.0 && !self.counts_due) || (owed.1 && !self.findings_behind) {
            // Counts or findings caught up with calls that started or ended.
            self.dirty = true;
        }
        let events = self.feed.model.stream().events;
        let (since, count) = self.rate_window;
        let secs = (now - since).as_seconds_f64();
        if secs >= 1.0 {
            let instant = (events - count) as f64 / secs;
            self.rate = if self.rate == 0.0 {
                instant
            } else {
                self.rate + (instant - self.rate) * 0.5
            };
            self.rate_window = (now, events);
        }
        self.feed.model.expire(now);
        let before = self.connection.clone();
        if self.is_stale(now) && self.connection == LinkState::Connected {
            self.connection = LinkState::Stale;
        } else if !self.is_stale(now) && self.connection == LinkState::Stale {
            self.connection = LinkState::Connected;
        }
        // Clocks on screen: running calls, the countdown to the next attempt, the age of
        // the last keep-alive.
        let clocks = matches!(self.connection, LinkState::RetryingAt(_))
            || self.feed.model.stream().last_keepalive.is_some()
            || self.feed.model.calls().any(|c| !c.status.is_finished());
        if self.connection != before || clocks {
            self.dirty = true;
        }
    }

    /// The stream's loss counters: a dismissed stream finding returns when one grows.
    fn loss_counters(&self) -> (u64, u64, u64, usize) {
        let s = self.feed.model.stream();
        (
            s.server_missed,
            s.id_gap_events,
            s.discarded,
            s.reconnects.len(),
        )
    }

    /// `x`: the findings shown go away until something new happens.
    fn dismiss_findings(&mut self) {
        self.dismissed = self.findings.iter().map(|f| (f.kind, f.call)).collect();
        self.dismissed_at = self.loss_counters();
        self.findings.clear();
    }

    /// How soon the header's counts or the findings are owed a refresh after calls
    /// started or ended, when they are: the loop wakes for it though nothing else moves
    /// (the last calls ending leave no clock on screen to wake it).
    pub fn refresh_owed(&self, now: Time) -> Option<std::time::Duration> {
        if self.player.is_some() {
            // A replay wakes each frame while it plays, and changes nothing while paused.
            return None;
        }
        let until = |at: Option<Time>, after_ms: i64| {
            at.map_or(std::time::Duration::ZERO, |at| {
                let left = after_ms - (now - at).num_milliseconds();
                std::time::Duration::from_millis(u64::try_from(left.max(0)).unwrap_or(0))
            })
        };
        let counts = self.counts_due.then(|| until(self.counts_at, 200));
        let findings = self.findings_behind.then(|| until(self.findings_at, 1000));
        match (counts, findings) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Recomputes the findings if news arrived or a second has passed.
    pub fn refresh_findings(&mut self, now: Time) {
        let refresh = self.findings_due
            || self
                .findings_at
                .is_none_or(|at| (now - at).num_milliseconds() >= 1000);
        // The header's counts follow calls starting and ending within a fifth of a second.
        let counts_stale = self.counts_due
            && self
                .counts_at
                .is_none_or(|at| (now - at).num_milliseconds() >= 200);
        if refresh || counts_stale {
            self.counts = self.feed.model.counts(now);
            self.counts_at = Some(now);
            self.counts_due = false;
        }
        if refresh {
            self.findings = if self.view.filter.trim().is_empty() {
                self.feed.model.findings(now)
            } else {
                // The findings follow the filter: only the calls it shows.
                let shown: std::collections::HashSet<CallId> =
                    self.rows(now).iter().map(|r| r.id).collect();
                self.feed.model.findings_for(now, |c| shown.contains(&c.id))
            };
            if !self.dismissed.is_empty() {
                if self.loss_counters() != self.dismissed_at {
                    // Something new: every finding may speak again.
                    self.dismissed.clear();
                } else {
                    let dismissed = &self.dismissed;
                    self.findings
                        .retain(|f| !dismissed.contains(&(f.kind, f.call)));
                }
            }
            self.findings_at = Some(now);
            self.findings_due = false;
            self.findings_behind = false;
        }
    }

    fn is_stale(&self, now: Time) -> bool {
        let stream = self.feed.model.stream();
        matches!(stream.connection, Connection::Connected { .. })
            && stream
                .last_activity
                .is_some_and(|t| now - t > self.feed.model.config().silent_after)
    }

    /// Whether rows show as the model holds them (no pause, filter or sort): then only
    /// the visible ones need to be built.
    fn plain_view(&self) -> bool {
        self.paused.is_none() && self.view == ViewOptions::default()
    }

    /// The ids of the rows on screen, in order.
    pub fn ids(&self, now: Time) -> Vec<CallId> {
        if self.plain_view() {
            self.feed.model.display_order()
        } else {
            self.rows(now).iter().map(|r| r.id).collect()
        }
    }

    /// The rows that fit in `visible` lines, scrolled so the selection shows, with the
    /// selection's index among them. With the plain view only those rows are built, so a
    /// frame costs the same with ten calls or ten thousand.
    /// The calls by start, oldest first (the timeline's rows), cached until the model's
    /// generation changes (a call's start never moves).
    pub fn timeline_order(&mut self) -> &[CallId] {
        let generation = self.feed.model.generation();
        if self.timeline.0 != generation {
            self.timeline = (generation, self.feed.model.ids_by_start());
        }
        &self.timeline.1
    }

    /// The timeline's order as last refreshed by [`App::timeline_order`].
    pub fn timeline_ids(&self) -> &[CallId] {
        &self.timeline.1
    }

    /// [`Model::display_order`], cached until the model's generation changes.
    fn refresh_order(&mut self) {
        let generation = self.feed.model.generation();
        if self.order.0 != generation {
            let order = self.feed.model.display_order();
            let model = &self.feed.model;
            let active = order
                .iter()
                .take_while(|&&id| model.call(id).is_some_and(|c| !c.status.is_finished()))
                .count();
            self.order = (generation, active, order);
        }
    }

    pub fn window(&mut self, now: Time, visible: usize) -> (Vec<RowView>, Option<usize>) {
        self.page = visible;
        let plain = self.plain_view();
        let all = if plain { Vec::new() } else { self.rows(now) };
        if plain {
            self.refresh_order();
        }
        let order = if plain {
            std::mem::take(&mut self.order.2)
        } else {
            Vec::new()
        };
        let total = if plain { order.len() } else { all.len() };
        // When the rows do not all fit, the last line says what lies below.
        let visible = if total > visible && visible > 1 {
            visible - 1
        } else {
            visible
        };
        self.page = visible;
        let selected = self.selected.and_then(|s| {
            if plain {
                order.iter().position(|&id| id == s)
            } else {
                all.iter().position(|r| r.id == s)
            }
        });
        if let Some(i) = selected {
            if i < self.scroll {
                self.scroll = i;
            } else if i >= self.scroll + visible {
                self.scroll = i + 1 - visible;
            }
        }
        self.scroll = self.scroll.min(total.saturating_sub(visible));
        // What lies below the window, for the table's last line.
        let running = |id: &CallId| {
            self.feed
                .model
                .call(*id)
                .is_some_and(|c| !c.status.is_finished())
        };
        let from = (self.scroll + visible).min(total);
        self.below = if plain {
            // Running calls come first in this order: those below are counted, not looked up.
            (order.len() - from, self.order.1.saturating_sub(from))
        } else {
            let rest = &all[from..];
            (rest.len(), rest.iter().filter(|r| running(&r.id)).count())
        };
        // A selection followed down into finished rows must not hide what still runs.
        self.running_above = if plain {
            self.order.1.min(self.scroll)
        } else {
            all[..self.scroll.min(all.len())]
                .iter()
                .filter(|r| running(&r.id))
                .count()
        };
        let window: Vec<RowView> = if plain {
            let model = &self.feed.model;
            order
                .iter()
                .skip(self.scroll)
                .take(visible)
                .filter_map(|&id| model.call(id))
                .map(|c| super::rows::row(model, c, now))
                .collect()
        } else {
            all.into_iter().skip(self.scroll).take(visible).collect()
        };
        if plain {
            self.order.2 = order;
        }
        let selected = selected
            .filter(|&i| i >= self.scroll && i < self.scroll + visible)
            .map(|i| i - self.scroll);
        (window, selected)
    }

    /// The rows on screen (the frozen ones while paused), filtered and sorted.
    pub fn rows(&self, now: Time) -> Vec<RowView> {
        let all = match &self.paused {
            Some(p) => p.rows.clone(),
            None => rows(&self.feed.model, now),
        };
        self.view.apply(all)
    }

    fn edit_filter(&mut self, key: Key) {
        self.findings_due = true;
        match key {
            Key::Char(c) => self.view.filter.push(c),
            Key::Backspace => {
                self.view.filter.pop();
            }
            Key::Enter => {
                self.editing = None;
                self.view.filter = self.view.filter.trim().to_owned();
                self.findings_due = true;
            }
            Key::Esc => {
                if let Some(before) = self.editing.take() {
                    self.view.filter = before;
                }
            }
            _ => {}
        }
    }

    fn copy(&mut self, json: bool, now: Time) {
        let Some(id) = self.selected else {
            self.flash = Some(("select a row to copy (j/k)".into(), now));
            return;
        };
        let Some(call) = self.feed.model.call(id) else {
            return;
        };
        let text = if json {
            crate::sanitize::json_string(&crate::feed::call_json(&self.feed.model, call, now))
        } else {
            self.rows(now)
                .into_iter()
                .find(|r| r.id == id)
                .map(|r| {
                    [
                        r.tool,
                        r.token,
                        r.state.as_str().to_owned(),
                        r.progress,
                        r.percent,
                        r.elapsed,
                        r.message,
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("  ")
                })
                .unwrap_or_default()
        };
        let what = if json { "the call as JSON" } else { "the row" };
        self.flash = Some((format!("copied {what} to the clipboard"), now));
        self.clipboard = Some(text);
    }

    pub fn handle_key(&mut self, key: Key, now: Time) {
        use super::keys::Action;
        self.dirty = true;
        if let Some(before) = &self.detail_search_edit {
            match key {
                Key::CtrlC => self.quit = true,
                Key::Char(c) => {
                    self.detail_query.push(c);
                    self.detail_match = 0;
                    self.detail_jump = true;
                }
                Key::Backspace => {
                    self.detail_query.pop();
                    self.detail_match = 0;
                    self.detail_jump = true;
                }
                Key::Enter => self.detail_search_edit = None,
                Key::Esc => {
                    self.detail_query = before.clone();
                    self.detail_search_edit = None;
                }
                _ => {}
            }
            return;
        }
        if self.editing.is_some() {
            if key == Key::CtrlC {
                self.quit = true;
            } else {
                self.edit_filter(key);
            }
            return;
        }
        let action = self.keys.action(key);
        if key == Key::CtrlC || action == Some(Action::Quit) {
            self.quit = true;
            return;
        }
        if !matches!(self.screen, Screen::Help | Screen::Columns) && self.replay_key(key) {
            return;
        }
        match self.screen {
            Screen::Timeline | Screen::Stats | Screen::Servers
                if matches!(
                    action,
                    Some(Action::Stats | Action::Timeline | Action::Servers)
                ) =>
            {
                // The views' keys move between them; a view's own key goes back.
                let target = match action {
                    Some(Action::Stats) => Screen::Stats,
                    Some(Action::Timeline) => Screen::Timeline,
                    _ => Screen::Servers,
                };
                self.screen = if self.screen == target {
                    Screen::Table
                } else {
                    target
                };
                return;
            }
            Screen::Timeline => {
                match (key, action) {
                    (Key::Esc, _) => self.screen = Screen::Table,
                    (Key::Char('+'), _) => self.timeline_zoom = (self.timeline_zoom + 1).min(12),
                    (Key::Char('-'), _) => {
                        self.timeline_zoom = self.timeline_zoom.saturating_sub(1)
                    }
                    (_, Some(Action::Down | Action::Up)) => {
                        let order = self.timeline_order().to_vec();
                        let at = self
                            .selected
                            .and_then(|id| order.iter().position(|c| *c == id));
                        let next = match (action, at) {
                            (Some(Action::Down), Some(i)) => {
                                (i + 1).min(order.len().saturating_sub(1))
                            }
                            (_, Some(i)) => i.saturating_sub(1),
                            (_, None) => order.len().saturating_sub(1),
                        };
                        self.selected = order.get(next).copied();
                        self.follow = false;
                    }
                    (Key::Enter, _) | (_, Some(Action::Detail)) => match self.selected {
                        Some(id) => self.screen = Screen::Detail(id),
                        None => {
                            self.flash = Some(("j/k to select a call first".into(), now));
                        }
                    },
                    (_, Some(Action::Help)) => self.screen = Screen::Help,
                    _ => {}
                }
                return;
            }
            Screen::Stats => {
                match (key, action) {
                    (Key::Esc | Key::Enter, _) => {
                        self.screen = Screen::Table;
                    }
                    (_, Some(Action::Help)) => self.screen = Screen::Help,
                    _ => {}
                }
                return;
            }
            Screen::Servers => {
                match (key, action) {
                    (Key::Esc | Key::Enter, _) => {
                        self.screen = Screen::Table;
                        self.servers_scroll = 0;
                    }
                    (Key::PageDown, _) | (_, Some(Action::PageDown)) => {
                        self.servers_scroll = self.servers_scroll.saturating_add(10);
                    }
                    (Key::PageUp, _) | (_, Some(Action::PageUp)) => {
                        self.servers_scroll = self.servers_scroll.saturating_sub(10);
                    }
                    (_, Some(Action::Down)) => {
                        self.servers_scroll = self.servers_scroll.saturating_add(1);
                    }
                    (_, Some(Action::Up)) => {
                        self.servers_scroll = self.servers_scroll.saturating_sub(1);
                    }
                    (_, Some(Action::First)) => self.servers_scroll = 0,
                    (_, Some(Action::Help)) => self.screen = Screen::Help,
                    _ => {}
                }
                return;
            }
            Screen::Help => {
                match (key, action) {
                    (Key::Esc | Key::Enter, _) | (_, Some(Action::Help)) => {
                        self.screen = Screen::Table;
                        self.help_scroll = 0;
                    }
                    (Key::PageDown, _) | (_, Some(Action::Down)) => {
                        // The draw holds it to the help's end.
                        self.help_scroll = self.help_scroll.saturating_add(3);
                    }
                    (Key::PageUp, _) | (_, Some(Action::Up)) => {
                        self.help_scroll = self.help_scroll.saturating_sub(3);
                    }
                    _ => {}
                }
                return;
            }
            Screen::Columns => {
                let last = self.columns.len().saturating_sub(1);
                match (key, action) {
                    (Key::Esc | Key::Enter, _) | (_, Some(Action::Columns)) => {
                        self.screen = Screen::Table;
                    }
                    (_, Some(Action::Down)) => {
                        self.column_cursor = (self.column_cursor + 1).min(last)
                    }
                    (_, Some(Action::Up)) => {
                        self.column_cursor = self.column_cursor.saturating_sub(1)
                    }
                    (Key::Char(' '), _) | (Key::Char('x'), _) => {
                        if let Some(entry) = self.columns.get_mut(self.column_cursor) {
                            entry.1 = !entry.1;
                        }
                    }
                    _ => {}
                }
                return;
            }
            Screen::Detail(_) => {
                // The detail's own keys: its messages scroll, the hidden table stays put.
                let page = self.page.max(1);
                match (key, action) {
                    (Key::Esc, _) if !self.detail_query.is_empty() => {
                        self.detail_query.clear();
                    }
                    (Key::Esc | Key::Enter | Key::Char('h'), _) | (_, Some(Action::Detail)) => {
                        self.screen = Screen::Table;
                        self.detail_scroll = 0;
                        self.detail_query.clear();
                    }
                    (_, Some(Action::Filter)) => {
                        self.detail_search_edit = Some(std::mem::take(&mut self.detail_query));
                    }
                    (Key::Char('n'), _) if !self.detail_query.is_empty() => {
                        self.detail_match = self.detail_match.saturating_add(1);
                        self.detail_jump = true;
                    }
                    (Key::Char('N'), _) if !self.detail_query.is_empty() => {
                        self.detail_match = self.detail_match.saturating_sub(1);
                        self.detail_jump = true;
                    }
                    (_, Some(Action::Down)) => self.detail_scroll += 1,
                    (_, Some(Action::Up)) => {
                        self.detail_scroll = self.detail_scroll.saturating_sub(1);
                    }
                    (_, Some(Action::PageDown)) => self.detail_scroll += page,
                    (_, Some(Action::PageUp)) => {
                        self.detail_scroll = self.detail_scroll.saturating_sub(page)
                    }
                    (_, Some(Action::First)) => self.detail_scroll = 0,
                    (_, Some(Action::Last)) => self.detail_scroll = usize::MAX / 2,
                    (_, Some(Action::Help)) => self.screen = Screen::Help,
                    (_, Some(Action::CopyRow)) => self.copy(false, now),
                    (_, Some(Action::CopyJson)) => self.copy(true, now),
                    _ => {}
                }
                return;
            }
            Screen::Table => {}
        }
        let ids = self.ids(now);
        let at = self
            .selected
            .and_then(|s| ids.iter().position(|&id| id == s));
        let last = ids.len().saturating_sub(1);
        let go = |i: usize| ids.get(i.min(last)).copied();
        // Moving the selection by hand stops following.
        if matches!(
            action,
            Some(
                Action::Down
                    | Action::Up
                    | Action::First
                    | Action::Last
                    | Action::PageDown
                    | Action::PageUp
            )
        ) {
            self.follow = false;
        }
        if key == Key::Esc && !self.view.filter.is_empty() {
            self.view.filter.clear();
            self.findings_due = true;
        }
        let Some(action) = action else {
            return;
        };
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.screen = Screen::Help,
            Action::Down => self.selected = go(at.map_or(0, |i| i + 1)),
            Action::Up => self.selected = go(at.map_or(0, |i| i.saturating_sub(1))),
            Action::First => self.selected = go(0),
            Action::Last => self.selected = go(last),
            Action::PageDown => self.selected = go(at.unwrap_or(0) + self.page.max(1)),
            Action::PageUp => self.selected = go(at.unwrap_or(0).saturating_sub(self.page.max(1))),
            Action::Detail => {
                if let Some(id) = self.selected.or_else(|| go(0)) {
                    self.selected = Some(id);
                    self.screen = Screen::Detail(id);
                }
            }
            Action::Pause => {
                self.paused = match self.paused.take() {
                    Some(_) => None,
                    None => Some(Paused {
                        since: now,
                        rows: rows(&self.feed.model, now),
                        counts: self.feed.model.counts(now),
                        events_at_pause: self.feed.model.stream().events,
                    }),
                };
            }
            Action::Filter => {
                // Edit the filter in force: what is typed adds a term to it.
                self.editing = Some(self.view.filter.clone());
                if !self.view.filter.is_empty() && !self.view.filter.ends_with(' ') {
                    self.view.filter.push(' ');
                }
            }
            Action::Findings => {
                self.view.flagged_only = !self.view.flagged_only;
                self.findings_due = true;
            }
            Action::SortNext => self.view.sort = self.view.sort.next(),
            Action::SortPrevious => self.view.sort = self.view.sort.previous(),
            Action::Invert => self.view.descending = !self.view.descending,
            Action::CopyRow => self.copy(false, now),
            Action::CopyJson => self.copy(true, now),
            Action::Follow => {
                self.follow = !self.follow;
                if self.follow {
                    self.selected = self.feed.model.calls().last().map(|c| c.id);
                }
                let note = if self.follow {
                    "following the newest call (f to stop)"
                } else {
                    "stopped following"
                };
                self.flash = Some((note.into(), now));
            }
            Action::ClearDone => {
                self.feed.model.clear_finished();
                self.table.reset();
                if let Some(p) = &mut self.paused {
                    p.rows.retain(|r| !r.finished);
                }
                self.counts_due = true;
            }
            Action::Columns => {
                self.screen = Screen::Columns;
            }
            Action::Stats => {
                self.screen = Screen::Stats;
            }
            Action::Timeline => {
                self.screen = Screen::Timeline;
            }
            Action::Servers => {
                self.screen = Screen::Servers;
                self.servers_scroll = 0;
            }
            Action::Dismiss => {
                self.dismiss_findings();
                self.flash = Some(("findings dismissed until something new".into(), now));
            }
        }
        // A selection whose call is gone falls back to nothing.
        if self.selected.is_some_and(|s| !ids.contains(&s)) {
            self.selected = None;
        }
    }
}
