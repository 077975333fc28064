//! `A`: every agent session at a glance, one row each: which agent and where, what it
//! does (waiting for permission or input, working, idle, ended), the call it runs, its
//! calls and failures and when it last did something. The one that has waited longest on
//! its user is on top; Enter shows its calls in the table.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::keys::{Action, Go};
use super::theme::Theme;
use crate::model::agents::{AgentRow, AgentState};
use crate::model::{human, DisplayState};
use crate::sanitize::{fit, terminal, width};
use crate::time::Time;

/// The agents view's own state.
#[derive(Debug, Clone, Default)]
pub struct AgentsView {
    /// The row the cursor is on.
    pub cursor: usize,
    /// The first row shown.
    pub scroll: usize,
}

impl AgentsView {
    /// A key in the view; `rows` is how many agent sessions there are. `Go::Open` asks for
    /// the table of the session under the cursor.
    pub fn handle(&mut self, action: Option<Action>, rows: usize) -> Go {
        let last = rows.saturating_sub(1);
        match action {
            Some(Action::Back) => return Go::Back,
            Some(Action::Detail) if rows > 0 => return Go::Open,
            Some(Action::Down) => self.cursor = (self.cursor + 1).min(last),
            Some(Action::Up) => self.cursor = self.cursor.saturating_sub(1),
            Some(Action::First) => self.cursor = 0,
            Some(Action::Last) => self.cursor = last,
            Some(Action::PageDown) => self.cursor = (self.cursor + 10).min(last),
            Some(Action::PageUp) => self.cursor = self.cursor.saturating_sub(10),
            Some(Action::Help) => return Go::Help,
            _ => {}
        }
        Go::Stay
    }
}

/// The state's look: a waiting agent as a waiting call, a working one as a running call.
fn look(state: AgentState) -> DisplayState {
    match state {
        AgentState::Waiting(wait, ..) => DisplayState::Waiting(wait),
        AgentState::Working => DisplayState::Running,
        AgentState::Idle(_) | AgentState::Ended(_) => DisplayState::Done,
    }
}

/// One row's cells, as text (escaped for the terminal).
struct Cells {
    who: String,
    state: String,
    calls: String,
    last: String,
    running: String,
}

fn cells(row: &AgentRow, now: Time, short: bool) -> Cells {
    let mut who = terminal(&row.agent).into_owned();
    if !row.dir.is_empty() {
        who.push_str(" · ");
        who.push_str(&terminal(&row.dir));
    }
    let mut calls = row.calls.to_string();
    if row.failures > 0 {
        calls.push_str(&format!(", {} failed", row.failures));
    }
    if row.subagents > 0 {
        calls.push_str(&format!(
            ", {} subagent{}",
            row.subagents,
            if row.subagents == 1 { "" } else { "s" }
        ));
    }
    let running = match &row.running {
        Some((tool, what)) if !what.is_empty() => {
            format!(
                "{}: {}",
                terminal(tool),
                terminal(&what.replace(['\n', '\r'], " "))
            )
        }
        Some((tool, _)) => terminal(tool).into_owned(),
        None => String::new(),
    };
    Cells {
        who,
        state: row.state.words(now, short),
        calls,
        last: human(now - row.last),
        running,
    }
}

/// Draws the view; returns the cursor and scroll it used (held to the rows there are).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    rows: &[AgentRow],
    view: &AgentsView,
    now: Time,
    theme: Theme,
) -> (usize, usize) {
    if area.height < 2 || area.width < 10 {
        return (view.cursor, view.scroll);
    }
    let w = usize::from(area.width);
    let mut lines = vec![Line::styled(
        fit(
            &theme.text(" Agents (A) · Enter their calls · j/k move · Esc back"),
            w,
        ),
        theme.title(),
    )];
    if rows.is_empty() {
        // Wrapped, not cut: at 40 columns the hint is what the view has to say.
        for text in [
            "no agent session yet: an agent's hooks or OpenTelemetry show it here",
            "(mcptop setup claude-code --hooks; codex, gemini too)",
        ] {
            lines.extend(
                super::help::hang(" ", text, w)
                    .into_iter()
                    .map(|l| l.style(theme.hint())),
            );
        }
        frame.render_widget(Paragraph::new(lines), area);
        return (0, 0);
    }
    let all: Vec<Cells> = rows.iter().map(|r| cells(r, now, w < 100)).collect();
    let longest = |f: fn(&Cells) -> &str, min: usize, max: usize| {
        all.iter()
            .map(|c| width(f(c)))
            .max()
            .unwrap_or(0)
            .clamp(min, max)
    };
    // Who and what state always; then the call it runs, its counts and its last activity,
    // as the width allows (the running call takes what is left).
    let who = longest(|c| &c.who, 5, 28).min(w.saturating_sub(4) / 2);
    let state = longest(|c| &c.state, 5, 30).min(w.saturating_sub(3 + who));
    let calls = longest(|c| &c.calls, 5, 34);
    let last = longest(|c| &c.last, 5, 12);
    let fixed = 2 + who + 1 + state;
    let show_counts = w >= fixed + 1 + calls + 1 + last;
    let running_width =
        w.saturating_sub(fixed + 1 + if show_counts { calls + 1 + last + 1 } else { 0 });
    let header = {
        let mut h = format!("  {:<who$} {:<state$}", "agent", "state");
        if show_counts {
            h.push_str(&format!(" {:<calls$} {:<last$}", "calls", "last"));
        }
        if running_width >= 4 {
            h.push_str(" running");
        }
        h
    };
    lines.push(Line::styled(fit(&header, w), theme.hint()));
    let body_rows = usize::from(area.height).saturating_sub(2);
    let cursor = view.cursor.min(rows.len() - 1);
    let mut scroll = view.scroll.min(rows.len().saturating_sub(body_rows.max(1)));
    if cursor < scroll {
        scroll = cursor;
    } else if body_rows > 0 && cursor >= scroll + body_rows {
        scroll = cursor + 1 - body_rows;
    }
    for (i, (row, c)) in rows
        .iter()
        .zip(&all)
        .enumerate()
        .skip(scroll)
        .take(body_rows)
    {
        let shown = look(row.state);
        // Idle is not done: a dot, not a tick.
        let glyph = match row.state {
            AgentState::Idle(_) if theme.ascii => ".",
            AgentState::Idle(_) => "·",
            _ => theme.glyph(shown),
        };
        let mut spans = vec![
            Span::styled(format!("{glyph} "), theme.state(shown)),
            Span::raw(pad(&c.who, who)),
            Span::raw(" "),
            Span::styled(
                pad(&c.state, state),
                match row.state {
                    AgentState::Waiting(..) => theme.state(shown),
                    AgentState::Ended(_) => theme.finished(),
                    _ => Style::default(),
                },
            ),
        ];
        if show_counts {
            let counts_style = if row.failures > 0 {
                theme.state(DisplayState::Failed)
            } else {
                Style::default()
            };
            spans.push(Span::raw(" "));
            spans.push(Span::styled(pad(&c.calls, calls), counts_style));
            spans.push(Span::raw(" "));
            spans.push(Span::raw(pad(&c.last, last)));
        }
        if running_width >= 4 && !c.running.is_empty() {
            spans.push(Span::raw(" "));
            spans.push(Span::raw(fit(&c.running, running_width)));
        }
        let mut line = Line::from(spans);
        if i == cursor {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), area);
    (cursor, scroll)
}

/// `text` cut or padded to exactly `n` columns.
fn pad(text: &str, n: usize) -> String {
    let cut = fit(text, n);
    let room = n.saturating_sub(width(&cut));
    format!("{cut}{}", " ".repeat(room))
}
