//! The config file, `$XDG_CONFIG_HOME/mcptop/config.toml` (or `--config PATH`): how the
//! monitor looks, which columns show in what order, the default sort and filter, how long
//! finished calls stay, and every key binding. `mcptop config --default` prints it with
//! every default, commented. A bad file stops mcptop with one line naming the file, the
//! line and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::app::{App, Key};
use super::columns::Column;
use super::keys::{parse_key, Action, KeyMap};
use super::theme::Background;
use super::view::SortKey;

/// The file as read.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub screen: ScreenConfig,
    pub table: TableConfig,
    pub calls: CallsConfig,
    /// Action name → its keys.
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
    pub redaction: crate::redact::RedactionConfig,
    pub otlp: crate::config::OtlpConfig,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenConfig {
    pub theme: Option<String>,
    pub ascii: Option<bool>,
    pub fps: Option<u32>,
    pub mouse: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TableConfig {
    pub columns: Option<Vec<String>>,
    pub sort: Option<String>,
    pub descending: Option<bool>,
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CallsConfig {
    pub retention: Option<String>,
    pub max_calls: Option<usize>,
    /// How long a call may wait on the user (a permission prompt, input) before the
    /// header says so.
    pub waiting_notice: Option<String>,
}

/// A config file that cannot be used, in one line: `file:line: what is wrong`.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message} (mcptop config --default prints a good file)", .path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// What the file asks for, checked and typed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub background: Option<Background>,
    pub ascii: Option<bool>,
    pub fps: Option<u32>,
    pub mouse: Option<bool>,
    pub columns: Vec<(Column, bool)>,
    pub sort: SortKey,
    pub descending: bool,
    pub filter: String,
    pub retention: Option<Duration>,
    pub max_calls: Option<usize>,
    pub waiting_notice: Option<Duration>,
    pub keys: KeyMap,
}

pub use crate::config::default_path;

/// Reads `path` (`explicit`: given with `--config`, so it must exist); a missing default
/// file is no config at all.
pub fn load(path: &Path, explicit: bool) -> Result<Option<Settings>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(e) => {
            return Err(ConfigError {
                path: path.to_owned(),
                line: 0,
                message: format!("cannot read it: {e}"),
            })
        }
    };
    parse(&text, path).map(Some)
}

/// Parses and checks a config file's text.
pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let config: Config = toml::from_str(text).map_err(|e| ConfigError {
        path: path.to_owned(),
        line: e.span().map_or(0, |s| line_of(s.start)),
        message: e.message().replace('\n', " "),
    })?;
    // Later checks name the key; find its line for the message.
    let line_with = |needle: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(needle))
            .map_or(0, |i| i + 1)
    };
    let bad = |key: &str, message: String| ConfigError {
        path: path.to_owned(),
        line: line_with(key),
        message,
    };
    let background = match config.screen.theme.as_deref() {
        None => None,
        Some("auto") => Some(Background::Auto),
        Some("dark") => Some(Background::Dark),
        Some("light") => Some(Background::Light),
        Some(other) => {
            return Err(bad(
                "theme",
                format!("theme = {other:?}: give auto, dark or light"),
            ))
        }
    };
    if let Some(fps) = config.screen.fps {
        if !(1..=120).contains(&fps) {
            return Err(bad("fps", format!("fps = {fps}: give 1 to 120")));
        }
    }
    let columns = match &config.table.columns {
        None => Column::DEFAULT.iter().map(|&c| (c, true)).collect(),
        Some(names) => {
            let mut shown = Vec::new();
            for name in names {
                let column = Column::from_name(name).ok_or_else(|| {
                    bad(
                        "columns",
                        format!(
                            "columns: no column {name:?} (there are {})",
                            Column::DEFAULT.map(Column::name).join(", ")
                        ),
                    )
                })?;
                if !shown.iter().any(|&(c, _)| c == column) {
                    shown.push((column, true));
                }
            }
            // The ones left out can still be shown from the chooser.
            for column in Column::DEFAULT {
                if !shown.iter().any(|&(c, _)| c == column) {
                    shown.push((column, false));
                }
            }
            shown
        }
    };
    let sort = match config.table.sort.as_deref() {
        None => SortKey::default(),
        Some(name) => SortKey::from_name(name).ok_or_else(|| {
            bad(
                "sort",
                format!("sort = {name:?}: give one of {}", SortKey::NAMES.join(", ")),
            )
        })?,
    };
    let retention = match config.calls.retention.as_deref() {
        None => None,
        Some(text) => Some(
            crate::time::parse_duration(text)
                .map_err(|e| bad("retention", format!("retention = {text:?}: {e}")))?,
        ),
    };
    let waiting_notice = match config.calls.waiting_notice.as_deref() {
        None => None,
        Some(text) => Some(
            crate::time::parse_duration(text)
                .map_err(|e| bad("waiting_notice", format!("waiting_notice = {text:?}: {e}")))?,
        ),
    };
    if config.calls.max_calls == Some(0) {
        return Err(bad("max_calls", "max_calls must be at least 1".into()));
    }
    let mut overrides: Vec<(Action, Vec<Key>)> = Vec::new();
    for (name, keys) in &config.keys {
        let action = Action::from_name(name).ok_or_else(|| {
            bad(
                name,
                format!(
                    "[keys] {name}: no such action (there are {})",
                    Action::ALL
                        .iter()
                        .map(|(_, n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let mut parsed = Vec::new();
        for key in keys {
            parsed.push(parse_key(key).ok_or_else(|| {
                bad(
                    name,
                    format!("[keys] {name}: {key:?} is not a key (one character, or space, enter, esc, up, down, left, right, pgup, pgdn, home, end, backspace)"),
                )
            })?);
        }
        overrides.push((action, parsed));
    }
    Ok(Settings {
        background,
        ascii: config.screen.ascii,
        fps: config.screen.fps,
        mouse: config.screen.mouse,
        columns,
        sort,
        descending: config.table.descending.unwrap_or(false),
        filter: config.table.filter.clone().unwrap_or_default(),
        retention,
        max_calls: config.calls.max_calls,
        waiting_notice,
        keys: KeyMap::with(&overrides),
    })
}

impl Settings {
    /// Puts what the file says into a new monitor.
    pub fn apply(&self, app: &mut App) {
        app.columns = self.columns.clone();
        app.view.sort = self.sort;
        app.view.descending = self.descending;
        app.view.filter = self.filter.clone();
        app.keys = self.keys.clone();
        let mut config = app.feed.model.config().clone();
        if let Some(retention) = self.retention {
            config.retention = chrono::TimeDelta::from_std(retention).unwrap_or(config.retention);
        }
        if let Some(max) = self.max_calls {
            config.max_calls = max;
        }
        if let Some(notice) = self.waiting_notice {
            config.waiting_notice =
                chrono::TimeDelta::from_std(notice).unwrap_or(config.waiting_notice);
        }
        app.feed = crate::feed::Feed::new(config);
    }
}

/// `mcptop config --default`: a file with every setting at its default, commented.
pub fn default_text() -> String {
    let mut out = String::from(
        "# mcptop's config file: $XDG_CONFIG_HOME/mcptop/config.toml (or --config PATH).\n\
         # Every setting is shown at its default; uncomment what you change.\n\
         # Flags on the command line win over this file.\n\n\
         [screen]\n\
         # theme = \"auto\"      # auto, dark or light: how strong the colours are\n\
         # ascii = false       # plain ASCII glyphs, bars and hints\n\
         # fps = 20            # at most this many frames a second (1 to 120)\n\
         # mouse = false       # capture the mouse (the wheel moves the selection)\n\n\
         [table]\n",
    );
    out.push_str(&format!(
        "# columns = [{}]\n#   (in this order; a column left out can still be shown with the column chooser)\n",
        Column::DEFAULT
            .map(|c| format!("\"{}\"", c.name()))
            .join(", ")
    ));
    out.push_str(&format!(
        "# sort = \"{}\"   # {}\n",
        SortKey::default().config_name(),
        SortKey::NAMES.join(", ")
    ));
    out.push_str(
        "# descending = false\n\
         # filter = \"\"         # as typed after /: tool:NAME state:STATE session:LABEL !NOT words\n\n\
         [calls]\n\
         # retention = \"5m\"    # how long a finished call stays on the table\n\
         # max_calls = 2000    # calls held at most (the oldest finished go first)\n\
         # waiting_notice = \"5s\"   # a call waiting on you (permission, input) this long is a finding\n\n\
         [redaction]\n\
         # keys = []           # more argument names whose values are secrets (beside token,\n\
         #                     # secret, password, api_key, authorization, cookie, …)\n\
         # off = false         # true: redact nothing\n\n\
         [otlp]\n\
         # receive = false     # true: `mcptop serve` receives agents' OpenTelemetry (--otlp)\n\
         # http = \"127.0.0.1:4318\"   # OTLP/HTTP: HOST:PORT, a port, or \"off\"\n\
         # grpc = \"127.0.0.1:4317\"   # OTLP/gRPC: HOST:PORT, a port, or \"off\"\n\
         # export = \"https://otel.example.com\"   # send every call as a span (--otlp-endpoint)\n\
         # export_protocol = \"http/protobuf\"   # or http/json, grpc\n\
         # export_headers = \"x-api-key=…\"     # as OTEL_EXPORTER_OTLP_HEADERS\n\n\
         [keys]\n\
         # Each action and its keys: one character, or space, enter, esc, up, down, left,\n\
         # right, pgup, pgdn, home, end, backspace. Naming an action replaces its keys.\n",
    );
    for (_, name, keys) in Action::ALL {
        let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
        out.push_str(&format!("# {name} = [{}]\n", keys.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_reads_back_as_the_defaults() {
        let text = default_text();
        // Uncommented, every line is a valid setting.
        let live: String = text
            .lines()
            .map(|l| {
                let l = l.strip_prefix("# ").unwrap_or(l);
                if l.starts_with("  (") || l.starts_with("mcptop") || l.starts_with("Every") {
                    String::new()
                } else {
                    l.split("  #").next().unwrap_or("").to_owned()
                }
            })
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .collect::<Vec<_>>()
            .join("\n");
        let settings = parse(&live, Path::new("c.toml")).unwrap_or_else(|e| panic!("{e}\n{live}"));
        assert_eq!(settings.sort, SortKey::default());
        assert!(settings.columns.iter().all(|&(_, on)| on));
        assert_eq!(settings.keys.action(Key::Char('q')), Some(Action::Quit));
        assert_eq!(settings.retention, Some(Duration::from_secs(300)));
    }

    #[test]
    fn the_retention_reads_as_its_flag_does() {
        let settings = parse("[calls]\nretention = \"1.5m\"\n", Path::new("c.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.retention, Some(Duration::from_secs(90)));
        let error = parse("[calls]\nretention = \"soon\"\n", Path::new("c.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("retention = \"soon\""), "{error}");
    }

    #[test]
    fn a_bad_file_names_its_line_and_key() {
        let path = Path::new("/home/me/.config/mcptop/config.toml");
        let cases = [
            ("[screen]\nfps = 500\n", 2, "fps = 500"),
            (
                "[table]\ncolumns = [\"tool\", \"bogus\"]\n",
                2,
                "no column \"bogus\"",
            ),
            ("[screen]\ncolour = true\n", 2, "unknown field `colour`"),
            ("[keys]\nquit = [\"ctrl-q\"]\n", 2, "is not a key"),
            ("[keys]\nexplode = [\"e\"]\n", 2, "no such action"),
            ("[calls]\nretention = \"soon\"\n", 2, "retention"),
            ("[table\n", 1, ""),
        ];
        for (text, line, says) in cases {
            let e = parse(text, path).unwrap_err();
            let shown = e.to_string();
            assert_eq!(e.line, line, "{shown}");
            assert!(
                shown.starts_with("/home/me/.config/mcptop/config.toml:"),
                "{shown}"
            );
            assert!(shown.contains(says), "{shown}");
            assert!(!shown.contains('\n'), "one line: {shown}");
        }
    }

    #[test]
    fn a_rebound_key_and_columns_take_effect() {
        let text = "[keys]\nquit = [\"Q\"]\npause = [\"q\"]\n[table]\ncolumns = [\"state\", \"tool\", \"message\"]\nsort = \"tool\"\n";
        let settings = parse(text, Path::new("c.toml")).unwrap();
        let mut app = App::new(Default::default(), crate::time::Time::from_unix_nanos(0));
        settings.apply(&mut app);
        app.handle_key(Key::Char('q'), crate::time::Time::from_unix_nanos(0));
        assert!(!app.quit && app.paused.is_some(), "q pauses now");
        app.handle_key(Key::Char('Q'), crate::time::Time::from_unix_nanos(0));
        assert!(app.quit);
        let shown: Vec<&str> = app
            .columns
            .iter()
            .filter(|(_, on)| *on)
            .map(|(c, _)| c.name())
            .collect();
        assert_eq!(shown, ["state", "tool", "message"]);
        assert_eq!(app.view.sort, SortKey::Tool);
    }
}
