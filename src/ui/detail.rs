//! One call in full: its messages with times, a sparkline of progress over time, its rate,
//! its findings in sentences, and the raw facts the model keeps.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use super::app::App;
use super::rows::{safe, token_text};
use super::theme::Theme;
use crate::model::{human, num, CallId};
use crate::time::Time;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, id: CallId, now: Time, theme: Theme) {
    let model = app.model();
    let Some(call) = model.call(id) else {
        frame.render_widget(
            Paragraph::new("This call is no longer held (finished calls expire). Esc to go back."),
            area,
        );
        return;
    };
    let state = model.display_state(call, now);
    let mut facts = vec![
        Line::styled(
            format!(
                "{} {} #{}  token {}  {}",
                theme.glyph(state),
                safe(call.key.tool.as_deref().unwrap_or("?")),
                call.id.0,
                safe(&token_text(call.token_shown())),
                state.label()
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
    let rows = wrap(&body(app, call, now, theme), width);
    let shown = usize::from(body_area.height.saturating_sub(1)).max(1);
    let total = rows.len();
    let query = app.detail_query.to_lowercase();
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
        usize::try_from(app.detail_match.rem_euclid(len)).unwrap_or(0)
    });
    if app.detail_jump {
        app.detail_jump = false;
        if let Some(i) = current {
            // The match a few rows down, so what leads to it shows too.
            app.detail_scroll = matches[i].saturating_sub(2);
        }
    }
    let max = total.saturating_sub(shown);
    app.detail_scroll = app.detail_scroll.min(max);
    let first = app.detail_scroll;
    let mut title = if total > shown {
        format!(
            "details {}–{} of {total} (j/k scroll · / search)",
            first + 1,
            (first + shown).min(total)
        )
    } else {
        "details (/ search)".to_owned()
    };
    if app.detail_search_edit.is_some() {
        title = format!(
            "search: {}▏ (Enter keeps · Esc cancels)",
            safe(&app.detail_query)
        );
    } else if !query.is_empty() {
        title = match current {
            Some(i) => format!(
                "\"{}\": match {} of {} (n/N step · Esc clears) · {title}",
                safe(&app.detail_query),
                i + 1,
                matches.len()
            ),
            None => format!("\"{}\": no match (Esc clears)", safe(&app.detail_query)),
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
}

/// The call's document: its error in full, its findings, its arguments and its result
/// (pretty JSON), its messages newest first (a task's status history among them), and
/// the raw last frame. Every line is safe for the terminal.
fn body(app: &App, call: &crate::model::Call, now: Time, theme: Theme) -> Vec<(String, Style)> {
    let model = app.model();
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
    if let Some((event_type, data)) = app.raw.get(&call.id) {
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
