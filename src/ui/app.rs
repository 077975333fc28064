//! What the screen shows and how keys change it. No terminal here: [`App::handle_key`]
//! takes a key, [`App::ingest`] takes source events, and the views read the state.

use crate::event::{LinkStatus, SourceEvent, Timed};
use crate::feed::Feed;
use crate::model::{CallId, Connection, Model};
use crate::time::Time;

use super::agents::AgentsView;
use super::columns::Chooser;
use super::detail::DetailView;
use super::help::HelpView;
use super::keys::{Action, Go, Scope};
use super::rows::{rows, RowView};
use super::servers::ServersView;
use super::table::TableView;
use super::timeline::TimelineView;
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
    /// `A`: the agent sessions, one row each.
    Agents,
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
    /// Filter, findings only, sort.
    pub view: ViewOptions,
    /// While `/` is being typed: the filter to go back to on Esc.
    pub editing: Option<String>,
    /// Text the event loop should put on the clipboard (OSC 52).
    pub clipboard: Option<String>,
    /// A short note for the footer, and until when it shows.
    pub flash: Option<(String, Time)>,
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
    /// What each key does (the config file's `[keys]` over the defaults).
    pub keys: super::keys::KeyMap,
    /// The table's columns in display order, each shown or not (`C` toggles them).
    pub columns: Vec<(super::columns::Column, bool)>,
    /// Each view's own state.
    pub table: TableView,
    pub detail: DetailView,
    pub timeline: TimelineView,
    pub servers: ServersView,
    pub agents: AgentsView,
    /// The agents view came up by itself once (several agent sessions live): it does so
    /// once, and never after a key.
    agents_shown: bool,
    pub help: HelpView,
    pub chooser: Chooser,
    /// Findings dismissed with `x`: their kind and call, and the stream's loss counters
    /// then (a stream finding comes back when they grow).
    dismissed: Vec<(crate::model::FindingKind, Option<CallId>)>,
    dismissed_at: (u64, u64, u64, usize),
    /// Calls by state, refreshed with the findings.
    pub counts: crate::model::StateCounts,
    counts_due: bool,
}

impl App {
    pub fn new(source: SourceLabel, now: Time) -> App {
        App {
            feed: Feed::default(),
            source,
            screen: Screen::Table,
            selected: None,
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
            view: ViewOptions::default(),
            editing: None,
            clipboard: None,
            flash: None,
            findings: Vec::new(),
            findings_at: None,
            findings_due: true,
            findings_behind: false,
            player: None,
            follow: false,
            raw: std::collections::HashMap::new(),
            keys: super::keys::KeyMap::default(),
            columns: super::columns::Column::DEFAULT
                .iter()
                .map(|&c| (c, true))
                .collect(),
            table: TableView::default(),
            detail: DetailView::default(),
            timeline: TimelineView::default(),
            servers: ServersView::default(),
            agents: AgentsView::default(),
            agents_shown: false,
            help: HelpView::default(),
            chooser: Chooser::default(),
            dismissed: Vec::new(),
            dismissed_at: (0, 0, 0, 0),
            counts: crate::model::StateCounts::default(),
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
        let pause = self.keys.action(key) == Some(Action::Pause);
        let action = self.keys.action_in(Scope::Replay, key);
        let Some(player) = &mut self.player else {
            return false;
        };
        let Some(derived) = player.handle(key, action, pause, &mut self.feed) else {
            return false;
        };
        // A seek rebuilds the model: the event rate starts over from here, or it would
        // count the jump as events per second.
        if derived {
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
        let counts = self.counts_due.then_some(std::time::Duration::ZERO);
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
        // The header's counts follow calls starting and ending in the same frame as the
        // table: a header counting a call the table shows ended (or not yet begun) would
        // say something the screen does not. At most once a frame, over the calls held.
        if refresh || self.counts_due {
            self.counts = self.feed.model.counts(now);
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
            // Several agents at work: the agents view is where to start (once, and not
            // after the user has pressed a key).
            if !self.agents_shown
                && self.screen == Screen::Table
                && self.player.is_none()
                && self
                    .feed
                    .model
                    .live_agents(now, chrono::TimeDelta::minutes(10))
                    >= 2
            {
                self.screen = Screen::Agents;
                self.agents_shown = true;
            }
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

    /// Every row of the view when it is not the model's own order (a pause, a filter or
    /// a sort), for [`TableView::window`]; `None` when it is.
    pub fn view_rows(&self, now: Time) -> Option<Vec<RowView>> {
        (!self.plain_view()).then(|| self.rows(now))
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

    /// The terminal was resized: the next frame lays everything out again.
    pub fn resize(&mut self) {
        self.dirty = true;
    }

    /// Routes a key: to what is being typed, to the replay, to the view on screen (each
    /// owns its keys, looked up in its scope), and what the view does not take to the
    /// app's own keys on the table.
    pub fn handle_key(&mut self, key: Key, now: Time) {
        self.dirty = true;
        if key == Key::CtrlC {
            self.quit = true;
            return;
        }
        if self.detail.search_edit.is_some() {
            let page = self.table.page;
            self.detail.handle(key, None, page);
            return;
        }
        if self.editing.is_some() {
            self.edit_filter(key);
            return;
        }
        let scope = match self.screen {
            Screen::Detail(_) => Scope::Detail,
            Screen::Timeline => Scope::Timeline,
            Screen::Columns => Scope::Chooser,
            _ => Scope::Table,
        };
        let action = self.keys.action_in(scope, key);
        if action == Some(Action::Quit) {
            self.quit = true;
            return;
        }
        if !matches!(self.screen, Screen::Help | Screen::Columns) && self.replay_key(key) {
            return;
        }
        self.agents_shown = true;
        let go = match self.screen {
            Screen::Timeline | Screen::Stats | Screen::Servers | Screen::Agents
                if matches!(
                    action,
                    Some(Action::Stats | Action::Timeline | Action::Servers | Action::Agents)
                ) =>
            {
                // The views' keys move between them; a view's own key goes back.
                let target = match action {
                    Some(Action::Stats) => Screen::Stats,
                    Some(Action::Timeline) => Screen::Timeline,
                    Some(Action::Agents) => Screen::Agents,
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
                let go = self
                    .timeline
                    .handle(action, &self.feed.model, &mut self.selected);
                if matches!(action, Some(Action::Down | Action::Up)) {
                    self.follow = false;
                }
                go
            }
            Screen::Stats => match action {
                Some(Action::Back | Action::Detail) => Go::Back,
                Some(Action::Help) => Go::Help,
                _ => Go::Stay,
            },
            Screen::Servers => self.servers.handle(action),
            Screen::Agents => {
                let rows = self.feed.model.agents();
                match self.agents.handle(action, rows.len()) {
                    Go::Open => {
                        let cursor = self.agents.cursor.min(rows.len().saturating_sub(1));
                        if let Some(row) = rows.get(cursor) {
                            self.view.filter = format!("in:{}", row.session);
                            self.findings_due = true;
                            self.selected = None;
                        }
                        Go::Back
                    }
                    go => go,
                }
            }
            Screen::Help => self.help.handle(action),
            Screen::Columns => self.chooser.handle(action, &mut self.columns),
            Screen::Detail(_) => {
                // The detail's own keys: its document scrolls, the hidden table stays put.
                self.detail.handle(key, action, self.table.page)
            }
            Screen::Table => Go::Pass,
        };
        match go {
            Go::Stay => return,
            Go::Back => {
                self.screen = Screen::Table;
                return;
            }
            Go::Help => {
                self.screen = Screen::Help;
                return;
            }
            Go::Open => {
                match self.selected {
                    Some(id) => self.screen = Screen::Detail(id),
                    None => self.flash = Some(("j/k to select a call first".into(), now)),
                }
                return;
            }
            Go::Copy { json } => {
                self.copy(json, now);
                return;
            }
            Go::Pass => {}
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
        if action == Some(Action::Back) && !self.view.filter.is_empty() {
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
            Action::PageDown => self.selected = go(at.unwrap_or(0) + self.table.page.max(1)),
            Action::PageUp => {
                self.selected = go(at.unwrap_or(0).saturating_sub(self.table.page.max(1)))
            }
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
                self.table.columns.reset();
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
                self.servers.scroll = 0;
            }
            Action::Agents => {
                self.screen = Screen::Agents;
            }
            Action::Dismiss => {
                self.dismiss_findings();
                self.flash = Some(("findings dismissed until something new".into(), now));
            }
            // Other views' keys.
            _ => {}
        }
        // A selection whose call is gone falls back to nothing.
        if self.selected.is_some_and(|s| !ids.contains(&s)) {
            self.selected = None;
        }
    }
}
