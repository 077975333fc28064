//! The terminal UI: a header with the link's state, a line per finding, the calls table
//! (or one call in detail, or the help), and a footer of key hints.
//!
//! The loop drains the source, draws at most 20 times a second and only when something
//! changed, and wakes once a second for the clocks: near-zero CPU when idle.

pub mod agents;
pub mod app;
pub mod columns;
pub mod config;
mod detail;
mod footer;
mod header;
mod help;
pub mod keys;
pub mod player;
pub mod rows;
pub mod servers;
pub mod stats;
pub mod table;
pub mod theme;
pub mod timeline;
pub mod view;

use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use tokio::sync::mpsc;

use crate::event::Timed;
use crate::time::Time;
use app::{App, Key, Screen};
use theme::Theme;

/// What a draw settled that the views keep: how far a view could scroll.
enum Settled {
    Nothing,
    Detail(detail::Drawn),
    Servers(usize),
    Agents(usize, usize),
    Help(u16),
}

/// Draws the whole screen. First what the frame needs is made (the findings, the table's
/// window and columns, the timeline's rows); then every panel draws from `&App` alone;
/// then what the draws settled (how far a view could scroll) is kept by its view.
pub fn draw(frame: &mut Frame, app: &mut App, now: Time, tick: u64, theme: Theme) {
    app.refresh_findings(now);
    let area = frame.area();
    let [top, main, bottom] = Layout::vertical([
        Constraint::Length(header::height(app, now, area)),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let table = (app.screen == Screen::Table && !waiting(app)).then(|| table_areas(app, main));
    if let Some((area, _)) = table {
        let all = app.view_rows(now);
        app.table
            .prepare(&app.feed.model, all, app.selected, now, area, &app.columns);
    }
    if app.screen == Screen::Timeline {
        app.timeline.refresh(&app.feed.model);
    }
    match render(frame, app, [top, main, bottom], table, now, tick, theme) {
        Settled::Nothing => {}
        Settled::Detail(drawn) => {
            app.detail.scroll = drawn.scroll;
            app.detail.jump = false;
        }
        Settled::Servers(scroll) => app.servers.scroll = scroll,
        Settled::Agents(cursor, scroll) => {
            app.agents.cursor = cursor;
            app.agents.scroll = scroll;
        }
        Settled::Help(scroll) => app.help.scroll = scroll,
    }
    scrub(frame.buffer_mut());
    app.dirty = false;
}

/// Whether the table has nothing to show yet (and says what it waits for instead).
fn waiting(app: &App) -> bool {
    app.model().is_empty() && app.paused.is_none()
}

/// The table's area and, when a tall pane has rows to spare once every call fits, the
/// statistics' below it.
fn table_areas(app: &App, main: Rect) -> (Rect, Option<Rect>) {
    // (Only when every call fits: the number of calls bounds the rows.)
    let calls = app.model().len();
    let fits = calls + 2 < usize::from(main.height);
    let tools = if fits && main.height >= 20 {
        stats::tool_count(app.model())
    } else {
        usize::MAX / 4
    };
    let wanted = u16::try_from(calls + 2).unwrap_or(u16::MAX);
    let panel = u16::try_from(tools + 2).unwrap_or(u16::MAX);
    if main.height >= 20 && wanted.saturating_add(panel) <= main.height {
        let [t, s] =
            Layout::vertical([Constraint::Length(wanted), Constraint::Min(panel)]).areas(main);
        (t, Some(s))
    } else {
        (main, None)
    }
}

/// Every panel, drawn from the app as it is.
#[allow(clippy::too_many_arguments)]
fn render(
    frame: &mut Frame,
    app: &App,
    [top, main, bottom]: [Rect; 3],
    table: Option<(Rect, Option<Rect>)>,
    now: Time,
    tick: u64,
    theme: Theme,
) -> Settled {
    header::draw(frame, top, app, now, theme);
    let model = app.model();
    let settled = match app.screen {
        Screen::Table => {
            match table {
                None => {
                    let text = waiting_text(app, now);
                    frame.render_widget(
                        ratatui::widgets::Paragraph::new(text)
                            .wrap(ratatui::widgets::Wrap { trim: false }),
                        main,
                    );
                }
                Some((area, stats_area)) => {
                    table::draw(frame, area, &app.table, &app.view, tick, theme);
                    if let Some(s) = stats_area {
                        stats::draw(frame, s, model, &app.rows(now), now, theme);
                    }
                }
            }
            Settled::Nothing
        }
        Screen::Stats => {
            stats::draw(frame, main, model, &app.rows(now), now, theme);
            Settled::Nothing
        }
        Screen::Timeline => {
            timeline::draw(frame, main, model, &app.timeline, app.selected, now, theme);
            Settled::Nothing
        }
        Screen::Servers => Settled::Servers(servers::draw(
            frame,
            main,
            model,
            app.selected,
            &app.servers,
            theme,
        )),
        Screen::Agents => {
            let (cursor, scroll) =
                agents::draw(frame, main, &model.agents(), &app.agents, now, theme);
            Settled::Agents(cursor, scroll)
        }
        Screen::Detail(id) => Settled::Detail(detail::draw(
            frame,
            main,
            model,
            app.raw.get(&id),
            id,
            &app.detail,
            now,
            theme,
        )),
        Screen::Help => Settled::Help(help::draw(frame, main, app.help.scroll, theme, &app.keys)),
        Screen::Columns => {
            table::draw_chooser(
                frame,
                main,
                &app.columns,
                &app.table.columns,
                &app.chooser,
                theme,
            );
            Settled::Nothing
        }
    };
    footer::draw(frame, bottom, app, theme);
    settled
}

/// The last line of defence: every text from outside is escaped where it is laid out, and
/// any unsafe character that still reached a cell (a zero-width joiner riding on the cell
/// before it, say) is shown as `?` rather than sent to the terminal.
fn scrub(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        if !crate::sanitize::is_clean(cell.symbol()) {
            cell.set_symbol("?");
        }
    }
}

/// What an empty table says: never a blank screen that looks frozen, and the next step.
fn waiting_text(app: &App, now: Time) -> String {
    const NEXT: &str = "\n\n Nothing to watch yet? `mcptop setup claude-code` (or codex, gemini, \
                        cursor, …) puts your agent's tool calls here; `mcptop demo` shows a \
                        sample workload.";
    if let Some(stop) = &app.last_stop {
        return format!(" {}{NEXT}", crate::sanitize::terminal(&stop.to_string()));
    }
    let stream = app.model().stream();
    match stream.last_keepalive {
        Some(k) => format!(
            " Connected, no tool call has reported yet. The stream is alive: last keep-alive {} ago.{NEXT}",
            crate::model::human(now - k)
        ),
        None => format!(" Waiting for the first tool call…{NEXT}"),
    }
}

/// What the terminal says: a key, or that its size changed.
enum Input {
    Key(Key),
    Resize,
}

fn map_key(code: KeyCode, modifiers: KeyModifiers) -> Option<Key> {
    Some(match code {
        KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => Key::CtrlC,
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        _ => return None,
    })
}

/// The OSC 52 sequence that puts `text` on the terminal's clipboard; it works over SSH
/// and through tmux (with `set-clipboard on`).
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        // Never a raw control on the clipboard: a pasted ESC[201~ could end a bracketed
        // paste, a CR run a command.
        base64::engine::general_purpose::STANDARD
            .encode(crate::sanitize::terminal(text).as_bytes())
    )
}

fn copy_to_clipboard(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(osc52(text).as_bytes());
    let _ = out.flush();
}

/// When the loop must wake next with nothing arriving: each second while a call runs
/// (its clocks move), at the moment the stream would turn stale, and never otherwise.
fn next_wake(app: &App, now: Time, frame_time: Duration) -> Option<Duration> {
    if let Some(player) = &app.player {
        return player.playing.then_some(frame_time);
    }
    let model = app.model();
    // A clock on screen moves once a second: running calls, the countdown to the next
    // attempt, the age of the last keep-alive.
    if model.calls().any(|c| !c.status.is_finished())
        || matches!(app.connection, app::LinkState::RetryingAt(_))
        || model.stream().last_keepalive.is_some()
    {
        return Some(Duration::from_secs(1));
    }
    let stream = model.stream();
    let connected = matches!(
        stream.connection,
        crate::model::Connection::Connected { .. }
    );
    let last = stream.last_activity?;
    let stale_at = last + model.config().silent_after;
    if !connected || app.connection == app::LinkState::Stale {
        return None;
    }
    // Wake when it turns stale, then once a second to keep the header's clock honest.
    Some(
        (stale_at - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_millis(100)),
    )
}

/// The monitor's terminal: what it writes is buffered, so a frame leaves in one write.
type Term<W> = ratatui::Terminal<ratatui::backend::CrosstermBackend<std::io::BufWriter<W>>>;

/// Room for a whole frame's changes (a full redraw of a large pane with its colours is a
/// few tens of KiB); a larger one leaves in several writes.
const FRAME_BYTES: usize = 256 << 10;

/// Draws one frame inside a synchronized update (DEC mode 2026): a terminal that knows the
/// mode shows the frame whole, never half of the new one over the old (a header counting a
/// call whose row is not drawn yet); others ignore the mode. The frame itself is one write.
fn draw_frame<W: std::io::Write>(
    terminal: &mut Term<W>,
    render: impl FnOnce(&mut Frame),
) -> std::io::Result<()> {
    use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    use ratatui::crossterm::{execute, queue};
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    // Draws into the buffer, then flushes it: the mode's start and the frame, one write.
    terminal.draw(render)?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)
}

/// Runs the TUI until the user quits, at most `fps` frames a second; the terminal is
/// restored however it ends (quit, Ctrl-C, SIGTERM, SIGHUP, a panic).
/// How the monitor draws: frames per second, glyphs, colours, mouse.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub fps: u32,
    pub ascii: bool,
    pub background: theme::Background,
    /// Capture the mouse (the wheel moves the selection); off by default so the
    /// terminal's own selection and copy keep working.
    pub mouse: bool,
    /// Close the screen after this long (`--for`).
    pub quit_after: Option<Duration>,
    /// Close the screen after this many call updates (`--count`).
    pub quit_after_updates: Option<u64>,
}

/// Returns the app as the screen closed, for what is printed after (the stop's reason,
/// `--summary`).
pub async fn run(
    mut app: App,
    mut rx: mpsc::Receiver<Timed>,
    options: Options,
) -> std::io::Result<App> {
    use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture, MouseEventKind};
    use ratatui::crossterm::execute;
    use tokio::signal::unix::{signal, SignalKind};
    let theme = Theme::from_env(options.ascii, options.background);
    let fps = options.fps;
    let frame_time = Duration::from_secs(1) / fps.clamp(1, 120);
    // Raw mode, the alternate screen and a panic hook that restores the terminal; then the
    // monitor's own terminal on a buffered stdout in place of the one it made.
    drop(ratatui::try_init()?);
    let mut terminal: Term<std::io::Stdout> =
        ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(
            std::io::BufWriter::with_capacity(FRAME_BYTES, std::io::stdout()),
        ))?;
    if options.mouse {
        execute!(std::io::stdout(), EnableMouseCapture)?;
    }
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let (keys_tx, mut keys) = mpsc::unbounded_channel();
    // Blocking reads: the thread sleeps in the kernel until a key comes, no polling. It
    // is left behind at exit (the process ends with it).
    std::thread::spawn(move || loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                if let Some(key) = map_key(k.code, k.modifiers) {
                    if keys_tx.send(Input::Key(key)).is_err() {
                        break;
                    }
                }
            }
            Ok(Event::Mouse(m)) => {
                let key = match m.kind {
                    MouseEventKind::ScrollDown => Some(Key::Down),
                    MouseEventKind::ScrollUp => Some(Key::Up),
                    _ => None,
                };
                if let Some(key) = key {
                    if keys_tx.send(Input::Key(key)).is_err() {
                        break;
                    }
                }
            }
            Ok(Event::Resize(..)) => {
                if keys_tx.send(Input::Resize).is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    });
    let mut last_draw = tokio::time::Instant::now() - Duration::from_secs(1);
    let mut tick = 0u64;
    let mut tick_at: Option<tokio::time::Instant> = None;
    let mut last_advance = tokio::time::Instant::now();
    let mut source_open = true;
    let deadline = options.quit_after.map(|d| tokio::time::Instant::now() + d);
    let result = loop {
        if app.quit {
            break Ok(());
        }
        if options
            .quit_after_updates
            .is_some_and(|n| app.call_updates >= n)
        {
            break Ok(());
        }
        let now = crate::event::now_us();
        if app
            .flash
            .as_ref()
            .is_some_and(|(_, at)| (now - *at).num_seconds() >= 3)
        {
            app.flash = None;
            app.dirty = true;
        }
        let next_draw = app.dirty.then(|| last_draw + frame_time);
        // A flash needs one more draw to go away.
        let wake = [
            next_wake(&app, now, frame_time),
            app.flash.as_ref().map(|_| Duration::from_secs(1)),
            app.refresh_owed(app.clock(now)),
        ]
        .into_iter()
        .flatten()
        .min();
        // A fixed deadline, so a steady stream of events cannot keep pushing it back.
        tick_at = match (wake, tick_at) {
            (None, _) => None,
            (Some(d), Some(at)) => Some(at.min(tokio::time::Instant::now() + d)),
            (Some(d), None) => Some(tokio::time::Instant::now() + d),
        };
        tokio::select! {
            timed = rx.recv(), if source_open => match timed {
                Some(t) => {
                    app.ingest(&t);
                    // Drain what is already waiting: one draw for a burst.
                    for _ in 0..10_000 {
                        match rx.try_recv() {
                            Ok(t) => app.ingest(&t),
                            Err(_) => break,
                        }
                    }
                }
                None => source_open = false,
            },
            Some(input) = keys.recv() => {
                let now = app.clock(crate::event::now_us());
                match input {
                    Input::Key(key) => app.handle_key(key, now),
                    Input::Resize => app.resize(),
                }
                if let Some(text) = app.clipboard.take() {
                    copy_to_clipboard(&text);
                }
            }
            _ = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => app.quit = true,
            _ = term.recv() => app.quit = true,
            _ = hangup.recv() => app.quit = true,
            _ = async {
                match tick_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                tick += 1;
                tick_at = None;
                let wall = tokio::time::Instant::now();
                // Capped, so a pause or a slow frame never jumps the replay ahead.
                app.advance((wall - last_advance).min(frame_time * 4));
                last_advance = wall;
                app.tick(app.clock(crate::event::now_us()));
            }
            _ = async {
                match next_draw {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                let now = app.clock(crate::event::now_us());
                app.tick(now);
                if let Err(e) = draw_frame(&mut terminal, |f| draw(f, &mut app, now, tick, theme)) {
                    break Err(e);
                }
                last_draw = tokio::time::Instant::now();
            }
        }
    };
    if options.mouse {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
    ratatui::restore();
    result.map(|()| app)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps each write that reaches the terminal.
    #[derive(Default, Clone)]
    struct Writes(std::rc::Rc<std::cell::RefCell<Vec<Vec<u8>>>>);

    impl std::io::Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_leaves_in_one_write_inside_a_synchronized_update() {
        let area = Rect::new(0, 0, 120, 30);
        let writes = Writes::default();
        let mut terminal: Term<Writes> = ratatui::Terminal::with_options(
            ratatui::backend::CrosstermBackend::new(std::io::BufWriter::with_capacity(
                FRAME_BYTES,
                writes.clone(),
            )),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(area),
            },
        )
        .unwrap();
        // Every cell differs from the last frame's: the largest frames at this size.
        for round in 0..2 {
            let fill = ["▶ run_tests 42% ", "✓ BUILD-ALL 99% "][round].repeat(area.width as usize);
            draw_frame(&mut terminal, |f| {
                let text: Vec<ratatui::text::Line> = (0..area.height)
                    .map(|y| ratatui::text::Line::from(format!("{round}{y}{fill}")))
                    .collect();
                f.render_widget(ratatui::widgets::Paragraph::new(text), f.area());
            })
            .unwrap();
        }
        let writes = writes.0.borrow();
        // Per frame: the mode's start with the whole frame, then the mode's end.
        assert_eq!(writes.len(), 4, "{} writes", writes.len());
        for frame in writes.chunks(2) {
            assert!(frame[0].starts_with(b"\x1b[?2026h"));
            assert!(frame[0].len() > 120 * 30, "{} bytes", frame[0].len());
            assert_eq!(frame[1], b"\x1b[?2026l");
        }
        let (first, second) = (
            String::from_utf8_lossy(&writes[0]),
            String::from_utf8_lossy(&writes[2]),
        );
        // Each frame whole in its one write: the text of all 30 rows (blanks are skipped).
        assert_eq!(first.matches("run_tests").count(), 30 * 7, "{first}");
        assert_eq!(second.matches("BUILD-ALL").count(), 30 * 7, "{second}");
    }
}
