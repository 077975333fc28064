//! The daemon's discovery file: Construct's shape (`url`, `pid`, `started_at`) plus the
//! `admin_token` (mcptop extension), written atomically with mode 0600 and removed on a
//! clean shutdown. A live daemon's file is never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The file's content. Unknown fields are ignored; only `url` is required.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DiscoveryFile {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot find the home directory ($HOME is not set); use --discovery-file PATH")]
    NoHome,
    #[error(
        "another daemon (pid {pid}) is live at {url} and owns {path}; \
         use --discovery-file PATH to write elsewhere, or --no-discovery"
    )]
    Taken {
        pid: u32,
        url: String,
        path: PathBuf,
    },
    #[error("cannot write the discovery file {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `~/.mcptop/mcp.json`.
pub fn default_path() -> Result<PathBuf, DiscoveryError> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(DiscoveryError::NoHome)?;
    Ok(PathBuf::from(home).join(".mcptop").join("mcp.json"))
}

/// Reads a discovery file; `None` when it is missing or not one.
pub fn read(path: &Path) -> Option<DiscoveryFile> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether a process with this pid exists (signal 0 checks without sending anything).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The base URL of a discovery `url`: a trailing `/` and one trailing `/mcp` removed.
pub fn base_url(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/mcp").unwrap_or(url)
}

/// Whether `GET <base>/health` answers 200 within a second.
pub async fn health_answers(url: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
    else {
        return false;
    };
    let health = format!("{}/health", base_url(url));
    matches!(client.get(health).send().await, Ok(r) if r.status().is_success())
}

/// A written discovery file; [`DiscoveryGuard::remove`] deletes it if it is still ours.
#[derive(Debug)]
pub struct DiscoveryGuard {
    path: PathBuf,
    pid: u32,
}

impl DiscoveryGuard {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn remove(self) {
        if read(&self.path).is_some_and(|f| f.pid == Some(self.pid)) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes the file for this process, unless a live daemon owns it.
pub async fn publish(
    path: &Path,
    mcp_url: &str,
    admin_token: Option<&str>,
) -> Result<DiscoveryGuard, DiscoveryError> {
    let own = std::process::id();
    if let Some(existing) = read(path) {
        if let Some(pid) = existing.pid.filter(|&p| p != own && pid_alive(p)) {
            if health_answers(&existing.url).await {
                return Err(DiscoveryError::Taken {
                    pid,
                    url: existing.url,
                    path: path.to_owned(),
                });
            }
        }
    }
    let file = DiscoveryFile {
        url: mcp_url.to_owned(),
        pid: Some(own),
        started_at: Some(crate::time::Time::now().to_rfc3339_nanos()),
        admin_token: admin_token.map(str::to_owned),
    };
    write_atomically(path, &file).map_err(|source| DiscoveryError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(DiscoveryGuard {
        path: path.to_owned(),
        pid: own,
    })
}

fn write_atomically(path: &Path, file: &DiscoveryFile) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension(format!("json.tmp.{}", std::process::id()));
    let text = serde_json::to_string_pretty(file).map_err(std::io::Error::other)?;
    let result = (|| {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        out.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_strips_one_mcp_suffix() {
        assert_eq!(base_url("http://x:1/mcp"), "http://x:1");
        assert_eq!(base_url("http://x:1/mcp/"), "http://x:1");
        assert_eq!(base_url("http://x:1/"), "http://x:1");
        assert_eq!(base_url("http://x:1/mcp/mcp"), "http://x:1/mcp");
    }

    #[test]
    fn our_own_pid_is_alive() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
    }

    #[test]
    fn reads_construct_files_in_any_key_order() {
        let dir = std::env::temp_dir().join(format!("mcptop-disc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mcp.json");
        std::fs::write(
            &path,
            r#"{"pid": 12, "started_at": "2026-04-17T10:20:33Z", "url": "http://127.0.0.1:1/mcp", "extra": 1}"#,
        )
        .unwrap();
        let file = read(&path).unwrap();
        assert_eq!(
            (file.pid, file.url.as_str()),
            (Some(12), "http://127.0.0.1:1/mcp")
        );
        std::fs::write(&path, r#"{"url":"http://x/mcp"}"#).unwrap();
        assert_eq!(read(&path).unwrap().pid, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
