//! The top lines: where the data comes from and how the link is, then one line per
//! active finding, then the PAUSED banner.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::rows::safe;
use super::theme::Theme;
use crate::model::human;
use crate::time::Time;

/// How many lines the header needs (warnings are capped so the table keeps room).
pub fn height(app: &App, now: Time, area: Rect) -> u16 {
    let _ = now;
    let warnings = app.findings.len().min(max_warnings(area)) as u16;
    1 + u16::from(link_line(app).is_some()) + warnings + u16::from(app.paused.is_some())
}

/// Why the source stopped, or why the link is down: the state the header word names.
fn link_line(app: &App) -> Option<String> {
    if let Some(stop) = &app.last_stop {
        return Some(format!(
            " ■ stopped: {} · q to quit",
            safe(&stop.to_string())
        ));
    }
    app.link_down
        .as_ref()
        .map(|reason| format!(" ⟳ link down: {}", safe(reason)))
}

fn max_warnings(area: Rect) -> usize {
    (area.height as usize / 5).max(1)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, now: Time, theme: Theme) {
    // The warning cap depends on the whole screen, as in `height`.
    let screen = frame.area();
    let mut lines = Vec::new();
    let mut head = vec![
        Span::styled(" mcptop ", theme.badge()),
        Span::raw(" "),
        Span::styled(app.connection.clone(), theme.title()),
    ];
    let source = &app.source;
    let mut place = vec![safe(&source.daemon), safe(&source.transport)];
    if !source.session.is_empty() {
        place.push(safe(&source.session));
    }
    // The rate first: on a narrow pane the place is what gets cut.
    head.push(Span::raw(format!(
        "  {:.0} ev/s  {}",
        app.rate,
        place
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" · ")
    )));
    if let Some(keepalive) = app.model().stream().last_keepalive {
        head.push(Span::styled(
            format!("  keep-alive {} ago", human(now - keepalive)),
            theme.hint(),
        ));
    }
    let view = app.view.describe();
    if !view.is_empty() {
        head.push(Span::styled(format!("  [{view}]"), theme.title()));
    }
    lines.push(Line::from(head));
    if let Some(text) = link_line(app) {
        lines.push(Line::styled(text, theme.warning()));
    }
    let findings = &app.findings;
    let shown = max_warnings(screen);
    for (i, finding) in findings.iter().enumerate().take(shown) {
        let mut text = format!(" ! {}", safe(&finding.message));
        if i + 1 == shown && findings.len() > shown {
            text.push_str(&format!("  (+{} more)", findings.len() - shown));
        }
        lines.push(Line::styled(text, theme.warning()));
    }
    if let Some(paused) = &app.paused {
        let new = app.model().stream().events - paused.events_at_pause;
        lines.push(Line::styled(
            format!(
                " PAUSED {} · {new} new events · p to resume ",
                human(now - paused.since)
            ),
            theme.badge(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
