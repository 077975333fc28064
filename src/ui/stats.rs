//! Per-tool statistics: `T` opens them; a tall pane shows them in the rows the table
//! leaves free.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::rows::RowView;
use super::theme::Theme;
use crate::model::stats::{tool_stats_of, ToolStats};
use crate::model::Model;
use crate::time::Time;

/// How many tools the calls held belong to (at most: the view may show fewer).
pub fn tool_count(model: &Model) -> usize {
    let mut tools: Vec<&str> = model
        .calls()
        .map(|c| c.key.tool.as_deref().unwrap_or("?"))
        .collect();
    tools.sort_unstable();
    tools.dedup();
    tools.len()
}

fn duration(d: Option<chrono::TimeDelta>) -> String {
    d.map_or("-".to_owned(), crate::model::human)
}

fn cells(s: &ToolStats) -> Vec<String> {
    vec![
        crate::sanitize::terminal(&s.tool).into_owned(),
        s.calls.to_string(),
        s.running.to_string(),
        match s.failure_percent() {
            Some(p) if s.failed > 0 => format!("{} {p:.0}%", s.failed),
            _ => s.failed.to_string(),
        },
        duration(s.p50),
        duration(s.p95),
        duration(s.max),
        s.mean_rate.map_or("-".to_owned(), |r| format!("{r:.1}/s")),
        s.last_error
            .as_deref()
            .map(|e| crate::sanitize::terminal(e).into_owned())
            .unwrap_or_default(),
    ]
}

/// The per-tool figures over the calls of `shown` (the table's rows: its filter applies).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    shown: &[RowView],
    now: Time,
    theme: Theme,
) {
    if area.height < 2 {
        return;
    }
    let shown: std::collections::HashSet<crate::model::CallId> =
        shown.iter().map(|r| r.id).collect();
    let stats = tool_stats_of(model, now, |c| shown.contains(&c.id));
    let title = Line::styled(
        theme.text(" Per tool, over the calls shown (T)"),
        theme.title(),
    );
    let [head, body] =
        ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    frame.render_widget(Paragraph::new(title), head);
    if stats.is_empty() {
        frame.render_widget(Paragraph::new(" no calls yet"), body);
        return;
    }
    let rows: Vec<Vec<String>> = stats.iter().map(cells).collect();
    let names = [
        "tool",
        "calls",
        "run",
        "failed",
        "p50",
        "p95",
        "max",
        "prog/s",
        "last error",
    ];
    // Narrow panes drop the right-hand columns first; the tool and its counts stay.
    let width = usize::from(area.width);
    let keep = match width {
        0..=39 => 4,
        40..=59 => 5,
        60..=79 => 7,
        80..=99 => 8,
        _ => 9,
    };
    let widths: Vec<u16> = (0..keep)
        .map(|i| {
            let w = rows
                .iter()
                .map(|r| crate::sanitize::width(&r[i]))
                .max()
                .unwrap_or(0)
                .max(names[i].len());
            let cap = if i == 0 {
                28
            } else if i == 8 {
                60
            } else {
                10
            };
            u16::try_from(w.min(cap)).unwrap_or(10)
        })
        .collect();
    let header = Row::new(names[..keep].iter().map(|n| Cell::from(*n))).style(theme.title());
    let table_rows = rows.iter().map(|r| {
        Row::new(
            r[..keep]
                .iter()
                .zip(&widths)
                .map(|(text, w)| Cell::from(crate::sanitize::fit(text, usize::from(*w)))),
        )
    });
    let constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
    frame.render_widget(
        Table::new(table_rows, constraints)
            .header(header)
            .column_spacing(1),
        body,
    );
}
