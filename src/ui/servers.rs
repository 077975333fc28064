//! `I`: the servers behind the sessions, as their taps saw them in `initialize` (or
//! `server/discover`) and `tools/list`: name, version, protocol revision, capabilities,
//! and each tool with whether it runs as a task and what it says it does.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::keys::{Action, Go};
use super::theme::Theme;
use crate::model::{CallId, Model, Server};
use crate::sanitize::{fit, terminal};

/// The servers in the order shown: the selected call's first, then the most recently
/// told.
pub fn order(model: &Model, selected: Option<CallId>) -> Vec<&Server> {
    let selected_session = selected
        .and_then(|id| model.call(id))
        .map(|c| c.key.session.clone());
    let mut servers: Vec<&Server> = model.servers().iter().rev().collect();
    if let Some(session) = selected_session {
        if let Some(i) = servers.iter().position(|s| s.session == session) {
            let first = servers.remove(i);
            servers.insert(0, first);
        }
    }
    servers
}

/// Every line of the view, before scrolling.
pub fn lines(
    model: &Model,
    selected: Option<CallId>,
    width: usize,
    theme: Theme,
) -> Vec<Line<'static>> {
    let servers = order(model, selected);
    let mut out = Vec::new();
    if servers.is_empty() {
        // Wrapped, not cut: at 40 columns the hint is what the view has to say.
        out.extend(super::help::hang(
            " ",
            "no server seen yet: a tap (mcptop wrap or proxy) shows its server here once \
             the agent has sent initialize and tools/list through it",
            width,
        ));
        return out;
    }
    for (n, server) in servers.into_iter().enumerate() {
        if n > 0 {
            out.push(Line::raw(""));
        }
        let info = &server.info;
        let mut head = terminal(if info.name.is_empty() {
            "(unnamed server)"
        } else {
            &info.name
        })
        .into_owned();
        if let Some(v) = &info.version {
            head.push(' ');
            head.push_str(&terminal(v));
        }
        if let Some(p) = &info.protocol {
            head.push_str(&theme.text(" · protocol "));
            head.push_str(&terminal(p));
        }
        out.push(Line::styled(fit(&format!(" {head}"), width), theme.title()));
        let session = server
            .session_label
            .as_deref()
            .or(server.session.as_deref())
            .map(|s| terminal(s).into_owned());
        if let Some(session) = session {
            out.push(Line::raw(fit(&format!("   session {session}"), width)));
        }
        if !info.capabilities.is_empty() {
            let caps: Vec<String> = info
                .capabilities
                .iter()
                .map(|c| terminal(c).into_owned())
                .collect();
            out.push(Line::raw(fit(
                &format!("   capabilities: {}", caps.join(", ")),
                width,
            )));
        }
        let listed = (info.tools.len() as u64).saturating_add(info.tools_cut);
        if listed == 0 {
            out.push(Line::styled(
                fit("   no tools listed yet (tools/list)", width),
                theme.hint(),
            ));
            continue;
        }
        out.push(Line::raw(fit(
            &format!("   {listed} tool{}", if listed == 1 { "" } else { "s" }),
            width,
        )));
        let name_width = info
            .tools
            .iter()
            .map(|t| crate::sanitize::width(&terminal(&t.name)))
            .max()
            .unwrap_or(4)
            .clamp(4, 28);
        for tool in &info.tools {
            let name = fit(&terminal(&tool.name), name_width);
            let tasks = match tool.tasks.as_deref() {
                Some("required") => "task",
                Some("optional") => "task?",
                _ => "",
            };
            let description = tool
                .description
                .as_deref()
                .map(|d| terminal(&d.replace(['\n', '\r'], " ")).into_owned())
                .unwrap_or_default();
            let text = format!("   {name:<name_width$} {tasks:<5} {description}");
            out.push(Line::raw(fit(text.trim_end(), width)));
        }
        if info.tools_cut > 0 {
            out.push(Line::styled(
                fit(&format!("   … and {} more", info.tools_cut), width),
                theme.hint(),
            ));
        }
    }
    out
}

/// The servers view's own state.
#[derive(Debug, Clone, Default)]
pub struct ServersView {
    /// Lines scrolled down (held to the end of the view when drawn).
    pub scroll: usize,
}

impl ServersView {
    pub fn handle(&mut self, action: Option<Action>) -> Go {
        match action {
            Some(Action::Back | Action::Detail) => {
                self.scroll = 0;
                return Go::Back;
            }
            Some(Action::PageDown) => self.scroll = self.scroll.saturating_add(10),
            Some(Action::PageUp) => self.scroll = self.scroll.saturating_sub(10),
            Some(Action::Down) => self.scroll = self.scroll.saturating_add(1),
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            Some(Action::First) => self.scroll = 0,
            Some(Action::Help) => return Go::Help,
            _ => {}
        }
        Go::Stay
    }
}

/// Draws the view scrolled as `view` is, the selected call's server first; returns the
/// scroll it used (held to the end of the view).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    model: &Model,
    selected: Option<CallId>,
    view: &ServersView,
    theme: Theme,
) -> usize {
    if area.height < 2 || area.width < 10 {
        return view.scroll;
    }
    let width = usize::from(area.width);
    let title = Line::styled(
        fit(
            &theme.text(" Servers and their tools (I) · j/k scroll"),
            width,
        ),
        theme.title(),
    );
    let body = lines(model, selected, width, theme);
    let rows = usize::from(area.height) - 1;
    let scroll = view.scroll.min(body.len().saturating_sub(rows));
    let mut shown = vec![title];
    shown.extend(body.into_iter().skip(scroll).take(rows));
    frame.render_widget(Paragraph::new(shown), area);
    scroll
}
