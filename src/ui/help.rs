//! `?`: every key and every glyph.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;

/// Keys and what they do: data, shared by the help screen and the footer.
pub const KEYS: &[(&str, &str)] = &[
    ("q Ctrl-C", "quit"),
    (
        "j k ↓ ↑",
        "move the selection (it stays on its call when rows change)",
    ),
    ("g G", "first / last call"),
    ("PgUp PgDn", "a page up / down"),
    ("Enter", "the selected call in detail (Esc back)"),
    (
        "p Space",
        "pause the screen (data keeps arriving; p again to resume)",
    ),
    ("/", "filter: words in tool, session or message, tool:NAME, session:LABEL, state:running|stalled|done|failed|cancelled, ! to negate (Esc clears)"),
    ("f", "follow: the selection jumps to each new call as it starts (moving stops it)"),
    ("F", "only calls with findings (stalled, not increasing, …)"),
    ("s S i", "sort by the next / previous column (start, tool, state, %, elapsed, last update); invert"),
    ("y Y", "copy the selected row as text / the call as JSON (OSC 52: works over SSH and tmux)"),
    ("c", "clear finished calls"),
    ("?", "this help (Esc back)"),
];

/// Keys of `mcptop replay FILE` in a terminal.
pub const REPLAY_KEYS: &[(&str, &str)] = &[
    ("Space p", "play / pause the replay"),
    (". ,", "one event forward / back (the state is re-derived)"),
    ("← →", "seek 5 s back / forward"),
    ("0 … 9", "jump to 0 % … 90 %"),
    ("+ -", "faster / slower"),
    ("[ ]", "previous / next reconnect or disconnect"),
];

pub const GLYPHS: &[(&str, &str)] = &[
    ("▶", "running"),
    (
        "‼",
        "stalled: running, but quiet for much longer than its own update cadence",
    ),
    (
        "✓",
        "done (progress reached its total, or the server said so)",
    ),
    ("✗", "failed"),
    ("⊘", "cancelled"),
    ("█░", "progress against a known total"),
    ("◐", "running with an unknown total (the count is shown)"),
];

/// The help, scrolled down by `scroll` lines (j/k move it on a small pane).
pub fn draw(frame: &mut Frame, area: Rect, scroll: u16, theme: Theme) {
    let mut lines = vec![Line::styled("Glyphs", theme.title())];
    for (glyph, what) in GLYPHS {
        lines.push(Line::raw(format!("  {glyph:<10} {what}")));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Keys (j/k scroll this help)", theme.title()));
    for (key, what) in KEYS {
        lines.push(Line::raw(format!("  {key:<10} {what}")));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Replay", theme.title()));
    for (key, what) in REPLAY_KEYS {
        lines.push(Line::raw(format!("  {key:<10} {what}")));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Columns", theme.title()));
    lines.push(Line::raw(
        "  % and eta need a known total; eta shows once the rate is steady. last: time since the \
         call's last update. Columns drop from the right as the pane narrows.",
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}
