//! A tool-definition baseline: the tools each server offered in a recorded session, by
//! name, with each definition's fingerprint (`mcptop baseline REC > tools.json`), and the
//! check that a later session's servers still offer exactly those (`mcptop check REC
//! --baseline tools.json`): a tool added, removed or changed since it was approved is
//! what a reviewer must see (a changed description is how a server turns on its agent).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::recording::Opened;

/// What `baseline` writes and `check --baseline` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// `mcptop-tools-baseline`.
    pub format: String,
    pub version: u32,
    /// By server (its `serverInfo.name`, else the tap's label).
    pub servers: BTreeMap<String, ServerTools>,
}

/// One server's tools, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerTools {
    pub tools: BTreeMap<String, Tool>,
}

/// One tool as approved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The fingerprint of its whole definition (absent from recordings of older taps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

pub const FORMAT: &str = "mcptop-tools-baseline";

/// The tools the model's servers offer now.
pub fn of_model(model: &Model) -> Baseline {
    let mut servers: BTreeMap<String, ServerTools> = BTreeMap::new();
    for server in model.servers() {
        let info = &server.info;
        if info.tools.is_empty() {
            continue;
        }
        let name = Some(info.name.as_str())
            .filter(|n| !n.is_empty())
            .or(server.session_label.as_deref())
            .unwrap_or("server")
            .to_owned();
        let entry = servers.entry(name).or_default();
        for tool in &info.tools {
            entry.tools.insert(
                tool.name.clone(),
                Tool {
                    digest: tool.digest.clone(),
                    description: tool.description.clone(),
                },
            );
        }
    }
    Baseline {
        format: FORMAT.into(),
        version: 1,
        servers,
    }
}

/// Plays `recording` through the model: the tools its servers offered.
pub fn of_recording(recording: Opened) -> Baseline {
    of_model(&crate::playback::play(recording).0)
}

/// Reads a baseline file's text; `Err` says what is wrong with it.
pub fn parse(text: &str) -> Result<Baseline, String> {
    let baseline: Baseline =
        serde_json::from_str(text).map_err(|e| format!("not a tools baseline: {e}"))?;
    if baseline.format != FORMAT {
        return Err(format!(
            "not a tools baseline (format {:?}, not {FORMAT:?}): write one with `mcptop \
             baseline RECORDING > tools.json`",
            crate::sanitize::cut(&crate::sanitize::terminal(&baseline.format), 40)
        ));
    }
    Ok(baseline)
}

/// One difference from the baseline: the server, the tool, and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub server: String,
    pub tool: String,
    pub message: String,
}

/// What `now` offers that `approved` did not, or offers otherwise. A server the
/// baseline does not know has all its tools added; a server absent from `now` was not
/// seen (not a removal).
pub fn compare(approved: &Baseline, now: &Baseline) -> Vec<Change> {
    let shown = |s: &str| crate::sanitize::terminal(s).into_owned();
    let mut out = Vec::new();
    for (server, tools) in &now.servers {
        let before = approved.servers.get(server);
        for (name, tool) in &tools.tools {
            let change = |message: String| Change {
                server: server.clone(),
                tool: name.clone(),
                message,
            };
            match before.and_then(|b| b.tools.get(name)) {
                None => out.push(change(format!(
                    "server {}: tool {} added since the baseline",
                    shown(server),
                    shown(name)
                ))),
                Some(old) => {
                    let changed = match (&old.digest, &tool.digest) {
                        (Some(a), Some(b)) => a != b,
                        // Without both fingerprints, what both carry.
                        _ => old.description != tool.description,
                    };
                    if changed {
                        out.push(change(format!(
                            "server {}: tool {} changed since the baseline (definition {} → {})",
                            shown(server),
                            shown(name),
                            shown(old.digest.as_deref().unwrap_or("?")),
                            shown(tool.digest.as_deref().unwrap_or("?"))
                        )));
                    }
                }
            }
        }
        if let Some(before) = before {
            for name in before
                .tools
                .keys()
                .filter(|n| !tools.tools.contains_key(*n))
            {
                out.push(Change {
                    server: server.clone(),
                    tool: name.clone(),
                    message: format!(
                        "server {}: tool {} removed since the baseline",
                        shown(server),
                        shown(name)
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(tools: &[(&str, &str)]) -> Baseline {
        let mut server = ServerTools::default();
        for (name, digest) in tools {
            server.tools.insert(
                (*name).into(),
                Tool {
                    digest: Some((*digest).into()),
                    description: None,
                },
            );
        }
        Baseline {
            format: FORMAT.into(),
            version: 1,
            servers: [("shop".to_owned(), server)].into(),
        }
    }

    #[test]
    fn a_tools_fingerprint_follows_its_whole_definition_not_its_key_order() {
        let digest = |list: &str| {
            let mut server = crate::wire::schema::ServerEvent::default();
            server.read_tools(list, true);
            server.tools[0].digest.clone().unwrap()
        };
        let a = digest(
            r#"{"tools":[{"name":"buy","description":"Buy","inputSchema":{"type":"object","properties":{"id":{"type":"string"}}}}]}"#,
        );
        let reordered = digest(
            r#"{"tools":[{"inputSchema":{"properties":{"id":{"type":"string"}},"type":"object"},"description":"Buy","name":"buy"}]}"#,
        );
        // The same description, one more parameter: another definition.
        let widened = digest(
            r#"{"tools":[{"name":"buy","description":"Buy","inputSchema":{"type":"object","properties":{"id":{"type":"string"},"to":{"type":"string"}}}}]}"#,
        );
        assert_eq!(a, reordered);
        assert_ne!(a, widened);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn added_removed_and_changed_tools_are_each_said() {
        let approved = baseline(&[("search", "aa"), ("buy", "bb"), ("refund", "cc")]);
        let now = baseline(&[("search", "aa"), ("buy", "b2"), ("ship", "dd")]);
        let said: Vec<String> = compare(&approved, &now)
            .into_iter()
            .map(|c| c.message)
            .collect();
        assert_eq!(
            said,
            [
                "server shop: tool buy changed since the baseline (definition bb → b2)",
                "server shop: tool ship added since the baseline",
                "server shop: tool refund removed since the baseline",
            ]
        );
        assert!(compare(&approved, &approved).is_empty());
        let text = serde_json::to_string(&approved).unwrap();
        assert_eq!(parse(&text).unwrap(), approved);
        assert!(parse(r#"{"format":"x","version":1,"servers":{}}"#)
            .unwrap_err()
            .contains("mcptop baseline"));
    }
}
