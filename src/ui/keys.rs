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
    ];

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

/// Which action each key does.
#[derive(Debug, Clone)]
pub struct KeyMap {
    by_key: HashMap<Key, Action>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let mut by_key = HashMap::new();
        for (action, _, keys) in Action::ALL {
            for key in keys.iter().filter_map(|k| parse_key(k)) {
                by_key.insert(key, *action);
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
                map.by_key.insert(*key, *action);
            }
        }
        map
    }

    pub fn action(&self, key: Key) -> Option<Action> {
        self.by_key.get(&key).copied()
    }

    /// The keys of an action, as the help shows them (sorted, so the help is stable).
    pub fn keys_of(&self, action: Action) -> String {
        let mut keys: Vec<String> = self
            .by_key
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| key_name(*k))
            .collect();
        keys.sort_by_key(|k| (k.chars().count() > 1, k.clone()));
        keys.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
