//! Choosing the session to tail: the one named (`--session` and `--token`), the one
//! labelled, or — with nothing named, on a daemon with an admin token — all of them.

use std::time::Duration;

use serde::Deserialize;

use super::discover::Daemon;

/// The session id of a daemon's all-sessions stream (mcptop daemons, admin token): every
/// session the owner made.
pub const ALL_SESSIONS: &str = "*";
/// The stream of every session, anonymous ones included (`--include-anonymous`).
pub const EVERY_SESSION: &str = "**";

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct SelectOptions {
    pub session: Option<String>,
    pub token: Option<String>,
    pub label: Option<String>,
    /// Show sessions made without the admin token (by any local user) too.
    pub include_anonymous: bool,
}

/// The session to open. `Debug` never shows the token.
#[derive(Clone, PartialEq)]
pub struct Chosen {
    pub session_id: String,
    pub token: String,
    pub label: Option<String>,
    /// Named by the user (so its disappearance is final), not picked automatically.
    pub explicit: bool,
}

impl std::fmt::Debug for Chosen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chosen")
            .field("session_id", &self.session_id)
            .field("token", &"<hidden>")
            .field("label", &self.label)
            .field("explicit", &self.explicit)
            .finish()
    }
}

/// A row of `GET /sessions`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SessionInfo {
    pub session_id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub cwd: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub subscribers: u64,
    #[serde(default)]
    pub running_calls: u64,
    #[serde(default)]
    pub last_event_at: Option<String>,
    /// Made without the admin token: any local user may have made it.
    #[serde(default)]
    pub anonymous: bool,
    /// An agent session's model turns so far (from its OpenTelemetry), and their cost.
    #[serde(default)]
    pub model_turns: u64,
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectError {
    #[error(
        "this daemon cannot list its sessions (no admin token in its discovery file): \
         give --session ID and --token TOKEN (the agent's MCP configuration has them)"
    )]
    CannotList,
    #[error(
        "the daemon named by URL cannot be listed without its admin token: give --discovery \
         PATH (its discovery file holds the token), or --session ID and --token TOKEN"
    )]
    CannotListByUrl,
    #[error("--session {session} needs its token: give --token (or $MCPTOP_TOKEN)")]
    MissingToken { session: String },
    #[error("the daemon refused the admin token ({status}) — its discovery file may be from an earlier run")]
    ListRefused { status: u16 },
    #[error("the daemon at {url} has no session yet — start an agent, or `mcptop session new`")]
    NoSessions { url: String },
    #[error("no session labelled {label:?} (labels: {known})")]
    NoSuchLabel { label: String, known: String },
    #[error("cannot reach the daemon at {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// `GET /sessions` with the admin token, newest activity first.
pub async fn list(daemon: &Daemon) -> Result<Vec<SessionInfo>, SelectError> {
    let Some(admin) = &daemon.admin_token else {
        return Err(if daemon.file.is_none() {
            SelectError::CannotListByUrl
        } else {
            SelectError::CannotList
        });
    };
    let url = crate::endpoint::join(&daemon.base_url, &["sessions"], &[]).map_err(|reason| {
        SelectError::Unreachable {
            url: daemon.base_url.clone(),
            reason,
        }
    })?;
    let unreachable = |e: reqwest::Error| SelectError::Unreachable {
        url: daemon.base_url.clone(),
        reason: e.without_url().to_string(),
    };
    let response = client()
        .get(url)
        .bearer_auth(admin)
        .send()
        .await
        .map_err(unreachable)?;
    match response.status().as_u16() {
        200 => response.json().await.map_err(unreachable),
        404 => Err(SelectError::CannotList),
        status => Err(SelectError::ListRefused { status }),
    }
}

/// The session to open.
pub async fn select(daemon: &Daemon, options: &SelectOptions) -> Result<Chosen, SelectError> {
    if let Some(session) = &options.session {
        let token = options
            .token
            .clone()
            .or_else(|| daemon.admin_token.clone())
            .ok_or_else(|| SelectError::MissingToken {
                session: session.clone(),
            })?;
        return Ok(Chosen {
            session_id: session.clone(),
            token,
            label: None,
            explicit: true,
        });
    }
    if options.label.is_none() {
        // Nothing named: every session, including those created later, on one stream.
        if let Some(admin) = &daemon.admin_token {
            let (session_id, label) = if options.include_anonymous {
                (EVERY_SESSION, "every session, anonymous ones included")
            } else {
                (ALL_SESSIONS, "all sessions")
            };
            return Ok(Chosen {
                session_id: session_id.into(),
                token: admin.clone(),
                label: Some(label.into()),
                explicit: false,
            });
        }
    }
    let mut sessions = list(daemon).await?;
    if !options.include_anonymous {
        sessions.retain(|s| !s.anonymous);
    }
    let admin = daemon.admin_token.clone().unwrap_or_default();
    let pick = match &options.label {
        Some(label) => sessions
            .iter()
            .find(|s| s.label.as_deref() == Some(label.as_str()))
            .or_else(|| {
                sessions.iter().find(|s| {
                    s.label
                        .as_deref()
                        .is_some_and(|l| l.contains(label.as_str()))
                })
            })
            .ok_or_else(|| SelectError::NoSuchLabel {
                label: label.clone(),
                known: known_labels(&sessions),
            })?,
        None => sessions.first().ok_or_else(|| SelectError::NoSessions {
            url: daemon.base_url.clone(),
        })?,
    };
    Ok(Chosen {
        session_id: pick.session_id.clone(),
        token: admin,
        label: pick.label.clone(),
        explicit: false,
    })
}

fn known_labels(sessions: &[SessionInfo]) -> String {
    let labels: Vec<&str> = sessions.iter().filter_map(|s| s.label.as_deref()).collect();
    if labels.is_empty() {
        "none".into()
    } else {
        labels.join(", ")
    }
}

/// A new session, made with `POST /session`: (session id, token).
pub async fn create(
    daemon: &Daemon,
    label: Option<&str>,
    cwd: Option<&str>,
) -> Result<(String, String), SelectError> {
    #[derive(Deserialize)]
    struct Created {
        session_id: String,
        token: String,
    }
    let unreachable = |e: reqwest::Error| SelectError::Unreachable {
        url: daemon.base_url.clone(),
        reason: e.without_url().to_string(),
    };
    let mut body = serde_json::Map::new();
    if let Some(label) = label {
        body.insert("label".into(), label.into());
    }
    if let Some(cwd) = cwd {
        body.insert("cwd".into(), cwd.into());
    }
    let url = crate::endpoint::join(&daemon.base_url, &["session"], &[]).map_err(|reason| {
        SelectError::Unreachable {
            url: daemon.base_url.clone(),
            reason,
        }
    })?;
    let mut request = client().post(url).json(&body);
    // The owner's session (shown with no flag) when the discovery file gave the token.
    if let Some(admin) = &daemon.admin_token {
        request = request.bearer_auth(admin);
    }
    let created: Created = request
        .send()
        .await
        .map_err(unreachable)?
        .error_for_status()
        .map_err(unreachable)?
        .json()
        .await
        .map_err(unreachable)?;
    Ok((created.session_id, created.token))
}
