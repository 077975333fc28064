//! The table's columns and what the table keeps between frames: which columns there are,
//! how wide each has been, and which were last drawn. The app holds them (the chooser
//! toggles them, the config names them); `table` draws with them.

use super::keys::{Action, Go};
use super::rows::RowView;

/// The column chooser's own state.
#[derive(Debug, Clone, Default)]
pub struct Chooser {
    /// The column the cursor is on.
    pub cursor: usize,
}

impl Chooser {
    /// A key in the chooser, which toggles `columns` live.
    pub fn handle(&mut self, action: Option<Action>, columns: &mut [(Column, bool)]) -> Go {
        let last = columns.len().saturating_sub(1);
        match action {
            Some(Action::Back | Action::Detail | Action::Columns) => return Go::Back,
            Some(Action::Down) => self.cursor = (self.cursor + 1).min(last),
            Some(Action::Up) => self.cursor = self.cursor.saturating_sub(1),
            Some(Action::Toggle) => {
                if let Some(entry) = columns.get_mut(self.cursor) {
                    entry.1 = !entry.1;
                }
            }
            _ => {}
        }
        Go::Stay
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    State,
    Session,
    /// The subagent that made the call (its type), where an agent's hooks said.
    Agent,
    Tool,
    Progress,
    Percent,
    Elapsed,
    Since,
    Rate,
    Eta,
    Token,
    /// What the call works on, from its arguments (`path=src/main.rs`).
    What,
    Message,
}

impl Column {
    /// Every column in its default display order.
    pub const DEFAULT: [Column; 13] = [
        Column::State,
        Column::Session,
        Column::Agent,
        Column::Tool,
        Column::Token,
        Column::What,
        Column::Progress,
        Column::Percent,
        Column::Rate,
        Column::Eta,
        Column::Elapsed,
        Column::Since,
        Column::Message,
    ];

    /// Its name in the config file and the column chooser.
    pub fn name(self) -> &'static str {
        match self {
            Column::State => "state",
            Column::Session => "session",
            Column::Agent => "agent",
            Column::Tool => "tool",
            Column::Progress => "progress",
            Column::Percent => "percent",
            Column::Elapsed => "elapsed",
            Column::Since => "last",
            Column::Rate => "rate",
            Column::Eta => "eta",
            Column::Token => "token",
            Column::What => "what",
            Column::Message => "message",
        }
    }

    pub fn from_name(name: &str) -> Option<Column> {
        // `since` was the name of `last` before it was called as it is titled.
        let name = if name == "since" { "last" } else { name };
        Column::DEFAULT.iter().copied().find(|c| c.name() == name)
    }

    fn index(self) -> usize {
        Column::DEFAULT.iter().position(|&c| c == self).unwrap_or(0)
    }

    pub(super) fn title(self) -> &'static str {
        match self {
            Column::State => "",
            Column::Session => "session",
            Column::Agent => "agent",
            Column::Tool => "tool",
            Column::Progress => "progress",
            Column::Percent => "%",
            Column::Elapsed => "elapsed",
            Column::Since => "last",
            Column::Rate => "rate",
            Column::Eta => "eta",
            Column::Token => "token",
            Column::What => "what",
            Column::Message => "message",
        }
    }

    /// The width a column wants, from what its rows hold (within bounds).
    pub(super) fn width(self, rows: &[RowView]) -> u16 {
        let longest = |f: fn(&RowView) -> &str, min: usize, max: usize| {
            let n = rows
                .iter()
                .map(|r| crate::sanitize::width(f(r)))
                .max()
                .unwrap_or(0);
            n.max(self.title().len()).clamp(min, max) as u16
        };
        match self {
            Column::State => 1,
            // One session (or none): the header names it; no column needed.
            Column::Session if single_session(rows) => 0,
            Column::Session => longest(|r| &r.session, 7, 20),
            // Only where a subagent made calls.
            Column::Agent if rows.iter().all(|r| r.agent.is_empty()) => 0,
            Column::Agent => longest(|r| &r.agent, 5, 16),
            // A tool another row shares is shown with its call's number.
            Column::Tool => {
                let twins = twins(rows);
                let n = rows
                    .iter()
                    .zip(&twins)
                    .map(|(r, &twin)| {
                        let number = if twin {
                            format!(" #{}", r.id.0).len()
                        } else {
                            0
                        };
                        crate::sanitize::width(&r.tool) + number
                    })
                    .max()
                    .unwrap_or(0);
                n.max(self.title().len()).clamp(6, 28) as u16
            }
            // The count, a space and a bar of 10.
            Column::Progress => longest(|r| &r.progress, 3, 21) + 11,
            Column::Percent => 4,
            Column::Elapsed => 7,
            Column::Since => 7,
            Column::Rate => 8,
            Column::Eta => 7,
            Column::Token => longest(|r| &r.token, 5, 16),
            // Only where a tap saw arguments.
            Column::What if rows.iter().all(|r| r.what.is_empty()) => 0,
            Column::What => longest(|r| &r.what, 8, 32),
            Column::Message => MIN_MESSAGE, // the least; it takes what is left
        }
    }
}

fn single_session(rows: &[RowView]) -> bool {
    let first = rows.first().map_or("", |r| r.session.as_str());
    rows.iter().all(|r| r.session == first)
}

/// What the table keeps between frames: the widest each column has been (so columns do
/// not come and go as tool names on screen change width) and the columns last drawn (the
/// chooser says which of the enabled ones had no room).
#[derive(Debug, Clone, Default)]
pub struct TableState {
    widths: [u16; Column::DEFAULT.len()],
    pub drawn: Vec<Column>,
    /// Enabled columns with nothing to show (one session, no arguments).
    pub empty: Vec<Column>,
}

impl TableState {
    /// The width of `column` for `rows`: never narrower than it has been.
    pub(super) fn width(&mut self, column: Column, rows: &[RowView]) -> u16 {
        let w = column.width(rows);
        if w == 0 {
            return 0;
        }
        let seen = &mut self.widths[column.index()];
        *seen = (*seen).max(w);
        *seen
    }

    /// Forgets the widths seen (the calls were cleared).
    pub fn reset(&mut self) {
        self.widths = Default::default();
    }
}

/// The rows in `rows` whose session and tool another row shares: their tool is shown
/// with the call's number (`download_artifact #2`) so that no two rows read the same.
pub fn twins(rows: &[RowView]) -> Vec<bool> {
    rows.iter()
        .map(|r| {
            rows.iter()
                .filter(|o| o.tool == r.tool && o.session == r.session)
                .nth(1)
                .is_some()
        })
        .collect()
}

/// The narrowest message column drawn: fewer columns say nothing useful.
pub(super) const MIN_MESSAGE: u16 = 12;
