//! Finding the daemon: `--url`, `$MCPTOP_URL`, `--discovery PATH`, then mcptop's own
//! discovery file, then Construct's and its twins'. A file is trusted only when its pid
//! is alive and its `/health` answers.

use std::path::{Path, PathBuf};

use crate::discovery::{self as file, base_url, pid_alive, Untrusted};

/// Where to look.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// `--url` or `$MCPTOP_URL`: the daemon's base or MCP URL.
    pub url: Option<String>,
    /// `--discovery PATH`: only this file.
    pub discovery: Option<PathBuf>,
    /// The home directory the default files are under.
    pub home: Option<PathBuf>,
}

/// A daemon that answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Daemon {
    /// `http://127.0.0.1:PORT`, no trailing `/` and no `/mcp`.
    pub base_url: String,
    /// The admin token of an mcptop daemon (from its discovery file).
    pub admin_token: Option<String>,
    /// The discovery file it came from.
    pub file: Option<PathBuf>,
    /// Which run of the daemon this is (`pid 1234 · started …`), from its `/health`.
    pub instance: Option<String>,
    /// Whether its `/health` says it is mcptop's daemon (else Construct or a twin).
    pub mcptop: bool,
    /// Whether it runs an OpenTelemetry path (receiver or exporter), whose losses its
    /// `/health` counts: the source then reads them beside the stream.
    pub otlp: bool,
}

/// A daemon run's identity from its `/health`.
fn instance_of(health: &file::Health) -> Option<String> {
    // What a daemon says of itself is shown: a short time, never a long text.
    let started = health
        .started_at
        .as_deref()
        .map(|s| crate::sanitize::cut(s, 64));
    match (health.pid, started.as_deref()) {
        (Some(pid), Some(started)) => Some(format!("pid {pid} · started {started}")),
        (Some(pid), None) => Some(format!("pid {pid}")),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiscoverError {
    #[error("no daemon answers at {url} — is `mcptop serve` (or the Construct daemon) running?")]
    UrlDown { url: String },
    #[error("no daemon found: {} — start one with `mcptop serve`, or give --url", missing_list(.tried))]
    NothingFound { tried: Vec<PathBuf> },
    #[error("stale discovery file {} (pid {pid} is gone) — start the daemon again, or remove the file", .path.display())]
    Stale { path: PathBuf, pid: u32 },
    #[error("the daemon of {} (pid {pid}) does not answer at {url} — it may be starting or hung", .path.display())]
    NotAnswering {
        path: PathBuf,
        pid: u32,
        url: String,
    },
    #[error("{} is not a discovery file (expected JSON with a \"url\")", .path.display())]
    Unreadable { path: PathBuf },
    #[error("{reason}; nothing was sent to it — remove {} and start the daemon again", .path.display())]
    Untrusted { path: PathBuf, reason: Untrusted },
}

fn missing_list(tried: &[PathBuf]) -> String {
    let names: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    match names.len() {
        0 => "no discovery file to look at".into(),
        1 => format!("{} is missing", names[0]),
        _ => format!("{} are missing", names.join(", ")),
    }
}

/// The discovery files looked at, in order, when no URL or file is given.
pub fn default_files(home: &Path) -> Vec<PathBuf> {
    [".mcptop", ".construct", ".revka"]
        .iter()
        .map(|dir| home.join(dir).join("mcp.json"))
        .collect()
}

/// The files this search reads (to watch them for a daemon restart).
pub fn files(options: &DiscoverOptions) -> Vec<PathBuf> {
    if options.url.is_some() {
        return Vec::new();
    }
    if let Some(path) = &options.discovery {
        return vec![path.clone()];
    }
    options
        .home
        .as_deref()
        .map(default_files)
        .unwrap_or_default()
}

/// Finds a daemon that answers, or says exactly why there is none.
pub async fn discover(options: &DiscoverOptions) -> Result<Daemon, DiscoverError> {
    if let Some(url) = &options.url {
        let base = base_url(url).to_owned();
        let Some(health) = file::health(&base).await else {
            return Err(DiscoverError::UrlDown { url: base });
        };
        // The owner's own daemon, named by URL: its discovery file (when one names it and
        // passes the trust check) gives the admin token.
        let owned = owner_file_for(&base, options).await;
        return Ok(Daemon {
            base_url: base,
            admin_token: owned.as_ref().and_then(|(_, f)| f.admin_token.clone()),
            file: owned.map(|(path, _)| path),
            instance: instance_of(&health),
            mcptop: health.server.as_deref() == Some("mcptop"),
            otlp: health.otlp.is_some() || health.otlp_export.is_some(),
        });
    }
    let candidates = files(options);
    let mut first_problem = None;
    for path in &candidates {
        if !path.exists() {
            continue;
        }
        let problem = match file::read(path) {
            None => DiscoverError::Unreadable { path: path.clone() },
            Some(found) => {
                if let Some(pid) = found.pid.filter(|&p| !pid_alive(p)) {
                    DiscoverError::Stale {
                        path: path.clone(),
                        pid,
                    }
                } else if let Some(health) = file::health(&found.url).await {
                    match file::verify(&found, &health) {
                        Ok(()) => {
                            return Ok(Daemon {
                                base_url: base_url(&found.url).to_owned(),
                                admin_token: found.admin_token.filter(|t| !t.is_empty()),
                                file: Some(path.clone()),
                                instance: instance_of(&health),
                                mcptop: health.server.as_deref() == Some("mcptop"),
                                otlp: health.otlp.is_some() || health.otlp_export.is_some(),
                            })
                        }
                        Err(reason) => {
                            tracing::warn!(path = %path.display(), %reason, "discovery file not trusted");
                            DiscoverError::Untrusted {
                                path: path.clone(),
                                reason,
                            }
                        }
                    }
                } else {
                    match found.pid {
                        Some(pid) => DiscoverError::NotAnswering {
                            path: path.clone(),
                            pid,
                            url: base_url(&found.url).to_owned(),
                        },
                        // No pid to check: a daemon that does not answer is as good as gone.
                        None => DiscoverError::UrlDown {
                            url: base_url(&found.url).to_owned(),
                        },
                    }
                }
            }
        };
        first_problem.get_or_insert(problem);
    }
    Err(first_problem.unwrap_or(DiscoverError::NothingFound { tried: candidates }))
}

/// The default discovery file that names the daemon at `base` and passes the trust check.
async fn owner_file_for(
    base: &str,
    options: &DiscoverOptions,
) -> Option<(PathBuf, file::DiscoveryFile)> {
    let home = options.home.as_deref()?;
    for path in default_files(home) {
        let Some(found) = file::read(&path) else {
            continue;
        };
        if base_url(&found.url) != base || found.admin_token.as_deref().is_none_or(str::is_empty) {
            continue;
        }
        if found.pid.is_some_and(|p| !pid_alive(p)) {
            continue;
        }
        let health = file::health(&found.url).await?;
        if file::verify(&found, &health).is_ok() {
            return Some((path, found));
        }
    }
    None
}
