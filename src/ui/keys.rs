//! Key bindings as data: every action of the table has a name and the keys that do it; the
//! config file's `[keys]` replaces an action's keys, and the help lists what is in force.

use std::collections::HashMap;

/// A key, as the app understands it (the event loop maps terminal keys to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Char(char),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Backspace,
    Left,
    Right,
    CtrlC,
}

/// What a key does on the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Down,
    Up,
    First,
    Last,
    PageDown,
    PageUp,
    Detail,
    Pause,
    Filter,
    Follow,
    Findings,
    SortNext,
    SortPrevious,
    Invert,
    CopyRow,
    CopyJson,
    ClearDone,
    Columns,
    Dismiss,
    Stats,
    Timeline,
    Servers,
    /// `A`: the agents view.
    Agents,
    /// Leaves a view (or, on the table, clears the filter).
    Back,
    // The detail view's own.
    NextMatch,
    PreviousMatch,
    CloseDetail,
    // The timeline's own.
    ZoomIn,
    ZoomOut,
    // The column chooser's own.
    Toggle,
    // A replay's own (`mcptop replay`); play and pause are `Pause`.
    StepForward,
    StepBack,
    SeekForward,
    SeekBack,
    /// `0`…`9`: to that many tenths of the recording (only digit keys can).
    SeekTenths,
    Faster,
    Slower,
    NextMarker,
    PreviousMarker,
}

/// Where an action works: a view's own keys are looked up before the table's (which the
/// other views share: moving, help, quitting), so a key may mean one thing on the
/// timeline and another on the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Table,
    Detail,
    Timeline,
    Chooser,
    /// Looked up first while a recording replays (not in the help or the chooser), with
    /// no fall-back: a key that is not a replay's goes to the view.
    Replay,
}

impl Action {
    /// Every action, with its name in the config file and its default keys.
    pub const ALL: &'static [(Action, &'static str, &'static [&'static str])] = &[
        (Action::Quit, "quit", &["q"]),
        (Action::Help, "help", &["?"]),
        (Action::Down, "down", &["j", "down"]),
        (Action::Up, "up", &["k", "up"]),
        (Action::First, "first", &["g", "home"]),
        (Action::Last, "last", &["G", "end"]),
        (Action::PageDown, "page_down", &["pgdn"]),
        (Action::PageUp, "page_up", &["pgup"]),
        (Action::Detail, "detail", &["enter"]),
        (Action::Pause, "pause", &["p", "space"]),
        (Action::Filter, "filter", &["/"]),
        (Action::Follow, "follow", &["f"]),
        (Action::Findings, "findings_only", &["F"]),
        (Action::SortNext, "sort_next", &["s"]),
        (Action::SortPrevious, "sort_previous", &["S"]),
        (Action::Invert, "invert_sort", &["i"]),
        (Action::CopyRow, "copy_row", &["y"]),
        (Action::CopyJson, "copy_json", &["Y"]),
        (Action::ClearDone, "clear_done", &["c"]),
        (Action::Columns, "columns", &["C"]),
        (Action::Dismiss, "dismiss_findings", &["x"]),
        (Action::Stats, "statistics", &["T"]),
        (Action::Timeline, "timeline", &["W"]),
        (Action::Servers, "servers", &["I"]),
        (Action::Agents, "agents", &["A"]),
        (Action::Back, "back", &["esc"]),
        (Action::NextMatch, "next_match", &["n"]),
        (Action::PreviousMatch, "previous_match", &["N"]),
        (Action::CloseDetail, "close_detail", &["h"]),
        (Action::ZoomIn, "zoom_in", &["+", "="]),
        (Action::ZoomOut, "zoom_out", &["-"]),
        (Action::Toggle, "toggle_column", &["space", "x"]),
        (Action::StepForward, "step_forward", &["."]),
        (Action::StepBack, "step_back", &[","]),
        (Action::SeekForward, "seek_forward", &["right"]),
        (Action::SeekBack, "seek_back", &["left"]),
        (
            Action::SeekTenths,
            "seek_tenths",
            &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        ),
        (Action::Faster, "faster", &["+", "="]),
        (Action::Slower, "slower", &["-"]),
        (Action::NextMarker, "next_marker", &["]"]),
        (Action::PreviousMarker, "previous_marker", &["["]),
    ];

    /// Where the action works.
    pub fn scope(self) -> Scope {
        match self {
            Action::NextMatch | Action::PreviousMatch | Action::CloseDetail => Scope::Detail,
            Action::ZoomIn | Action::ZoomOut => Scope::Timeline,
            Action::Toggle => Scope::Chooser,
            Action::StepForward
            | Action::StepBack
            | Action::SeekForward
            | Action::SeekBack
            | Action::SeekTenths
            | Action::Faster
            | Action::Slower
            | Action::NextMarker
            | Action::PreviousMarker => Scope::Replay,
            _ => Scope::Table,
        }
    }

    pub fn name(self) -> &'static str {
        Action::ALL
            .iter()
            .find(|(a, _, _)| *a == self)
            .map_or("", |(_, n, _)| n)
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(a, _, _)| *a)
    }
}

/// What a view's key asks of the app, which routes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    /// Handled by the view (or nothing to do).
    Stay,
    /// Back to the table.
    Back,
    Help,
    /// The selected call in detail.
    Open,
    /// The selected call to the clipboard: as its row's text, or as JSON.
    Copy {
        json: bool,
    },
    /// Not the view's: the app's own keys (moving between views, quitting) decide.
    Pass,
}

/// A key as the config file names it: one character (`q`, `?`, `G`), or `space`,
/// `enter`, `esc`, `up`, `down`, `left`, `right`, `pgup`, `pgdn`, `home`, `end`,
/// `backspace`.
pub fn parse_key(name: &str) -> Option<Key> {
    let key = match name {
        "space" => Key::Char(' '),
        "enter" => Key::Enter,
        "esc" => Key::Esc,
        "up" => Key::Up,
        "down" => Key::Down,
        "left" => Key::Left,
        "right" => Key::Right,
        "pgup" => Key::PageUp,
        "pgdn" => Key::PageDown,
        "home" => Key::Home,
        "end" => Key::End,
        "backspace" => Key::Backspace,
        other => {
            let mut chars = other.chars();
            let c = chars.next()?;
            if chars.next().is_some() || c.is_control() {
                return None;
            }
            Key::Char(c)
        }
    };
    Some(key)
}

/// A key's name as the help shows it.
pub fn key_name(key: Key) -> String {
    match key {
        Key::Char(' ') => "Space".into(),
        Key::Char(c) => c.to_string(),
        Key::Enter => "Enter".into(),
        Key::Esc => "Esc".into(),
        Key::Up => "↑".into(),
        Key::Down => "↓".into(),
        Key::Left => "←".into(),
        Key::Right => "→".into(),
        Key::PageUp => "PgUp".into(),
        Key::PageDown => "PgDn".into(),
        Key::Home => "Home".into(),
        Key::End => "End".into(),
        Key::Backspace => "Backspace".into(),
        Key::CtrlC => "Ctrl-C".into(),
    }
}

/// Which action each key does, in each scope.
#[derive(Debug, Clone)]
pub struct KeyMap {
    by_key: HashMap<(Scope, Key), Action>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let mut by_key = HashMap::new();
        for (action, _, keys) in Action::ALL {
            for key in keys.iter().filter_map(|k| parse_key(k)) {
                by_key.insert((action.scope(), key), *action);
            }
        }
        KeyMap { by_key }
    }
}

impl KeyMap {
    /// The defaults with `overrides` (action name → its keys) in force: an action named
    /// there has exactly those keys, and a key taken by it leaves its old action.
    pub fn with(overrides: &[(Action, Vec<Key>)]) -> KeyMap {
        let mut map = KeyMap::default();
        for (action, keys) in overrides {
            map.by_key.retain(|_, a| a != action);
            for key in keys {
                map.by_key.insert((action.scope(), *key), *action);
            }
        }
        map
    }

    /// What `key` does on the table (and, unless a view has it for its own, in the
    /// other views).
    pub fn action(&self, key: Key) -> Option<Action> {
        self.by_key.get(&(Scope::Table, key)).copied()
    }

    /// What `key` does in `scope`: the scope's own action, else the table's (a replay's
    /// keys have no fall-back).
    pub fn action_in(&self, scope: Scope, key: Key) -> Option<Action> {
        match self.by_key.get(&(scope, key)) {
            Some(action) => Some(*action),
            None if scope == Scope::Replay => None,
            None => self.action(key),
        }
    }

    /// The keys of an action, as the help shows them (sorted, so the help is stable).
    pub fn keys_of(&self, action: Action) -> String {
        let mut keys: Vec<String> = self
            .by_key
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|((_, k), _)| key_name(*k))
            .collect();
        keys.sort_by_key(|k| (k.chars().count() > 1, k.clone()));
        keys.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_s_own_keys_come_before_the_table_s() {
        let map = KeyMap::default();
        assert_eq!(map.action(Key::Char('x')), Some(Action::Dismiss));
        assert_eq!(
            map.action_in(Scope::Chooser, Key::Char('x')),
            Some(Action::Toggle)
        );
        assert_eq!(
            map.action_in(Scope::Timeline, Key::Char('+')),
            Some(Action::ZoomIn)
        );
        assert_eq!(
            map.action_in(Scope::Replay, Key::Char('+')),
            Some(Action::Faster)
        );
        // Moving is the table's, and works in every view; not in a replay's scope.
        assert_eq!(map.action_in(Scope::Detail, Key::Down), Some(Action::Down));
        assert_eq!(map.action_in(Scope::Replay, Key::Down), None);
        // Rebinding a view's key leaves the table's alone.
        let map = KeyMap::with(&[(Action::ZoomIn, vec![Key::Char('z')])]);
        assert_eq!(map.action_in(Scope::Timeline, Key::Char('+')), None);
        assert_eq!(
            map.action_in(Scope::Timeline, Key::Char('z')),
            Some(Action::ZoomIn)
        );
        assert_eq!(
            map.action_in(Scope::Replay, Key::Char('+')),
            Some(Action::Faster)
        );
        // Every action's name is unique.
        for (i, (_, name, _)) in Action::ALL.iter().enumerate() {
            assert!(
                Action::ALL[i + 1..].iter().all(|(_, n, _)| n != name),
                "{name}"
            );
        }
    }

    #[test]
    fn keys_rebind_and_leave_their_old_action() {
        let map = KeyMap::default();
        assert_eq!(map.action(Key::Char('q')), Some(Action::Quit));
        assert_eq!(map.action(Key::Down), Some(Action::Down));
        let map = KeyMap::with(&[
            (Action::Quit, vec![Key::Char('Q')]),
            (Action::Pause, vec![Key::Char('q')]),
        ]);
        assert_eq!(map.action(Key::Char('Q')), Some(Action::Quit));
        assert_eq!(map.action(Key::Char('q')), Some(Action::Pause));
        assert_eq!(map.action(Key::Char(' ')), None, "pause has only q now");
        assert_eq!(map.keys_of(Action::Quit), "Q");
        assert_eq!(parse_key("space"), Some(Key::Char(' ')));
        assert_eq!(parse_key("qq"), None);
        assert_eq!(parse_key(""), None);
        for (action, name, _) in Action::ALL {
            assert_eq!(Action::from_name(name), Some(*action));
        }
    }
}
