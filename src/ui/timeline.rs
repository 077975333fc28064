//! `W`: the calls as bars on a time axis, a waterfall: when each started and ended (or runs
//! on), coloured by state, so concurrency, gaps and the long pole show at a glance. The
//! selection is the table's; `+`/`-` zoom in on the latest stretch of time.

use chrono::TimeDelta;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::keys::{Action, Go};
use super::theme::Theme;
use crate::model::{CallId, Model};
use crate::time::Time;

/// The timeline's own state: its zoom, and its rows (the calls by start) for the model
/// generation they were made at (a call's start never moves).
#[derive(Debug, Clone, Default)]
pub struct TimelineView {
    /// Each step halves the time it spans (0: every call).
    pub zoom: u8,
    order: (u64, Vec<CallId>),
}

impl TimelineView {
    /// Makes the rows again if calls came, ended or went since.
    pub fn refresh(&mut self, model: &Model) {
        let generation = model.generation();
        if self.order.0 != generation {
            self.order = (generation, model.ids_by_start());
        }
    }

    /// The rows as last refreshed.
    pub fn order(&self) -> &[CallId] {
        &self.order.1
    }

    /// A key on the timeline; `selected` is the selection it shares with the table.
    pub fn handle(
        &mut self,
        action: Option<Action>,
        model: &Model,
        selected: &mut Option<CallId>,
    ) -> Go {
        match action {
            Some(Action::Back) => return Go::Back,
            Some(Action::ZoomIn) => self.zoom = (self.zoom + 1).min(12),
            Some(Action::ZoomOut) => self.zoom = self.zoom.saturating_sub(1),
            Some(Action::Down | Action::Up) => {
                self.refresh(model);
                let order = self.order();
                let at = selected.and_then(|id| order.iter().position(|c| *c == id));
                let next = match (action, at) {
                    (Some(Action::Down), Some(i)) => (i + 1).min(order.len().saturating_sub(1)),
                    (_, Some(i)) => i.saturating_sub(1),
                    (_, None) => order.len().saturating_sub(1),
                };
                *selected = order.get(next).copied();
            }
            Some(Action::Detail) => return Go::Open,
            Some(Action::Help) => return Go::Help,
            _ => {}
        }
        Go::Stay
    }
}

/// The calls as bars, the timeline's rows as `view` last refreshed them.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    view: &TimelineView,
    selected: Option<CallId>,
    now: Time,
    theme: Theme,
) {
    if area.height < 3 || area.width < 20 {
        return;
    }
    let order = view.order();
    let rows = usize::from(area.height) - 2;
    // The window of rows: the newest calls, or around the selection.
    let selected_row = selected.and_then(|id| order.iter().position(|c| *c == id));
    let end_row = match selected_row {
        Some(i) => (i + 1).max(rows.min(order.len())),
        None => order.len(),
    };
    let start_row = end_row.saturating_sub(rows);
    let shown = &order[start_row..end_row.min(order.len())];
    // Time: from the earliest start shown to now, halved per zoom step (keeping the end).
    let earliest = shown
        .iter()
        .filter_map(|id| model.call(*id))
        .map(|c| c.first_seen)
        .min()
        .unwrap_or(now);
    let full = (now - earliest).max(TimeDelta::milliseconds(100));
    let span = full / 2i32.pow(u32::from(view.zoom.min(12)));
    let span = span.max(TimeDelta::milliseconds(10));
    let from = now - span;
    let label_width = 18usize.min(usize::from(area.width) / 3);
    let bar_width = usize::from(area.width)
        .saturating_sub(label_width + 1)
        .max(1);
    let column_of = |t: Time| -> usize {
        let secs = t.secs_since(from) / span.as_seconds_f64();
        ((secs * bar_width as f64).floor().max(0.0) as usize).min(bar_width)
    };
    let mut lines = vec![Line::styled(
        crate::sanitize::fit(
            &format!(
                " Timeline · {} calls · the last {} (+/- zoom)",
                order.len(),
                crate::model::human(span)
            ),
            usize::from(area.width),
        ),
        theme.title(),
    )];
    // The axis: its start and end.
    let left = format!("-{}", crate::model::human(span));
    let axis = format!(
        "{:label_width$} {left}{:>pad$}",
        "",
        "now",
        pad = bar_width
            .saturating_sub(crate::sanitize::width(&left))
            .max(3)
    );
    lines.push(Line::styled(
        crate::sanitize::fit(&axis, usize::from(area.width)),
        theme.hint(),
    ));
    let (full_cell, _, _) = theme.bar_cells();
    let head = Rect {
        height: 2.min(area.height),
        ..area
    };
    frame.render_widget(Paragraph::new(lines), head);
    // The rows are written cell by cell: a bar is one symbol repeated, and the blank
    // before it is the cleared buffer, so no text is laid out for it.
    let buffer = frame.buffer_mut();
    let label_cells = u16::try_from(label_width + 1).unwrap_or(u16::MAX);
    // Calls of the same tool and session are told apart by their number, as in the table.
    let key = |id: &CallId| {
        model
            .call(*id)
            .map(|c| (c.key.tool.clone(), c.session_label.clone()))
    };
    let keys: Vec<_> = shown.iter().map(key).collect();
    let twin = |row: usize| keys.iter().filter(|k| **k == keys[row]).nth(1).is_some();
    for (row, id) in shown.iter().enumerate() {
        let Some(call) = model.call(*id) else {
            continue;
        };
        let Some(y) = u16::try_from(row + 2)
            .ok()
            .and_then(|r| area.y.checked_add(r))
            .filter(|y| *y < area.bottom())
        else {
            break;
        };
        let state = model.display_state(call, now);
        let end = call.ended_at.unwrap_or(now);
        let (a, b) = (column_of(call.first_seen), column_of(end));
        let mut tool =
            crate::sanitize::terminal(call.key.tool.as_deref().unwrap_or("?")).into_owned();
        if call.subagent.is_some() {
            // A subagent's call, under the calls of its agent.
            tool.insert_str(0, if theme.ascii { "> " } else { "↳ " });
        }
        let suffix = if twin(row) {
            format!(" #{}", call.id.0)
        } else {
            String::new()
        };
        let label = format!(
            "{} {}",
            theme.glyph(state),
            super::table::fit_label(&tool, &suffix, label_width.saturating_sub(2))
        );
        buffer.set_stringn(
            area.x,
            y,
            &label,
            label_width,
            ratatui::style::Style::default(),
        );
        let bar_x = area.x.saturating_add(label_cells);
        if end < from {
            buffer.set_stringn(bar_x, y, "‹", 1, theme.hint());
        } else {
            let len = b
                .saturating_sub(a)
                .max(1)
                .min(bar_width - a.min(bar_width - 1));
            let style = theme.state(state);
            for x in a..a + len {
                let Some(x) = u16::try_from(x)
                    .ok()
                    .and_then(|x| bar_x.checked_add(x))
                    .filter(|x| *x < area.right())
                else {
                    break;
                };
                buffer[(x, y)].set_symbol(full_cell).set_style(style);
            }
        }
        if Some(*id) == selected {
            buffer.set_style(
                Rect {
                    x: area.x,
                    y,
                    width: area.width,
                    height: 1,
                },
                theme.selected(),
            );
        }
    }
}
