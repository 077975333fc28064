//! The top lines: where the data comes from and how the link is, then one line per
//! active finding, then the PAUSED banner.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::rows::safe;
use super::theme::Theme;
use crate::model::human;
use crate::sanitize::fit;
use crate::time::Time;

/// How many lines the header needs (warnings are capped so the table keeps room).
pub fn height(app: &App, now: Time, area: Rect) -> u16 {
    let _ = now;
    let warnings = app.findings.len().min(max_warnings(area)) as u16;
    1 + u16::from(app.last_stop.is_some() || app.link_down.is_some())
        + warnings
        + u16::from(app.paused.is_some())
}

/// Why the source stopped, or why the link is down: the state the header word names.
fn link_line(app: &App, width: usize, ascii: bool) -> Option<String> {
    let (stop_mark, down_mark, dot) = if ascii {
        ("#", "~", "|")
    } else {
        ("■", "⟳", "·")
    };
    if let Some(stop) = &app.last_stop {
        // The way out stays in view however narrow the pane: the reason is what is cut.
        let tail = format!(" {dot} q to quit");
        let head = format!(" {stop_mark} stopped: ");
        let room =
            width.saturating_sub(crate::sanitize::width(&head) + crate::sanitize::width(&tail));
        return Some(format!("{head}{}{tail}", fit(&safe(stop), room)));
    }
    let what = if app.connection == super::app::LinkState::Waiting {
        ""
    } else {
        "link down: "
    };
    app.link_down
        .as_ref()
        .map(|reason| fit(&format!(" {down_mark} {what}{}", safe(reason)), width))
}

fn max_warnings(area: Rect) -> usize {
    (area.height as usize / 5).max(1)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, now: Time, theme: Theme) {
    // The warning cap depends on the whole screen, as in `height`.
    let screen = frame.area();
    let mut lines = Vec::new();
    let dot = if theme.ascii { " | " } else { " · " };
    let source = &app.source;
    let mut place = vec![safe(&source.daemon), safe(&source.transport)];
    if !source.session.is_empty() {
        place.push(safe(&source.session));
    }
    let place = place
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(dot);
    // Paused, the counts hold still with the rows.
    let counts = app.paused.as_ref().map_or(&app.counts, |p| &p.counts);
    let keepalive = app
        .model()
        .stream()
        .last_keepalive
        .map(|k| format!("keep-alive {} ago", human(now - k)));
    let view = app.view.describe(|id| {
        app.model()
            .calls()
            .find(|c| c.key.session.as_deref() == Some(id))
            .and_then(|c| c.session_label.as_deref())
            .map(|l| crate::sanitize::terminal(l).into_owned())
    });
    let follow = app.follow.then(|| "[follow]".to_owned());
    // What matters most first: the counts, then a filter or sort (it hides or moves
    // rows, so it never goes unsaid), then the place (cut with `…` rather than lose its
    // end silently), the rate and the keep-alive, left out when they do not fit.
    let width = usize::from(area.width);
    let link = app.connection.words(now);
    let mut used = " mcptop ".len() + 1 + crate::sanitize::width(&link);
    let mut head = vec![
        Span::styled(" mcptop ", theme.badge()),
        Span::raw(" "),
        Span::styled(link, theme.title()),
    ];
    // Adds `text` when it fits (cut with `…` when `cut` allows), keeping count of the
    // columns used.
    let push = |head: &mut Vec<Span<'static>>, used: &mut usize, text: String, style, cut: bool| {
        let room = width.saturating_sub(*used + 2);
        let len = crate::sanitize::width(&text);
        if len <= room {
            *used += len + 2;
            head.push(Span::raw("  "));
            head.push(Span::styled(text, style));
        } else if cut && room >= 6 {
            let shown = fit(&text, room);
            if shown == "…" {
                return; // nothing of it would be left to read
            }
            *used += crate::sanitize::width(&shown) + 2;
            head.push(Span::raw("  "));
            head.push(Span::styled(shown, style));
        }
    };
    // A filter or sort keeps room for at least `[filter: b…]` beside the counts.
    let for_view = if view.is_empty() {
        0
    } else {
        (crate::sanitize::width(&view) + 4).min(16)
    };
    let counts = counts.describe_within(dot, width.saturating_sub(used + 2 + for_view));
    if !counts.is_empty() {
        push(&mut head, &mut used, counts, theme.title(), true);
    }
    if !view.is_empty() {
        // Cut, the bracket still closes: `[filter: bui…]`.
        let room = width.saturating_sub(used + 2);
        let text = if crate::sanitize::width(&view) + 2 <= room {
            format!("[{view}]")
        } else {
            format!("[{}]", fit(&view, room.saturating_sub(2).max(1)))
        };
        push(&mut head, &mut used, text, theme.title(), true);
    }
    if let Some(f) = follow {
        push(&mut head, &mut used, f, theme.title(), false);
    }
    push(&mut head, &mut used, place, Style::default(), true);
    push(
        &mut head,
        &mut used,
        format!("{:.0} ev/s", app.rate),
        Style::default(),
        false,
    );
    if let Some(k) = keepalive {
        push(&mut head, &mut used, k, theme.hint(), false);
    }
    lines.push(Line::from(head));
    if let Some(text) = link_line(app, width, theme.ascii) {
        lines.push(Line::styled(text, theme.warning()));
    }
    let findings = &app.findings;
    let shown = max_warnings(screen);
    for (i, finding) in findings.iter().enumerate().take(shown) {
        let mut more = String::new();
        if i + 1 == shown && findings.len() > shown {
            more = format!("  (+{} more)", findings.len() - shown);
        }
        let room = width.saturating_sub(crate::sanitize::width(&more));
        let text = fit(&theme.text(&format!(" ! {}", safe(&finding.message))), room) + &more;
        lines.push(Line::styled(text, theme.warning()));
    }
    if let Some(paused) = &app.paused {
        let new = app.model().stream().events - paused.events_at_pause;
        let new = if new == 1 {
            "1 new event".to_owned()
        } else {
            format!("{new} new events")
        };
        lines.push(Line::styled(
            fit(
                &theme.text(&format!(
                    " PAUSED {} · {new} · p to resume ",
                    human(now - paused.since)
                )),
                width,
            ),
            theme.badge(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
