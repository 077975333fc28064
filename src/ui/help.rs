//! `?`: every key and every glyph.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::keys::{Action, Go, KeyMap};
use super::theme::Theme;
use crate::model::DisplayState;

/// Each action of the table and what it does; the keys shown are those in force (the
/// config file's `[keys]` can change them).
const ACTIONS: &[(Action, &str)] = &[
    (Action::Quit, "quit (also Ctrl-C)"),
    (
        Action::Down,
        "move the selection down (it stays on its call when rows change)",
    ),
    (Action::Up, "move the selection up"),
    (Action::First, "first call"),
    (Action::Last, "last call"),
    (Action::PageDown, "a page down"),
    (Action::PageUp, "a page up"),
    (Action::Detail, "the selected call in detail: arguments, result, error, messages (Esc back; j/k scroll; / search, n/N step)"),
    (
        Action::Pause,
        "pause the screen (data keeps arriving; again to resume)",
    ),
    (Action::Filter, "filter: words in tool, session or message, tool:NAME, session:LABEL, in:SESSION-ID, state:running|stalled|done|failed|cancelled|lost, ! to negate; matches are highlighted (Esc while typing cancels the edit, Esc on the table clears the filter)"),
    (Action::Follow, "follow: the selection jumps to each new call as it starts (moving stops it)"),
    (Action::Findings, "only calls with findings (stalled, not increasing, …)"),
    (Action::SortNext, "sort by the next column (running first, start, tool, state, %, elapsed, last update)"),
    (Action::SortPrevious, "sort by the previous column"),
    (Action::Invert, "invert the sort"),
    (Action::CopyRow, "copy the selected row as text (OSC 52: works over SSH and tmux)"),
    (Action::CopyJson, "copy the selected call as JSON"),
    (Action::ClearDone, "clear finished and lost calls"),
    (Action::Columns, "choose the columns (Space toggles, live)"),
    (Action::Stats, "per-tool statistics: calls, failures, p50/p95/max, rate"),
    (Action::Timeline, "timeline: each call a bar in time (+/- zoom, j/k select)"),
    (Action::Servers, "servers: name, version, protocol, capabilities and tools, from the taps"),
    (Action::Agents, "agents: each agent session, the one waiting for you on top (Enter: its calls)"),
    (Action::Dismiss, "dismiss the findings shown until something new happens"),
    (Action::Help, "this help (Esc back)"),
    (Action::Back, "back to the table from a view; on the table, clear the filter"),
];

/// The views' own keys (looked up before the table's there).
const VIEW_ACTIONS: &[(Action, &str)] = &[
    (Action::NextMatch, "detail: the next match of the search"),
    (Action::PreviousMatch, "detail: the previous match"),
    (Action::CloseDetail, "detail: back to the table"),
    (
        Action::ZoomIn,
        "timeline: zoom in on the latest stretch of time",
    ),
    (Action::ZoomOut, "timeline: zoom out"),
    (
        Action::Toggle,
        "columns: show or hide the column under the cursor",
    ),
];

/// Keys of `mcptop replay FILE` in a terminal (play and pause: the pause key).
const REPLAY_ACTIONS: &[(Action, &str)] = &[
    (Action::Pause, "play / pause the replay"),
    (
        Action::StepForward,
        "one event forward (the state is re-derived)",
    ),
    (Action::StepBack, "one event back"),
    (Action::SeekForward, "seek 5 s forward"),
    (Action::SeekBack, "seek 5 s back"),
    (Action::SeekTenths, "jump to 0 % … 90 %"),
    (Action::Faster, "faster"),
    (Action::Slower, "slower"),
    (Action::NextMarker, "next reconnect or disconnect"),
    (Action::PreviousMarker, "previous reconnect or disconnect"),
];

/// What each state glyph means (the glyphs themselves come from the theme, so `--ascii`
/// shows its own).
const STATES: &[(DisplayState, &str)] = &[
    (DisplayState::Running, "running"),
    (
        DisplayState::Stalled,
        "stalled: running, but quiet for much longer than its own update cadence",
    ),
    (
        DisplayState::Waiting(crate::wire::Wait::Input),
        "waiting for input: the server asked the client something (an MCP task's input_required)",
    ),
    (
        DisplayState::Waiting(crate::wire::Wait::Permission),
        "waiting for permission: the agent asks its user whether the tool may run",
    ),
    (
        DisplayState::Done,
        "done (progress reached its total, or the server said so)",
    ),
    (DisplayState::Failed, "failed"),
    (DisplayState::Cancelled, "cancelled"),
    (
        DisplayState::Lost,
        "lost: its end never came and never will (its daemon restarted, or the agent moved on without it); c clears",
    ),
];

/// `head` then `what`, word-wrapped to `width` columns; the lines after the first start
/// under the first word of `what` (a hanging indent), so the keys' column stays clear.
pub(super) fn hang(head: &str, what: &str, width: usize) -> Vec<Line<'static>> {
    let indent = crate::sanitize::width(head);
    // Too narrow for a column of its own: the text wraps under the key instead.
    let (indent, room) = match width.checked_sub(indent) {
        Some(room) if room >= 16 => (indent, room),
        _ => (
            2.min(width.saturating_sub(1)),
            width.saturating_sub(2).max(1),
        ),
    };
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for word in what.split(' ').filter(|w| !w.is_empty()) {
        let w = crate::sanitize::width(word);
        if used > 0 && used + 1 + w > room {
            rows.push(std::mem::take(&mut row));
            used = 0;
        }
        if used > 0 {
            row.push(' ');
            used += 1;
        }
        // A word longer than the room is cut where the room ends.
        for c in word.chars() {
            let cw = crate::sanitize::char_width(c);
            if used > 0 && used + cw > room {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            row.push(c);
            used += cw;
        }
    }
    rows.push(row);
    let pad = " ".repeat(indent);
    let first_fits = crate::sanitize::width(head) + crate::sanitize::width(&rows[0]) <= width;
    let mut out = Vec::with_capacity(rows.len() + 1);
    let mut rows = rows.into_iter();
    if first_fits {
        out.push(Line::raw(format!(
            "{head}{}",
            rows.next().unwrap_or_default()
        )));
    } else {
        out.push(Line::raw(head.trim_end().to_owned()));
    }
    out.extend(rows.map(|r| Line::raw(format!("{pad}{r}"))));
    out
}

/// The help's lines for `theme` (plain ASCII with `--ascii`), wrapped to `width` columns.
fn lines(theme: Theme, keys: &KeyMap, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    let text = |s: &str| theme.text(s);
    let entry = |key: &str, what: &str| hang(&format!("  {key:<10} "), what, width);
    let mut lines = vec![Line::styled("Glyphs", theme.title())];
    for (state, what) in STATES {
        lines.extend(entry(theme.glyph(*state), what));
    }
    let (full, empty, spin) = theme.bar_cells();
    lines.extend(entry(
        &format!("{full}{empty}"),
        "progress against a known total (full only when done)",
    ));
    lines.extend(entry(
        &spin[0].to_string(),
        "running with an unknown total (the count is shown)",
    ));
    lines.push(Line::raw(""));
    lines.push(Line::styled("Keys (j/k scroll this help)", theme.title()));
    for (action, what) in ACTIONS {
        lines.extend(entry(&text(&keys.keys_of(*action)), &text(what)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("In the views", theme.title()));
    for (action, what) in VIEW_ACTIONS {
        lines.extend(entry(&text(&keys.keys_of(*action)), &text(what)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Replay", theme.title()));
    for (action, what) in REPLAY_ACTIONS {
        let keys = match action {
            // Ten digits say less than their range.
            Action::SeekTenths => "0 … 9".to_owned(),
            _ => keys.keys_of(*action),
        };
        lines.extend(entry(&text(&keys), &text(what)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Columns", theme.title()));
    lines.extend(hang(
        "  ",
        &text(
            "% and eta need a known total; eta shows once the rate is steady. last: time since \
             the call's last update. As the pane narrows, token, rate, eta and last go first; \
             state, tool, progress, %, elapsed and the message stay (at 40 columns: state, \
             tool and progress). Running calls come first, then finished ones, newest first; a \
             last line says how many more are below and how many of those run.",
        ),
        width,
    ));
    lines
}

/// The help's own state.
#[derive(Debug, Clone, Default)]
pub struct HelpView {
    /// Lines scrolled down (held to the help's end when drawn).
    pub scroll: u16,
}

impl HelpView {
    pub fn handle(&mut self, action: Option<Action>) -> Go {
        match action {
            Some(Action::Back | Action::Detail | Action::Help) => {
                self.scroll = 0;
                return Go::Back;
            }
            Some(Action::Down | Action::PageDown) => self.scroll = self.scroll.saturating_add(3),
            Some(Action::Up | Action::PageUp) => self.scroll = self.scroll.saturating_sub(3),
            _ => {}
        }
        Go::Stay
    }
}

/// The help, scrolled down by `scroll` lines, never past its end. Returns the scroll
/// used (the caller keeps it, so j/k cannot run off into a blank page).
pub fn draw(frame: &mut Frame, area: Rect, scroll: u16, theme: Theme, keys: &KeyMap) -> u16 {
    let paragraph = Paragraph::new(lines(theme, keys, area.width)).wrap(Wrap { trim: false });
    let rows = paragraph.line_count(area.width.max(1));
    let max = u16::try_from(rows.saturating_sub(usize::from(area.height))).unwrap_or(u16::MAX);
    let scroll = scroll.min(max);
    frame.render_widget(paragraph.scroll((scroll, 0)), area);
    scroll
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_long_entry_wraps_under_its_text_not_under_the_keys() {
        let keys = KeyMap::default();
        for width in [120u16, 80, 60, 40] {
            let lines: Vec<String> = lines(Theme::plain(), &keys, width)
                .iter()
                .map(text)
                .collect();
            for line in &lines {
                assert!(
                    crate::sanitize::width(line) <= usize::from(width),
                    "{width}: {line:?}"
                );
            }
            // The filter's entry: its first line names the key, the rest hang under its text.
            let at = lines
                .iter()
                .position(|l| l.contains("filter: words in tool"))
                .unwrap();
            assert!(
                lines[at].starts_with("  /          filter:"),
                "{width}: {lines:?}"
            );
            let rest: Vec<&String> = lines[at + 1..]
                .iter()
                .take_while(|l| l.starts_with(&" ".repeat(13)))
                .collect();
            assert!(!rest.is_empty(), "{width}: {lines:?}");
            let whole = std::iter::once(lines[at].as_str())
                .chain(rest.iter().map(|l| l.as_str()))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                whole.ends_with("Esc on the table clears the filter)"),
                "{width}: {whole}"
            );
        }
        // Too narrow for a column: the text goes under the key, two columns in.
        let lines: Vec<String> = lines(Theme::plain(), &keys, 20).iter().map(text).collect();
        // (Titles are left to the paragraph's own wrapping.)
        assert!(
            lines
                .iter()
                .filter(|l| l.starts_with(' '))
                .all(|l| crate::sanitize::width(l) <= 20),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l == "  /"), "{lines:?}");
    }
}
