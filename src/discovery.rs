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

/// When process `pid` started (clock ticks since boot, from `/proc`): with the pid, it
/// names one process, not whichever later gets the same number. `None` where `/proc` has
/// no answer.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces: fields count from its end.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the TCP socket listening at `addr` belongs to this user, read from
/// `/proc/net/tcp` and `tcp6` (a listener on the wildcard address of the same port counts).
/// `None` where that cannot be told (no `/proc`, or no listener found).
pub fn listener_is_ours(addr: std::net::SocketAddr) -> Option<bool> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let table = match addr {
        std::net::SocketAddr::V4(_) => "/proc/net/tcp",
        std::net::SocketAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = std::fs::read_to_string(table).ok()?;
    let mut found = None;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(uid)) = (fields.get(1), fields.get(3), fields.get(7))
        else {
            continue;
        };
        // 0A: LISTEN.
        if *state != "0A" {
            continue;
        }
        let Some((ip_hex, port_hex)) = local.split_once(':') else {
            continue;
        };
        if u16::from_str_radix(port_hex, 16).ok() != Some(addr.port()) {
            continue;
        }
        let Some(ip) = proc_net_ip(ip_hex) else {
            continue;
        };
        if ip != addr.ip() && !ip.is_unspecified() {
            continue;
        }
        let owner = uid.parse::<u32>().ok()?;
        if owner != me {
            return Some(false);
        }
        found = Some(true);
    }
    found
}

/// Whether the other end of a connection this process accepted (on `local`, from `peer`)
/// is a socket of this user: `None` where the system does not say (not Linux, or the
/// socket is gone).
pub fn peer_is_ours(local: std::net::SocketAddr, peer: std::net::SocketAddr) -> Option<bool> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let table = match peer {
        std::net::SocketAddr::V4(_) => "/proc/net/tcp",
        std::net::SocketAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = std::fs::read_to_string(table).ok()?;
    let endpoint = |field: &str| -> Option<std::net::SocketAddr> {
        let (ip_hex, port_hex) = field.split_once(':')?;
        let port = u16::from_str_radix(port_hex, 16).ok()?;
        Some(std::net::SocketAddr::new(proc_net_ip(ip_hex)?, port))
    };
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(from), Some(to), Some(uid)) = (fields.get(1), fields.get(2), fields.get(7))
        else {
            continue;
        };
        // The peer's own socket: its local end is our peer, its remote end is us.
        if endpoint(from) == Some(peer) && endpoint(to) == Some(local) {
            return Some(uid.parse::<u32>().ok()? == me);
        }
    }
    None
}

/// An address as `/proc/net/tcp{,6}` writes it: 32-bit words in host (little-endian) order.
fn proc_net_ip(hex: &str) -> Option<std::net::IpAddr> {
    let words: Option<Vec<u32>> = (0..hex.len() / 8)
        .map(|i| {
            hex.get(i * 8..i * 8 + 8)
                .and_then(|w| u32::from_str_radix(w, 16).ok())
        })
        .collect();
    let bytes: Vec<u8> = words?.iter().flat_map(|w| w.to_le_bytes()).collect();
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into()),
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(octets).into())
        }
        _ => None,
    }
}

/// The base URL of a discovery `url`: a trailing `/` and one trailing `/mcp` removed.
pub fn base_url(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/mcp").unwrap_or(url)
}

/// Whether `GET <base>/health` answers 200 within a second.
pub async fn health_answers(url: &str) -> bool {
    health(url).await.is_some()
}

/// What a daemon's `GET /health` says of itself (Construct's fields, and mcptop's
/// `server`). Every field is optional: only a 200 is required to answer at all.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Health {
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    /// mcptop's OTLP receiver, when it runs.
    #[serde(default)]
    pub otlp: Option<ReceiverHealth>,
    /// mcptop's OTLP exporter, when it runs.
    #[serde(default)]
    pub otlp_export: Option<ExporterHealth>,
}

/// What the OTLP receiver turned away (`/health` `otlp`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ReceiverHealth {
    #[serde(default)]
    pub refused: u64,
    #[serde(default)]
    pub strangers: u64,
}

/// What the OTLP exporter lost (`/health` `otlp_export`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ExporterHealth {
    #[serde(default)]
    pub dropped: u64,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// `GET <base>/health` within a second: `None` when it does not answer 200. A 200 whose
/// body is not the JSON expected gives an empty [`Health`].
pub async fn health(url: &str) -> Option<Health> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()?;
    let response = client
        .get(crate::endpoint::join(base_url(url), &["health"], &[]).ok()?)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    // A health answer is small; a squatter's endless body must not be read whole.
    let mut body = Vec::new();
    let mut response = response;
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 16 * 1024 {
            return Some(Health::default());
        }
    }
    Some(serde_json::from_slice(&body).unwrap_or_default())
}

/// Why a daemon that answers is not the one the file names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Untrusted {
    #[error("the daemon at {url} says it is pid {answered}, but the discovery file names pid {file} — another program took the port after the daemon stopped")]
    WrongPid {
        url: String,
        file: u32,
        answered: u32,
    },
    #[error("the program at {url} is not an mcptop daemon, but the discovery file holds an admin token — another program took the port after the daemon stopped")]
    NotMcptop { url: String },
}

/// The trust check made before anything secret goes to the daemon of `file`, once its
/// `/health` answered with `health`: the pid it names must be the file's, and a file
/// that holds an admin token must be answered by an mcptop daemon that names its pid. A
/// Construct daemon's file without a pid, or a health without one, is taken as it is.
pub fn verify(file: &DiscoveryFile, health: &Health) -> Result<(), Untrusted> {
    let url = base_url(&file.url).to_owned();
    let mcptop = health.server.as_deref() == Some("mcptop") && health.pid.is_some();
    if file.admin_token.is_some() && !mcptop {
        return Err(Untrusted::NotMcptop { url });
    }
    match (file.pid, health.pid) {
        (Some(file), Some(answered)) if file != answered => Err(Untrusted::WrongPid {
            url,
            file,
            answered,
        }),
        _ => Ok(()),
    }
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
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut text = serde_json::to_string_pretty(file).map_err(std::io::Error::other)?;
    text.push('\n');
    replace_file(path, text.as_bytes(), 0o600, Durability::Synced)
}

/// Whether [`replace_file`] waits for the bytes to reach the disk before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync` first: after a crash the file is the old one or the new one, whole.
    Synced,
    /// No `fsync` (the hook's state, rewritten on every event within milliseconds).
    Cached,
}

/// The one way mcptop replaces a file: `bytes` go into a private temporary file beside
/// `path` (a fresh name, never through a link), which then gets `mode` and is renamed over
/// `path`, so a reader sees the old file or the new one, never a part. The temporary file
/// is removed when anything fails. The directory must exist.
pub fn replace_file(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, mut out) = create_private_temp(path)?;
    let result = (|| {
        out.write_all(bytes)?;
        if mode != 0o600 {
            out.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        if durability == Durability::Synced {
            out.sync_all()?;
        }
        drop(out);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new file only this user can read, created exclusively (never through a planted
/// file or symlink): `O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600 whatever the umask.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Opens `path` for appending only when it is this user's own regular file (not a
/// symlink), creating it 0600 when it is missing: for logs and lock files beside the
/// discovery file.
pub fn open_private_append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o600)
        .open(path)?;
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != me {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} is not a regular file of this user", path.display()),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// A fresh temporary file beside `path`, for an atomic rename over it.
fn create_private_temp(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for _ in 0..16 {
        let tmp = path.with_file_name(format!(
            "{name}.tmp.{}.{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        match create_private(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_with_its_mode_and_no_leftover() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mcptop-replace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        for (bytes, mode, durability) in [
            (&b"first"[..], 0o644, Durability::Synced),
            (&b"second"[..], 0o600, Durability::Cached),
        ] {
            replace_file(&path, bytes, mode, durability).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), bytes);
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, mode);
        }
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["config.toml"], "no temporary file is left");
        // A directory that is not there: an error, and nothing made.
        let missing = dir.join("gone/config.toml");
        assert!(replace_file(&missing, b"x", 0o600, Durability::Cached).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn base_url_strips_one_mcp_suffix() {
        assert_eq!(base_url("http://x:1/mcp"), "http://x:1");
        assert_eq!(base_url("http://x:1/mcp/"), "http://x:1");
        assert_eq!(base_url("http://x:1/"), "http://x:1");
        assert_eq!(base_url("http://x:1/mcp/mcp"), "http://x:1/mcp");
    }

    #[test]
    fn trusts_only_the_daemon_the_file_names() {
        let file = |pid, admin: Option<&str>| DiscoveryFile {
            url: "http://127.0.0.1:9/mcp".into(),
            pid,
            started_at: None,
            admin_token: admin.map(str::to_owned),
        };
        let mcptop = |pid| Health {
            pid,
            server: Some("mcptop".into()),
            ..Health::default()
        };
        assert_eq!(verify(&file(Some(7), Some("t")), &mcptop(Some(7))), Ok(()));
        assert!(matches!(
            verify(&file(Some(7), Some("t")), &mcptop(Some(8))),
            Err(Untrusted::WrongPid {
                file: 7,
                answered: 8,
                ..
            })
        ));
        // A squatter that answers 200 with anything else gets no admin token.
        assert!(matches!(
            verify(&file(Some(7), Some("t")), &Health::default()),
            Err(Untrusted::NotMcptop { .. })
        ));
        // Construct: no admin token, its own health shape.
        let construct = Health {
            pid: Some(7),
            ..Health::default()
        };
        assert_eq!(verify(&file(Some(7), None), &construct), Ok(()));
        assert!(verify(&file(Some(6), None), &construct).is_err());
        assert_eq!(verify(&file(None, None), &Health::default()), Ok(()));
    }

    #[test]
    fn private_files_refuse_planted_links_and_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mcptop-priv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("victim");
        std::fs::write(&target, "x").unwrap();
        let link = dir.join("planted");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(create_private(&link).is_err());
        assert!(open_private_append(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "x");
        let fresh = dir.join("fresh");
        create_private(&fresh).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            create_private(&fresh).is_err(),
            "never opens an existing file"
        );
        // The discovery file itself, written through a fresh temp name, stays private.
        let path = dir.join("mcp.json");
        let file = DiscoveryFile {
            url: "http://127.0.0.1:1/mcp".into(),
            pid: Some(1),
            started_at: None,
            admin_token: Some("secret".into()),
        };
        write_atomically(&path, &file).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read(&path), Some(file));
        std::fs::remove_dir_all(&dir).unwrap();
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

    #[test]
    fn proc_net_addresses_and_our_own_listener() {
        assert_eq!(proc_net_ip("0100007F"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            proc_net_ip("00000000000000000000000001000000"),
            Some("::1".parse().unwrap())
        );
        assert_eq!(proc_net_ip("zz"), None);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        if std::path::Path::new("/proc/net/tcp").exists() {
            assert_eq!(listener_is_ours(addr), Some(true));
            drop(listener);
            assert_eq!(listener_is_ours(addr), None);
        }
        let me = std::process::id();
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(process_start(me).is_some());
            assert_eq!(process_start(me), process_start(me));
        }
    }
}
