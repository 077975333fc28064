//! `mcptop setup AGENT --otel`: the agent's own OpenTelemetry settings, pointed at the
//! daemon's OTLP receiver (`mcptop serve --otlp`), and taken out again with `--undo`.
//!
//! - Claude Code: the `env` block of the user's `~/.claude/settings.json` (it takes no
//!   telemetry settings from a project's): `CLAUDE_CODE_ENABLE_TELEMETRY`,
//!   `OTEL_LOGS_EXPORTER=otlp`, OTLP/HTTP protobuf to 4318, a one-second export interval,
//!   and `OTEL_LOG_TOOL_DETAILS=1` (tool arguments, which the receiver redacts).
//! - Codex CLI: `[otel]` of `~/.codex/config.toml`: `exporter = { otlp-http = … }`.
//! - Gemini CLI: `telemetry` of its `settings.json`: OTLP/gRPC to 4317 (its default
//!   protocol), prompts not logged.
//!
//! Like every setup edit, only the values that change are rewritten: other keys, order,
//! layout and comments stay.

use std::path::Path;

use serde_json::Value;

use super::{json_str, jsonedit, unparsable, Agent, Format, Location, SetupError};

/// Where the OTLP receiver listens, as agents are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `http://127.0.0.1:4318`
    pub http: String,
    /// `http://127.0.0.1:4317`
    pub grpc: String,
}

impl Endpoints {
    /// Where the daemon receives, as mcptop's config file says (`[otlp] http`, `grpc`),
    /// else the conventional ports; a listener that is off or on port 0 gets the default.
    pub fn configured(otlp: Option<&crate::config::OtlpConfig>) -> Endpoints {
        let pick = |value: Option<&String>, default: std::net::SocketAddr| {
            let at = value
                .and_then(|v| crate::config::parse_listen(v).ok().flatten())
                .filter(|a| a.port() != 0)
                .unwrap_or(default);
            format!("http://{at}")
        };
        Endpoints {
            http: pick(otlp.and_then(|o| o.http.as_ref()), crate::config::OTLP_HTTP),
            grpc: pick(otlp.and_then(|o| o.grpc.as_ref()), crate::config::OTLP_GRPC),
        }
    }
}

impl Default for Endpoints {
    fn default() -> Endpoints {
        Endpoints {
            http: format!("http://{}", crate::config::OTLP_HTTP),
            grpc: format!("http://{}", crate::config::OTLP_GRPC),
        }
    }
}

/// The file holding an agent's telemetry settings; `None` for an agent without its own
/// OpenTelemetry.
pub fn location(agent: Agent, home: &Path, project: &Path, user: bool) -> Option<Location> {
    let json = |scope, path| Location {
        agent,
        scope,
        path,
        format: Format::Json(Vec::new()),
    };
    match agent {
        // Claude Code takes telemetry settings from the user's settings only (a project's
        // could send its user's tool calls anywhere).
        Agent::ClaudeCode => Some(Location {
            agent,
            scope: "user",
            path: home.join(".claude/settings.json"),
            format: Format::Json(Vec::new()),
        }),
        Agent::Codex => Some(Location {
            agent,
            scope: "user",
            path: super::codex_config(home),
            format: Format::CodexToml,
        }),
        Agent::Gemini if user => Some(json("user", home.join(".gemini/settings.json"))),
        Agent::Gemini => Some(json("project", project.join(".gemini/settings.json"))),
        _ => None,
    }
}

/// Claude Code's variables, in the order they are written.
pub fn claude_env(endpoints: &Endpoints) -> Vec<(&'static str, String)> {
    vec![
        ("CLAUDE_CODE_ENABLE_TELEMETRY", "1".into()),
        ("OTEL_LOGS_EXPORTER", "otlp".into()),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf".into()),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            format!("{}/v1/logs", endpoints.http),
        ),
        ("OTEL_LOGS_EXPORT_INTERVAL", "1000".into()),
        ("OTEL_LOG_TOOL_DETAILS", "1".into()),
    ]
}

/// Gemini CLI's `telemetry` object. `logPrompts` is what makes Gemini CLI 0.61 send a
/// tool call's `function_args` (measured: without it, only the tool's name), so it is on,
/// as Claude Code's `OTEL_LOG_TOOL_DETAILS`; the prompts it also sends are not kept.
pub fn gemini_telemetry(endpoints: &Endpoints) -> Value {
    serde_json::json!({
        "enabled": true,
        "target": "local",
        "otlpEndpoint": endpoints.grpc,
        "otlpProtocol": "grpc",
        "logPrompts": true,
    })
}

/// What setting the telemetry changes, beside the text: values of the user's that were
/// replaced (`key`, old value), to say so.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Installed {
    pub text: String,
    pub replaced: Vec<(String, String)>,
}

/// `text` (the agent's file at `location`) with the telemetry settings pointing at
/// `endpoints`.
pub fn install(
    location: &Location,
    text: &str,
    endpoints: &Endpoints,
) -> Result<Installed, SetupError> {
    match location.agent {
        Agent::ClaudeCode => install_json_members(location, text, &["env"], &claude_env(endpoints)),
        Agent::Gemini => {
            let value = gemini_telemetry(endpoints);
            let pretty = serde_json::to_string(&value).unwrap_or_default();
            let text = if text.trim().is_empty() { "{}\n" } else { text };
            let parsed: Value =
                serde_json::from_str(text).map_err(|e| unparsable(location, "JSON", e))?;
            let bad = || unparsable(location, "JSON", "it is not an object");
            let root = jsonedit::root(text).ok_or_else(bad)?;
            let mut replaced = Vec::new();
            let out = match parsed.get("telemetry") {
                Some(old) if *old == value => text.to_owned(),
                Some(old) => {
                    replaced.push(("telemetry".to_owned(), old.to_string()));
                    let span = jsonedit::find(text, root, &["telemetry"]).ok_or_else(bad)?;
                    jsonedit::replace(text, span, &pretty)
                }
                None => {
                    jsonedit::insert_member(text, root, "telemetry", &pretty).ok_or_else(bad)?
                }
            };
            Ok(Installed {
                text: out,
                replaced,
            })
        }
        Agent::Codex => {
            let mut doc: toml_edit::DocumentMut = text
                .parse()
                .map_err(|e: toml_edit::TomlError| unparsable(location, "TOML", e.message()))?;
            let mut replaced = Vec::new();
            let otel = doc
                .entry("otel")
                .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
                .as_table_like_mut()
                .ok_or_else(|| unparsable(location, "TOML", "its otel is not a table"))?;
            let wanted = codex_exporter(endpoints);
            match otel.get("exporter") {
                Some(old) if old.to_string().trim() == wanted.to_string().trim() => {}
                Some(old) => {
                    replaced.push((
                        "otel.exporter".to_owned(),
                        old.to_string().trim().to_owned(),
                    ));
                    otel.insert("exporter", toml_edit::Item::Value(wanted));
                }
                None => {
                    otel.insert("exporter", toml_edit::Item::Value(wanted));
                }
            }
            let mut text = doc.to_string();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            Ok(Installed { text, replaced })
        }
        _ => Ok(Installed {
            text: text.to_owned(),
            replaced: Vec::new(),
        }),
    }
}

/// Codex's `exporter = { otlp-http = { endpoint = …, protocol = "binary" } }`.
fn codex_exporter(endpoints: &Endpoints) -> toml_edit::Value {
    let mut http = toml_edit::InlineTable::new();
    http.insert("endpoint", format!("{}/v1/logs", endpoints.http).into());
    http.insert("protocol", "binary".into());
    let mut exporter = toml_edit::InlineTable::new();
    exporter.insert("otlp-http", toml_edit::Value::InlineTable(http));
    toml_edit::Value::InlineTable(exporter)
}

/// Sets each `(key, value)` (strings) in the object at `path`, made when missing.
fn install_json_members(
    location: &Location,
    text: &str,
    path: &[&str],
    members: &[(&'static str, String)],
) -> Result<Installed, SetupError> {
    let mut out = if text.trim().is_empty() {
        "{}\n".to_owned()
    } else {
        text.to_owned()
    };
    let bad = || unparsable(location, "JSON", "its env is not an object");
    let parsed: Value = serde_json::from_str(&out).map_err(|e| unparsable(location, "JSON", e))?;
    let mut replaced = Vec::new();
    if path.iter().try_fold(&parsed, |v, k| v.get(*k)).is_none() {
        let root = jsonedit::root(&out).ok_or_else(bad)?;
        let (parent, last) = path.split_at(path.len() - 1);
        let object = jsonedit::find(&out, root, parent).ok_or_else(bad)?;
        out = jsonedit::insert_member(&out, object, last[0], "{}").ok_or_else(bad)?;
    }
    for (key, value) in members {
        let root = jsonedit::root(&out).ok_or_else(bad)?;
        let object = jsonedit::find(&out, root, path).ok_or_else(bad)?;
        let current: Value = serde_json::from_str(&out[object.clone()]).map_err(|_| bad())?;
        let current = current.as_object().ok_or_else(bad)?;
        match current.get(*key) {
            Some(Value::String(old)) if old == value => {}
            Some(old) => {
                replaced.push((
                    (*key).to_owned(),
                    old.as_str().map_or_else(|| old.to_string(), str::to_owned),
                ));
                let span = jsonedit::find(&out, object, &[key]).ok_or_else(bad)?;
                out = jsonedit::replace(&out, span, &json_str(value));
            }
            None => {
                out =
                    jsonedit::insert_member(&out, object, key, &json_str(value)).ok_or_else(bad)?;
            }
        }
    }
    Ok(Installed {
        text: out,
        replaced,
    })
}

/// `text` without the telemetry settings mcptop writes (those still as it wrote them:
/// a value the user changed since is theirs, and stays).
pub fn remove(location: &Location, text: &str) -> Result<String, SetupError> {
    if text.trim().is_empty() {
        return Ok(text.to_owned());
    }
    match location.agent {
        Agent::ClaudeCode => {
            let parsed: Value =
                serde_json::from_str(text).map_err(|e| unparsable(location, "JSON", e))?;
            let mut out = text.to_owned();
            let bad = || unparsable(location, "JSON", "its env is not an object");
            for (key, _) in claude_env(&Endpoints::default()) {
                let ours = match (key, parsed["env"].get(key).and_then(Value::as_str)) {
                    (_, None) => false,
                    // The endpoint is the receiver's, whatever port it was given.
                    ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", Some(v)) => is_loopback_url(v),
                    (_, Some(v)) => claude_env(&Endpoints::default())
                        .iter()
                        .any(|(k, ours)| *k == key && ours == v),
                };
                if ours {
                    let root = jsonedit::root(&out).ok_or_else(bad)?;
                    let env = jsonedit::find(&out, root, &["env"]).ok_or_else(bad)?;
                    out = jsonedit::remove_member(&out, env, key).ok_or_else(bad)?;
                }
            }
            Ok(out)
        }
        Agent::Gemini => {
            let parsed: Value =
                serde_json::from_str(text).map_err(|e| unparsable(location, "JSON", e))?;
            let ours = parsed.get("telemetry").is_some_and(|t| {
                t["target"] == "local" && t["otlpEndpoint"].as_str().is_some_and(is_loopback_url)
            });
            if !ours {
                return Ok(text.to_owned());
            }
            let bad = || unparsable(location, "JSON", "it is not an object");
            let root = jsonedit::root(text).ok_or_else(bad)?;
            jsonedit::remove_member(text, root, "telemetry").ok_or_else(bad)
        }
        Agent::Codex => {
            let mut doc: toml_edit::DocumentMut = text
                .parse()
                .map_err(|e: toml_edit::TomlError| unparsable(location, "TOML", e.message()))?;
            let Some(otel) = doc.get_mut("otel").and_then(|o| o.as_table_like_mut()) else {
                return Ok(text.to_owned());
            };
            let ours = otel
                .get("exporter")
                .and_then(|e| e.get("otlp-http"))
                .and_then(|h| h.get("endpoint"))
                .and_then(|e| e.as_str())
                .is_some_and(is_loopback_url);
            if ours {
                otel.remove("exporter");
                if otel.is_empty() {
                    doc.remove("otel");
                }
            }
            Ok(doc.to_string())
        }
        _ => Ok(text.to_owned()),
    }
}

/// Whether `url` is an `http://` URL of this machine (the receiver setup points at).
fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn at(agent: Agent) -> Location {
        location(agent, Path::new("/home/me"), Path::new("/work/shop"), false).unwrap()
    }

    #[test]
    fn claude_codes_env_is_set_beside_what_is_there_and_taken_out_exactly() {
        let before = "{\n  \"env\": {\n    \"FOO\": \"bar\",\n    \"OTEL_LOGS_EXPORTER\": \"console\"\n  },\n  \"model\": \"opus\"\n}\n";
        let location = at(Agent::ClaudeCode);
        assert_eq!(
            location.path,
            PathBuf::from("/home/me/.claude/settings.json")
        );
        let installed = install(&location, before, &Endpoints::default()).unwrap();
        let parsed: Value = serde_json::from_str(&installed.text).unwrap();
        assert_eq!(parsed["env"]["FOO"], "bar");
        assert_eq!(parsed["env"]["CLAUDE_CODE_ENABLE_TELEMETRY"], "1");
        assert_eq!(
            parsed["env"]["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"],
            "http://127.0.0.1:4318/v1/logs"
        );
        assert_eq!(parsed["model"], "opus");
        assert_eq!(
            installed.replaced,
            vec![("OTEL_LOGS_EXPORTER".to_owned(), "console".to_owned())]
        );
        // Installing again changes nothing.
        let again = install(&location, &installed.text, &Endpoints::default()).unwrap();
        assert_eq!(again.text, installed.text);
        // Taking it out leaves the user's own variable, and the layout.
        let removed = remove(&location, &installed.text).unwrap();
        assert_eq!(
            removed,
            "{\n  \"env\": {\n    \"FOO\": \"bar\"\n  },\n  \"model\": \"opus\"\n}\n"
        );
        // A file with no settings gets them.
        let fresh = install(&location, "", &Endpoints::default()).unwrap();
        assert!(
            serde_json::from_str::<Value>(&fresh.text).unwrap()["env"]["OTEL_LOG_TOOL_DETAILS"]
                == "1"
        );
    }

    #[test]
    fn gemini_and_codex_get_their_own_telemetry_settings_and_lose_only_those() {
        let location = at(Agent::Gemini);
        let before = "{\n  \"theme\": \"dark\"\n}\n";
        let installed = install(&location, before, &Endpoints::default()).unwrap();
        let parsed: Value = serde_json::from_str(&installed.text).unwrap();
        assert_eq!(parsed["telemetry"]["otlpEndpoint"], "http://127.0.0.1:4317");
        assert_eq!(parsed["telemetry"]["otlpProtocol"], "grpc");
        assert_eq!(remove(&location, &installed.text).unwrap(), before);

        let location = at(Agent::Codex);
        let before = "# mine\nmodel = \"o3\"\n\n[otel]\nlog_user_prompt = false\n";
        let installed = install(&location, before, &Endpoints::default()).unwrap();
        assert!(installed.text.contains("# mine"), "{}", installed.text);
        let doc: toml::Table = toml::from_str(&installed.text).unwrap();
        assert_eq!(
            doc["otel"]["exporter"]["otlp-http"]["endpoint"].as_str(),
            Some("http://127.0.0.1:4318/v1/logs")
        );
        assert_eq!(remove(&location, &installed.text).unwrap(), before);
        // An exporter of the user's own (a team collector) is not taken out.
        let theirs = "[otel]\nexporter = { otlp-http = { endpoint = \"https://otel.example.com/v1/logs\", protocol = \"binary\" } }\n";
        assert_eq!(remove(&location, theirs).unwrap(), theirs);
        assert_eq!(
            install(&location, theirs, &Endpoints::default())
                .unwrap()
                .replaced
                .len(),
            1
        );
    }
}
