//! The calls table. Columns drop by priority as the pane narrows: usable at 60 columns,
//! still useful at 40.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::columns::{twins, Chooser, Column, TableState, MIN_MESSAGE};
use super::rows::RowView;
use super::theme::Theme;
use super::view::ViewOptions;
use crate::model::{CallId, DisplayState, Model};
use crate::time::Time;

/// `name` and `suffix` in `width` columns: the name gives way, the suffix stays whole.
pub fn fit_label(name: &str, suffix: &str, width: usize) -> String {
    let room = width.saturating_sub(crate::sanitize::width(suffix));
    if suffix.is_empty() || room < 2 {
        return crate::sanitize::fit(&format!("{name}{suffix}"), width);
    }
    format!("{}{suffix}", crate::sanitize::fit(name, room))
}

/// Text cut to `width` columns, with `…` when something was cut.
fn fit(text: &str, width: u16) -> String {
    crate::sanitize::fit(text, usize::from(width))
}

/// The columns that fit in `width` with their widths, in display order. The tool
/// name gives up width first, so state, tool and progress fit even at 40 columns.
#[cfg(test)]
fn columns(width: u16, rows: &[RowView]) -> Vec<(Column, u16)> {
    let all: Vec<(Column, bool)> = Column::DEFAULT.iter().map(|&c| (c, true)).collect();
    columns_of(width, rows, &all, &mut TableState::default())
}

/// As [`columns`], with only the columns `shown` enables, in its order.
fn columns_of(
    width: u16,
    rows: &[RowView],
    shown: &[(Column, bool)],
    state: &mut TableState,
) -> Vec<(Column, u16)> {
    let enabled = |c: Column| shown.iter().any(|&(k, on)| k == c && on);
    use Column::*;
    // Most important first: what the call is and how far it got, how long it has run
    // and how long it has been quiet (quiet or stuck?), what it says; then the rest.
    // Rows of the same tool are told apart by their number, not by the token. Which
    // subagent made a call comes after what the call says (it is empty, and takes
    // nothing, without): at 80 columns the command a call runs is worth more than who
    // made it (the detail view says that too).
    let priority = [
        State, Tool, Progress, Percent, Elapsed, Since, Message, Agent, Session, What, Rate, Eta,
        Token,
    ];
    let order: Vec<Column> = shown.iter().map(|&(c, _)| c).collect();
    let essential = State.width(rows) + Progress.width(rows) + 3;
    let mut chosen: Vec<(Column, u16)> = Vec::new();
    let mut used = 0u16;
    state.empty.clear();
    for column in priority {
        if !enabled(column) {
            continue;
        }
        let mut w = state.width(column, rows);
        if w == 0 {
            state.empty.push(column);
            continue;
        }
        if column == Tool {
            if width < 90 {
                w = w.min(20); // leave room for what tells the rows apart
            }
            if width < 70 {
                w = w.min(14);
            }
            w = w.min(width.saturating_sub(essential).max(6));
        }
        if column == Message {
            // The least that says something (it takes what is left): a narrower
            // message is dropped, not cut to a few useless characters.
            w = MIN_MESSAGE;
        }
        // Once the message is in, what comes after must leave it room to say more.
        let reserve = if column != Message && chosen.iter().any(|(c, _)| *c == Message) {
            MIN_MESSAGE
        } else {
            0
        };
        if used + w + reserve < width || matches!(column, State | Tool) {
            chosen.push((column, w));
            used += w + 1;
        }
    }
    order
        .into_iter()
        .filter_map(|c| chosen.iter().find(|(k, _)| *k == c).copied())
        .collect()
}

/// A bar of 10 cells, then the count: bars line up whatever the counts.
fn bar(row: &RowView, tick: u64, theme: Theme) -> String {
    const BAR: usize = 10;
    let text = &row.progress;
    let (full_cell, empty_cell, spin) = theme.bar_cells();
    match row.ratio {
        Some(r) => {
            // Full only when done: 98 % shows nine cells, never ten.
            let full = if r >= 1.0 {
                BAR
            } else {
                ((r * BAR as f64).round() as usize).min(BAR - 1)
            };
            format!(
                "{}{} {text}",
                full_cell.repeat(full),
                empty_cell.repeat(BAR - full)
            )
        }
        None if row.state == DisplayState::Running => {
            // Unknown total: a spinner and the count.
            format!(
                "{}{} {text}",
                spin[(tick % 4) as usize],
                " ".repeat(BAR - 1)
            )
        }
        None => text.clone(),
    }
}

/// `text` with every match of the filter's words highlighted.
fn highlighted(text: String, terms: &[String], theme: Theme) -> Line<'static> {
    highlighted_in(text, terms, theme, ratatui::style::Style::default())
}

/// `text` in `style`, with every match of `terms` (lower case) highlighted.
pub(super) fn highlighted_in(
    text: String,
    terms: &[String],
    theme: Theme,
    style: ratatui::style::Style,
) -> Line<'static> {
    if terms.iter().all(String::is_empty) {
        return Line::styled(text, style);
    }
    let lower = text.to_lowercase();
    // Byte ranges of matches; lower-casing keeps byte offsets only for ASCII, so other
    // text is matched but not marked.
    if lower.len() != text.len() {
        return Line::styled(text, style);
    }
    let mut marks = vec![false; text.len()];
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let mut from = 0;
        while let Some(i) = lower[from..].find(term.as_str()) {
            let start = from + i;
            for m in &mut marks[start..start + term.len()] {
                *m = true;
            }
            from = start + term.len().max(1);
        }
    }
    let mut spans = Vec::new();
    let mut start = 0;
    for i in 1..=text.len() {
        if i == text.len() || marks[i] != marks[start] {
            if text.is_char_boundary(start) && text.is_char_boundary(i) {
                let piece = text[start..i].to_owned();
                spans.push(if marks[start] {
                    Span::styled(piece, style.patch(theme.highlight()))
                } else {
                    Span::styled(piece, style)
                });
            }
            start = i;
        }
    }
    Line::from(spans)
}

/// The table's own state between frames: how far it is scrolled, the page it showed,
/// what lies outside its window, and the rows and columns made for the next draw.
#[derive(Debug, Clone)]
pub struct TableView {
    /// Rows above the visible part.
    pub scroll: usize,
    /// Visible rows at the last draw (for PgUp/PgDn).
    pub page: usize,
    /// Rows below the window, and how many of them run.
    pub below: (usize, usize),
    /// Running calls above the window (scrolled past).
    pub running_above: usize,
    /// The widths each column has had, and the columns last laid out.
    pub columns: TableState,
    /// The model's display order and how many of its first calls run, for the model
    /// generation it was made at: a frame reuses it until calls come, end or go.
    order: (u64, usize, Vec<CallId>),
    /// What the next draw shows: the window's rows, the selection's index among them,
    /// and the columns with their widths.
    window: Vec<RowView>,
    selected_row: Option<usize>,
    layout: Vec<(Column, u16)>,
}

impl Default for TableView {
    fn default() -> Self {
        TableView {
            scroll: 0,
            page: 10,
            below: (0, 0),
            running_above: 0,
            columns: TableState::default(),
            order: (0, 0, Vec::new()),
            window: Vec::new(),
            selected_row: None,
            layout: Vec::new(),
        }
    }
}

impl TableView {
    /// [`Model::display_order`], cached until the model's generation changes.
    fn refresh_order(&mut self, model: &Model) {
        let generation = model.generation();
        if self.order.0 != generation {
            let order = model.display_order();
            let active = order
                .iter()
                .take_while(|&&id| model.call(id).is_some_and(|c| !c.status.is_finished()))
                .count();
            self.order = (generation, active, order);
        }
    }

    /// Makes the rows that fit in `visible` lines, scrolled so the selection shows.
    /// `all` is every row of the view (filtered, sorted or paused); `None` is the model's
    /// own order, of which only the visible rows are built, so a frame costs the same
    /// with ten calls or ten thousand.
    pub fn window(
        &mut self,
        model: &Model,
        all: Option<Vec<RowView>>,
        selected: Option<CallId>,
        now: Time,
        visible: usize,
    ) -> (Vec<RowView>, Option<usize>) {
        self.page = visible;
        let plain = all.is_none();
        let all = all.unwrap_or_default();
        if plain {
            self.refresh_order(model);
        }
        let order = if plain {
            std::mem::take(&mut self.order.2)
        } else {
            Vec::new()
        };
        let total = if plain { order.len() } else { all.len() };
        // When the rows do not all fit, the last line says what lies below.
        let visible = if total > visible && visible > 1 {
            visible - 1
        } else {
            visible
        };
        self.page = visible;
        let selected = selected.and_then(|s| {
            if plain {
                order.iter().position(|&id| id == s)
            } else {
                all.iter().position(|r| r.id == s)
            }
        });
        if let Some(i) = selected {
            if i < self.scroll {
                self.scroll = i;
            } else if i >= self.scroll + visible {
                self.scroll = i + 1 - visible;
            }
        }
        self.scroll = self.scroll.min(total.saturating_sub(visible));
        // What lies below the window, for the table's last line.
        let running = |id: &CallId| model.call(*id).is_some_and(|c| !c.status.is_finished());
        let from = (self.scroll + visible).min(total);
        self.below = if plain {
            // Running calls come first in this order: those below are counted, not looked up.
            (order.len() - from, self.order.1.saturating_sub(from))
        } else {
            let rest = &all[from..];
            (rest.len(), rest.iter().filter(|r| running(&r.id)).count())
        };
        // A selection followed down into finished rows must not hide what still runs.
        self.running_above = if plain {
            self.order.1.min(self.scroll)
        } else {
            all[..self.scroll.min(all.len())]
                .iter()
                .filter(|r| running(&r.id))
                .count()
        };
        let window: Vec<RowView> = if plain {
            order
                .iter()
                .skip(self.scroll)
                .take(visible)
                .filter_map(|&id| model.call(id))
                .map(|c| super::rows::row(model, c, now))
                .collect()
        } else {
            all.into_iter().skip(self.scroll).take(visible).collect()
        };
        if plain {
            self.order.2 = order;
        }
        let selected = selected
            .filter(|&i| i >= self.scroll && i < self.scroll + visible)
            .map(|i| i - self.scroll);
        (window, selected)
    }

    /// Lays out the next draw in `area`: the window of rows (see [`TableView::window`])
    /// and the columns of `shown` that fit them.
    pub fn prepare(
        &mut self,
        model: &Model,
        all: Option<Vec<RowView>>,
        selected: Option<CallId>,
        now: Time,
        area: Rect,
        shown: &[(Column, bool)],
    ) {
        let visible = area.height.saturating_sub(1) as usize;
        let (rows, selected_row) = self.window(model, all, selected, now, visible);
        self.layout = columns_of(area.width, &rows, shown, &mut self.columns);
        self.columns.drawn = self.layout.iter().map(|(c, _)| *c).collect();
        self.window = rows;
        self.selected_row = selected_row;
    }
}

/// Draws the rows [`TableView::prepare`] made; `view` says what the filter highlights.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    table: &TableView,
    view: &ViewOptions,
    tick: u64,
    theme: Theme,
) {
    let rows = &table.window;
    let selected = table.selected_row;
    if rows.is_empty() && (!view.filter.trim().is_empty() || view.flagged_only) {
        let what = match (view.filter.trim(), view.flagged_only) {
            ("", _) => "no call has findings (F shows every call)".to_owned(),
            (filter, _) => format!("no calls match {filter} (Esc clears)"),
        };
        frame.render_widget(
            ratatui::widgets::Paragraph::new(Line::styled(
                format!(
                    " {}",
                    crate::sanitize::fit(&what, usize::from(area.width).saturating_sub(1))
                ),
                theme.hint(),
            )),
            area,
        );
        return;
    }
    let terms = view.highlight_terms();
    let layout = &table.layout;
    let columns: Vec<Column> = layout.iter().map(|(c, _)| *c).collect();
    let twins = twins(rows);
    let width_of = |column: Column| {
        layout
            .iter()
            .find(|(c, _)| *c == column)
            .map_or(0, |(_, w)| *w)
    };
    // The message takes what the other columns leave.
    let fixed: u16 = layout
        .iter()
        .filter(|(c, _)| *c != Column::Message)
        .map(|(_, w)| w + 1)
        .sum();
    let message_width = area.width.saturating_sub(fixed);
    let header = Row::new(columns.iter().map(|c| Cell::from(c.title()))).style(theme.title());
    let body = rows.iter().enumerate().map(|(i, row)| {
        let cells = columns.iter().map(|c| {
            let text = match c {
                Column::State => theme.glyph(row.state).to_string(),
                Column::Tool if twins[i] => fit_label(
                    &row.tool,
                    &format!(" #{}", row.id.0),
                    usize::from(width_of(Column::Tool)),
                ),
                Column::Tool => fit(&row.tool, width_of(Column::Tool)),
                Column::Session => fit(&row.session, width_of(Column::Session)),
                Column::Agent => fit(&row.agent, width_of(Column::Agent)),
                Column::Token => fit(&row.token, width_of(Column::Token)),
                Column::What => fit(&row.what, width_of(Column::What)),
                Column::Progress => bar(row, tick, theme),
                Column::Percent => row.percent.clone(),
                Column::Rate => row.rate.clone(),
                Column::Eta => row.eta.clone(),
                Column::Elapsed => row.elapsed.clone(),
                Column::Since => row.since.clone(),
                Column::Message => fit(&row.message, message_width),
            };
            match c {
                Column::State => Cell::from(Line::from(Span::styled(text, theme.state(row.state)))),
                Column::Tool | Column::Session | Column::Agent | Column::What | Column::Message => {
                    Cell::from(highlighted(text, &terms, theme))
                }
                _ => Cell::from(text),
            }
        });
        // Failed and lost rows keep their colour; done and cancelled ones step back.
        let mut style = match row.state {
            DisplayState::Failed | DisplayState::Lost => theme.state(row.state),
            _ if row.finished => theme.finished(),
            _ => Default::default(),
        };
        if Some(i) == selected {
            style = theme.selected();
        }
        Row::new(cells).style(style)
    });
    let widths: Vec<Constraint> = layout
        .iter()
        .map(|&(c, w)| match c {
            Column::Message => Constraint::Min(w),
            _ => Constraint::Length(w),
        })
        .collect();
    frame.render_widget(
        Table::new(body, widths).header(header).column_spacing(1),
        area,
    );
    let (below, running) = table.below;
    let above = table.running_above;
    if (below > 0 || above > 0) && area.height >= 2 {
        let (up, down) = if theme.ascii {
            ("^", "v")
        } else {
            ("↑", "↓")
        };
        let mut parts = Vec::new();
        if above > 0 {
            parts.push(format!("{up} {above} running above"));
        }
        if below > 0 {
            let mut text = format!("{down} {below} more");
            if running > 0 {
                text.push_str(&format!(" ({running} running)"));
            }
            parts.push(text);
        }
        let text = parts.join(" · ");
        let running = running + above;
        let line = Rect {
            y: area.y + area.height - 1,
            height: 1,
            ..area
        };
        let style = if running > 0 {
            theme.warning()
        } else {
            theme.hint()
        };
        frame.render_widget(
            ratatui::widgets::Paragraph::new(Line::styled(fit(&text, area.width), style)),
            line,
        );
    }
}

/// `C`: every column, shown or not, toggled live with Space.
pub fn draw_chooser(
    frame: &mut Frame,
    area: Rect,
    columns: &[(Column, bool)],
    table: &TableState,
    chooser: &Chooser,
    theme: Theme,
) {
    let (on, off) = if theme.ascii {
        ("[x]", "[ ]")
    } else {
        ("☑", "☐")
    };
    let mut lines = vec![Line::styled(
        fit(
            " Columns (Space shows or hides; a narrow pane drops some: \"no room\")",
            area.width,
        ),
        theme.title(),
    )];
    for (i, (column, shown)) in columns.iter().enumerate() {
        // Enabled, but not in the table as last drawn: why.
        let why = if !*shown || table.drawn.is_empty() || table.drawn.contains(column) {
            ""
        } else if table.empty.contains(column) {
            " (nothing to show)"
        } else {
            " (no room)"
        };
        // Why first: a narrow pane cuts the end of the line, never the reason.
        let text = format!(
            " {} {:<9}{} {}",
            if *shown { on } else { off },
            column.name(),
            why,
            match column {
                Column::State => "the state glyph",
                Column::Session => "the session's label (on an all-sessions stream)",
                Column::Agent => "the subagent that made the call (an agent's hooks)",
                Column::Tool => "the tool's name",
                Column::Token => "the progress token",
                Column::Progress => "a bar and the count",
                Column::Percent => "percent done",
                Column::Rate => "progress per second",
                Column::Eta => "time left at this rate",
                Column::Elapsed => "how long it has run",
                Column::Since => "time since its last update",
                Column::What => "what it works on, from its arguments (taps)",
                Column::Message => "what the call says now",
            },
        );
        let style = if i == chooser.cursor {
            theme.selected()
        } else {
            Default::default()
        };
        // Cut with `…`, as every cut text is.
        lines.push(Line::styled(fit(&text, area.width), style));
    }
    // The title stays; the list scrolls so the cursor is always in view.
    let room = usize::from(area.height).saturating_sub(1).max(1);
    let skip = chooser.cursor.saturating_sub(room - 1);
    let title = lines.remove(0);
    let lines: Vec<Line> = std::iter::once(title)
        .chain(lines.into_iter().skip(skip))
        .collect();
    frame.render_widget(ratatui::widgets::Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tool: &str, progress: &str) -> RowView {
        RowView {
            id: crate::model::CallId(1),
            state: DisplayState::Running,
            tool: tool.into(),
            session: String::new(),
            session_key: String::new(),
            agent: String::new(),
            token: "1000001".into(),
            what: String::new(),
            progress: progress.into(),
            ratio: Some(0.5),
            percent: "50%".into(),
            rate: String::new(),
            eta: String::new(),
            elapsed: String::new(),
            since: String::new(),
            message: String::new(),
            finished: false,
            flagged: false,
            percent_value: 50.0,
            elapsed_secs: 0.0,
            since_secs: 0.0,
        }
    }

    #[test]
    fn columns_drop_by_priority() {
        let rows = [row("download_artifact", "24.25/48.5")];
        let names = |width| -> Vec<Column> { columns(width, &rows).iter().map(|c| c.0).collect() };
        assert_eq!(names(200).len(), 10);
        use Column::*;
        // The most useful outlive token, rate and ETA; the time since the last update
        // (quiet or stuck?) outlives them too, and a message too narrow to say anything
        // is left out.
        assert_eq!(
            names(80),
            vec![State, Tool, Progress, Percent, Elapsed, Since, Message]
        );
        assert_eq!(
            names(60),
            vec![State, Tool, Progress, Percent, Elapsed, Since]
        );
        assert_eq!(names(40), vec![State, Tool, Progress]);
        assert_eq!(
            names(120),
            vec![State, Tool, Token, Progress, Percent, Rate, Eta, Elapsed, Since, Message]
        );
        for width in [40u16, 60, 80, 120] {
            let used: u16 = columns(width, &rows).iter().map(|c| c.1 + 1).sum();
            assert!(used <= width + 1, "{width}: {used}");
        }
    }

    #[test]
    fn columns_stay_as_tool_names_change_and_twins_are_told_apart() {
        let mut state = TableState::default();
        let all: Vec<(Column, bool)> = Column::DEFAULT.iter().map(|&c| (c, true)).collect();
        let long = [row("download_artifact_from_store", "24.25/48.5")];
        let short = [row("ls", "1/2")];
        let wide = columns_of(100, &long, &all, &mut state);
        // The long name went: the columns stay as they were.
        assert_eq!(columns_of(100, &short, &all, &mut state), wide);
        state.reset();
        assert_ne!(columns_of(100, &short, &all, &mut state), wide);
        // Two rows of one tool: each shows its number, even when the name is cut.
        let mut a = row("download_artifact", "1/2");
        let mut b = a.clone();
        a.id = crate::model::CallId(7);
        b.id = crate::model::CallId(12);
        let c = row("build", "1/2");
        assert_eq!(twins(&[a, b, c]), [true, true, false]);
        assert_eq!(fit_label("download_artifact", " #12", 14), "download_… #12");
        assert_eq!(fit_label("ls", " #3", 14), "ls #3");
    }

    #[test]
    fn bars_line_up() {
        let theme = Theme::plain();
        let a = bar(&row("a", "1/2"), 0, theme);
        let b = bar(&row("b", "50/100"), 0, theme);
        let ascii = bar(
            &row("a", "1/2"),
            0,
            Theme {
                ascii: true,
                ..Theme::plain()
            },
        );
        assert_eq!(ascii, "#####..... 1/2");
        assert_eq!(a.find(' '), b.find(' '));
        assert!(a.starts_with("█████░░░░░ "));
    }
}
