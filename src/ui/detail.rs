//! One call in full: its messages with times, a sparkline of progress over time, its rate,
//! its findings in sentences, and the raw facts the model keeps.

use ratatui::layout::{Constraint, Layout, Rect};
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
                "{} {}  token {}  {}",
                theme.glyph(state),
                safe(call.key.tool.as_deref().unwrap_or("?")),
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
    for (name, detail) in [("arguments", &call.arguments), ("result", &call.result)] {
        let Some(value) = detail
            .as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        else {
            continue;
        };
        facts.push(Line::styled(format!("{name}:"), theme.hint()));
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
        for line in pretty.lines().take(40) {
            facts.push(Line::raw(format!("  {}", safe(line))));
        }
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
    if let Some(error) = &call.error {
        facts.push(Line::styled(
            format!("error: {}", safe(error)),
            theme.warning(),
        ));
    }
    for finding in model.call_findings(call, now) {
        facts.push(Line::styled(
            format!("! {}", safe(&finding.message)),
            theme.warning(),
        ));
    }
    if let Some((event_type, data)) = app.raw.get(&id) {
        facts.push(Line::styled(
            format!("last frame ({}): {}", safe(event_type), safe(data)),
            theme.hint(),
        ));
    }
    // Wrapped lines take more than one row (the raw frame wraps whole).
    let facts = Paragraph::new(facts).wrap(Wrap { trim: false });
    let facts_height = u16::try_from(facts.line_count(area.width.max(1))).unwrap_or(u16::MAX);
    // The messages keep at least a few rows (and their title) however long the facts
    // are: on a small pane the end of the raw frame is what gives way.
    let facts_height = facts_height.min((area.height / 2).max(3));
    let [top, spark, messages] = Layout::vertical([
        Constraint::Length(facts_height),
        Constraint::Length(if area.height > 12 { 4 } else { 0 }),
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
    let lines: Vec<Line> = call
        .messages
        .iter()
        .rev()
        .map(|m| {
            Line::raw(format!(
                "{}  {}",
                m.at.to_datetime().format("%H:%M:%S%.3f"),
                safe(m.text)
            ))
        })
        .collect();
    // The messages scroll (j/k, PgUp/PgDn, g/G), never past their end.
    let shown = usize::from(messages.height.saturating_sub(1)).max(1);
    let total = lines.len();
    let max = total.saturating_sub(shown);
    app.detail_scroll = app.detail_scroll.min(max);
    let first = app.detail_scroll;
    let title = if total > shown {
        format!(
            "messages, newest first: {}–{} of {total} (j/k scroll)",
            first + 1,
            (first + shown).min(total)
        )
    } else {
        "messages, newest first".to_owned()
    };
    let lines: Vec<Line> = lines.into_iter().skip(first).collect();
    let title = crate::sanitize::fit(&theme.text(&title), usize::from(area.width));
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::TOP).title(title))
            .wrap(Wrap { trim: false }),
        messages,
    );
}
