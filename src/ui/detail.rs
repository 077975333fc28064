//! One call in full: its messages with times, a sparkline of progress over time, its rate,
//! its findings in sentences, and the raw facts the model keeps.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use super::keys::{Action, Go, Key};
use super::rows::{safe, token_text};
use super::theme::Theme;
use crate::model::{human, num, CallId, Model};
use crate::time::Time;

/// The detail view's own state: how far its document is scrolled, and what `/` searches
/// for in it.
#[derive(Debug, Clone, Default)]
pub struct DetailView {
    /// Rows scrolled down (held to the document's end when drawn).
    pub scroll: usize,
    /// What `/` searches for (matches are highlighted).
    pub query: String,
    /// While the search is typed: the query before it (Esc puts it back).
    pub search_edit: Option<String>,
    /// Which match `n`/`N` stepped to (taken modulo the matches by the draw).
    pub match_index: i64,
    /// The next draw scrolls to the current match.
    pub jump: bool,
}

/// What a draw of the detail settled: the scroll it used (the view keeps it, so keys
/// move from what is on screen).
pub struct Drawn {
    pub scroll: usize,
}

impl DetailView {
    /// A key while the detail shows; `page` is a page of rows.
    pub fn handle(&mut self, key: Key, action: Option<Action>, page: usize) -> Go {
        if let Some(before) = &self.search_edit {
            match key {
                Key::Char(c) => {
                    self.query.push(c);
                    self.match_index = 0;
                    self.jump = true;
                }
                Key::Backspace => {
                    self.query.pop();
                    self.match_index = 0;
                    self.jump = true;
                }
                Key::Enter => self.search_edit = None,
                Key::Esc => {
                    self.query = before.clone();
                    self.search_edit = None;
                }
                _ => {}
            }
            return Go::Stay;
        }
        let page = page.max(1);
        match action {
            Some(Action::Back) if !self.query.is_empty() => self.query.clear(),
            Some(Action::Back | Action::Detail | Action::CloseDetail) => {
                *self = DetailView::default();
                return Go::Back;
            }
            Some(Action::Filter) => self.search_edit = Some(std::mem::take(&mut self.query)),
            Some(Action::NextMatch) if !self.query.is_empty() => {
                self.match_index = self.match_index.saturating_add(1);
                self.jump = true;
            }
            Some(Action::PreviousMatch) if !self.query.is_empty() => {
                self.match_index = self.match_index.saturating_sub(1);
                self.jump = true;
            }
            Some(Action::Down) => self.scroll += 1,
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::PageDown) => self.scroll += page,
            Some(Action::PageUp) => self.scroll = self.scroll.saturating_sub(page),
            Some(Action::First) => self.scroll = 0,
            Some(Action::Last) => self.scroll = usize::MAX / 2,
            Some(Action::Help) => return Go::Help,
            Some(Action::CopyRow) => return Go::Copy { json: false },
            Some(Action::CopyJson) => return Go::Copy { json: true },
            _ => {}
        }
        Go::Stay
    }
}

/// The call `id` in detail, as `view` scrolls and searches it; `raw` is its last frame.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    raw: Option<&(String, String)>,
    id: CallId,
    view: &DetailView,
    now: Time,
    theme: Theme,
) -> Drawn {
    let Some(call) = model.call(id) else {
        frame.render_widget(
            Paragraph::new("This call is no longer held (finished calls expire). Esc to go back."),
            area,
        );
        return Drawn { scroll: 0 };
    };
    let state = model.display_state(call, now);
    let mut facts = vec![
        Line::styled(
            format!(
                "{} {} #{}  token {}  {}{}",
                theme.glyph(state),
                safe(call.key.tool.as_deref().unwrap_or("?")),
                call.id.0,
                safe(&token_text(call.token_shown())),
                state.label(),
                // Which subagent made it (the table's agent column gives way first).
                call.subagent
                    .as_ref()
                    .map(|(kind, id)| match (kind.is_empty(), id.is_empty()) {
                        (false, false) => format!("  subagent {} ({})", safe(kind), safe(id)),
                        (false, true) => format!("  subagent {}", safe(kind)),
                        _ => format!("  subagent {}", safe(id)),
                    })
                    .unwrap_or_default()
            ),
            theme.title(),
        ),
        Line::raw(format!(
            "progress {}{}   elapsed {}   last update {} ago   updates {}",
            call.progress.map(num).unwrap_or_else(|| "-".into()),
            call.total
                .map(|t| format!(" of {}", num(t)))
                .unwrap_or_default(),
            human(call.elapsed(now)),
            human(call.since_update(now)),
            call.updates,
        )),
        Line::raw(format!(
            "rate {}   eta {}",
            call.rate
                .map(|r| format!("{r:.2}/s"))
                .unwrap_or_else(|| "-".into()),
            call.eta().map(human).unwrap_or_else(|| "-".into()),
        )),
    ];
    if let Some(session) = &call.session_label {
        facts.insert(1, Line::raw(format!("session {}", safe(session))));
    }
    if let Some(task) = &call.task {
        facts.push(Line::raw(format!("runs as MCP task {}", safe(task))));
    }
    if let Some(trace) = &call.trace_id {
        facts.push(Line::raw(format!("in trace {trace}")));
    }
    if let Some(instance) = &call.instance {
        facts.push(Line::styled(
            format!("from the daemon run {}", safe(instance)),
            theme.hint(),
        ));
    }
    if call.started_unseen {
        facts.push(Line::raw(
            "started before the monitor saw it: elapsed counts from its first report",
        ));
    }
    let facts = Paragraph::new(facts).wrap(Wrap { trim: false });
    let facts_height = u16::try_from(facts.line_count(area.width.max(1))).unwrap_or(u16::MAX);
    let facts_height = facts_height.min((area.height / 3).max(2));
    let [top, spark, body_area] = Layout::vertical([
        Constraint::Length(facts_height),
        Constraint::Length(if area.height > 14 { 4 } else { 0 }),
        Constraint::Min(1),
    ])
    .areas(area);
    frame.render_widget(facts, top);
    if spark.height > 0 {
        let data: Vec<u64> = call
            .history
            .iter()
            .map(|s| (s.progress.max(0.0) * 100.0) as u64)
            .collect();
        frame.render_widget(
            Sparkline::default()
                .block(
                    Block::default()
                        .borders(Borders::TOP)
                        .title("progress over time"),
                )
                .data(&data),
            spark,
        );
    }
    // Everything else is one document, wrapped to the width here so that a row is a
    // line: it scrolls (j/k, PgUp/PgDn, g/G) and `/` searches it.
    let width = usize::from(body_area.width.max(1));
    let rows = wrap(&body(model, raw, call, now, theme), width);
    let shown = usize::from(body_area.height.saturating_sub(1)).max(1);
    let total = rows.len();
    let query = view.query.to_lowercase();
    let matches: Vec<usize> = if query.is_empty() {
        Vec::new()
    } else {
        rows.iter()
            .enumerate()
            .filter(|(_, (text, _))| text.to_lowercase().contains(&query))
            .map(|(i, _)| i)
            .collect()
    };
    let current = (!matches.is_empty()).then(|| {
        let len = i64::try_from(matches.len()).unwrap_or(i64::MAX);
        usize::try_from(view.match_index.rem_euclid(len)).unwrap_or(0)
    });
    let mut first = view.scroll;
    if view.jump {
        if let Some(i) = current {
            // The match a few rows down, so what leads to it shows too.
            first = matches[i].saturating_sub(2);
        }
    }
    let first = first.min(total.saturating_sub(shown));
    let mut title = if total > shown {
        format!(
            "details {}–{} of {total} (j/k scroll · / search)",
            first + 1,
            (first + shown).min(total)
        )
    } else {
        "details (/ search)".to_owned()
    };
    if view.search_edit.is_some() {
        title = format!("search: {}▏ (Enter keeps · Esc cancels)", safe(&view.query));
    } else if !query.is_empty() {
        title = match current {
            Some(i) => format!(
                "\"{}\": match {} of {} (n/N step · Esc clears) · {title}",
                safe(&view.query),
                i + 1,
                matches.len()
            ),
            None => format!("\"{}\": no match (Esc clears)", safe(&view.query)),
        };
    }
    let terms = [query];
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(first)
        .take(shown)
        .map(|(text, style)| super::table::highlighted_in(text, &terms, theme, style))
        .collect();
    let title = crate::sanitize::fit(&theme.text(&title), width);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
        body_area,
    );
    Drawn { scroll: first }
}

/// The call's document: its error in full, its findings, its arguments and its result
/// (pretty JSON), its messages newest first (a task's status history among them), and
/// the raw last frame. Every line is safe for the terminal.
fn body(
    model: &Model,
    raw: Option<&(String, String)>,
    call: &crate::model::Call,
    now: Time,
    theme: Theme,
) -> Vec<(String, Style)> {
    let mut out: Vec<(String, Style)> = Vec::new();
    if let Some(error) = &call.error {
        out.push((format!("error: {}", safe(error)), theme.warning()));
    }
    for finding in model.call_findings(call, now) {
        out.push((format!("! {}", safe(&finding.message)), theme.warning()));
    }
    for (name, detail) in [("arguments", &call.arguments), ("result", &call.result)] {
        let Some(value) = detail
            .as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        else {
            continue;
        };
        out.push((format!("{name}:"), theme.hint()));
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
        for line in pretty.lines() {
            out.push((format!("  {}", safe(line)), Style::default()));
        }
    }
    let count = call.messages.iter().len();
    if count > 0 {
        out.push((format!("messages, newest first ({count}):"), theme.hint()));
    }
    for m in call.messages.iter().rev() {
        out.push((
            format!(
                "{}  {}",
                m.at.to_datetime().format("%H:%M:%S%.3f"),
                safe(m.text)
            ),
            Style::default(),
        ));
    }
    if let Some((event_type, data)) = raw {
        out.push((
            format!("last frame ({}): {}", safe(event_type), safe(data)),
            theme.hint(),
        ));
    }
    out
}

/// Lines cut into rows of at most `width` terminal columns.
fn wrap(lines: &[(String, Style)], width: usize) -> Vec<(String, Style)> {
    let width = width.max(2);
    let mut rows = Vec::with_capacity(lines.len());
    for (text, style) in lines {
        if crate::sanitize::width(text) <= width {
            rows.push((text.clone(), *style));
            continue;
        }
        let mut row = String::new();
        let mut used = 0;
        for c in text.chars() {
            let w = crate::sanitize::char_width(c);
            if used + w > width {
                rows.push((std::mem::take(&mut row), *style));
                used = 0;
            }
            row.push(c);
            used += w;
        }
        if !row.is_empty() {
            rows.push((row, *style));
        }
    }
    rows
}
