//! Which rows show, in which order: the filter (`/`), findings only (`F`) and the sort
//! (`s`, `S`, `i`). Sorting is stable with the creation order as the last tie-break, so
//! equal rows never swap places between frames.

use std::cmp::Ordering;

use super::rows::RowView;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Calls still running first (in the order they started), then finished ones, newest
    /// first: running calls never drop out of view.
    #[default]
    Active,
    /// Creation order: new calls at the bottom.
    Started,
    Tool,
    State,
    Percent,
    Elapsed,
    LastUpdate,
}

impl SortKey {
    const ALL: [SortKey; 7] = [
        SortKey::Active,
        SortKey::Started,
        SortKey::Tool,
        SortKey::State,
        SortKey::Percent,
        SortKey::Elapsed,
        SortKey::LastUpdate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Active => "running first",
            SortKey::Started => "start",
            SortKey::Tool => "tool",
            SortKey::State => "state",
            SortKey::Percent => "%",
            SortKey::Elapsed => "elapsed",
            SortKey::LastUpdate => "last update",
        }
    }

    /// The names the config file uses.
    pub const NAMES: [&'static str; 7] = [
        "running-first",
        "start",
        "tool",
        "state",
        "percent",
        "elapsed",
        "last-update",
    ];

    pub fn config_name(self) -> &'static str {
        let i = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        Self::NAMES[i]
    }

    pub fn from_name(name: &str) -> Option<SortKey> {
        Self::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| Self::ALL[i])
    }

    pub fn next(self) -> SortKey {
        let i = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    pub fn previous(self) -> SortKey {
        let i = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        Self::ALL[(i + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewOptions {
    /// The filter as typed: terms all of which must match.
    pub filter: String,
    pub flagged_only: bool,
    pub sort: SortKey,
    pub descending: bool,
}

impl ViewOptions {
    /// A short description for the header (empty when everything shows as is).
    /// What the view hides or moves, in words; `label` names a session by its id (an
    /// `in:ID` term reads as the session's label, which a person knows it by).
    pub fn describe(&self, label: impl Fn(&str) -> Option<String>) -> String {
        let mut parts = Vec::new();
        if !self.filter.trim().is_empty() {
            let terms: Vec<String> = self
                .filter
                .split_whitespace()
                .map(|term| match term.strip_prefix("in:").and_then(&label) {
                    Some(name) => format!("in:{name}"),
                    None => term.to_owned(),
                })
                .collect();
            parts.push(format!("filter {}", terms.join(" ")));
        }
        if self.flagged_only {
            parts.push("findings only".to_owned());
        }
        if self.sort != SortKey::Active || self.descending {
            let arrow = if self.descending { "↓" } else { "↑" };
            parts.push(format!("sort {} {arrow}", self.sort.name()));
        }
        parts.join(" · ")
    }

    /// The words the filter looks for in text (not negated, not `state:`), lower case:
    /// what the table highlights.
    pub fn highlight_terms(&self) -> Vec<String> {
        self.filter
            .split_whitespace()
            .map(Term::parse)
            .filter(|t| {
                !t.negate && !t.text.is_empty() && !matches!(t.field, Field::State | Field::In)
            })
            .map(|t| t.text)
            .collect()
    }

    pub fn apply(&self, rows: Vec<RowView>) -> Vec<RowView> {
        let terms: Vec<Term> = self.filter.split_whitespace().map(Term::parse).collect();
        let mut rows: Vec<RowView> = rows
            .into_iter()
            .filter(|r| !self.flagged_only || r.flagged)
            .filter(|r| terms.iter().all(|t| t.matches(r)))
            .collect();
        if self.sort == SortKey::Active {
            // The rows come in that order already.
            if self.descending {
                rows.reverse();
            }
            return rows;
        }
        rows.sort_by(|a, b| {
            let order = compare(self.sort, a, b);
            let order = if self.descending {
                order.reverse()
            } else {
                order
            };
            order.then(a.id.cmp(&b.id))
        });
        rows
    }
}

fn compare(key: SortKey, a: &RowView, b: &RowView) -> Ordering {
    let f = |x: f64, y: f64| x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    match key {
        SortKey::Active | SortKey::Started => Ordering::Equal,
        SortKey::Tool => a.tool.cmp(&b.tool),
        SortKey::State => a.state.as_str().cmp(b.state.as_str()),
        SortKey::Percent => f(a.percent_value, b.percent_value),
        SortKey::Elapsed => f(a.elapsed_secs, b.elapsed_secs),
        SortKey::LastUpdate => f(a.since_secs, b.since_secs),
    }
}

/// One filter term: `tool:NAME`, `state:STATE`, `session:LABEL`, or a word in the tool,
/// session or message;
/// `!` in front negates it. Case does not matter.
struct Term {
    negate: bool,
    field: Field,
    text: String,
}

enum Field {
    Tool,
    State,
    Session,
    /// `in:ID`: the calls of one session, by its id (the agents view's Enter).
    In,
    Any,
}

impl Term {
    fn parse(raw: &str) -> Term {
        let (negate, rest) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (field, text) = if let Some(t) = rest.strip_prefix("tool:") {
            (Field::Tool, t)
        } else if let Some(t) = rest.strip_prefix("state:") {
            (Field::State, t)
        } else if let Some(t) = rest.strip_prefix("session:") {
            (Field::Session, t)
        } else if let Some(t) = rest.strip_prefix("in:") {
            (Field::In, t)
        } else {
            (Field::Any, rest)
        };
        Term {
            negate,
            field,
            text: text.to_lowercase(),
        }
    }

    fn matches(&self, row: &RowView) -> bool {
        let found = match self.field {
            Field::Tool => row.tool.to_lowercase().contains(&self.text),
            Field::State => row.state.as_str().starts_with(&self.text),
            Field::Session => row.session.to_lowercase().contains(&self.text),
            Field::In => row.session_key.to_lowercase() == self.text,
            Field::Any => {
                row.tool.to_lowercase().contains(&self.text)
                    || row.session.to_lowercase().contains(&self.text)
                    || row.agent.to_lowercase().contains(&self.text)
                    || row.message.to_lowercase().contains(&self.text)
            }
        };
        found != self.negate
    }
}
