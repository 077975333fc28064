//! Publishing what a tap observes into a session of the local mcptop daemon, without ever
//! slowing or failing the relay: items go through a bounded queue (full → counted as
//! unpublished), a background task batches them into `POST /session/{id}/publish`, and
//! any failure there costs only the items, never the traffic.
//!
//! The daemon is the one named by `--url`, else the live one of the discovery file; when
//! there is none, the tap starts `mcptop serve` in the background (in its own session, so
//! it outlives the tap and is shared by every tap of the user).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::observe::Item;
use crate::discovery::{self, base_url, pid_alive};

/// Items waiting to be published before new ones are counted as lost.
const QUEUE: usize = 8192;
/// Items per request.
const BATCH: usize = 512;
/// After a failure, how long to wait before trying the daemon again.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Where to publish.
#[derive(Debug, Clone)]
pub struct Target {
    /// `--url`: this daemon only (never started by the tap).
    pub url: Option<String>,
    /// The discovery file to find (or start) the shared daemon by.
    pub discovery_file: PathBuf,
    /// Start a daemon when none is running.
    pub spawn: bool,
    /// The session label; when `None`, the server's name from `initialize`.
    pub label: Option<String>,
    /// What the tap is (`wrap`, `proxy`): the label's fallback.
    pub kind: &'static str,
}

/// What became of the items.
#[derive(Debug, Default)]
pub struct Stats {
    pub published: AtomicU64,
    /// Items lost: the queue was full or the daemon could not take them.
    pub unpublished: AtomicU64,
}

/// The relay's handle: never blocks.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Item>,
    stats: Arc<Stats>,
}

impl Publisher {
    /// Starts the background task (needs a tokio runtime).
    pub fn start(target: Target) -> (Publisher, PublishTask) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(run(target, rx, Arc::clone(&stats), stop.clone()));
        (
            Publisher {
                tx,
                stats: Arc::clone(&stats),
            },
            PublishTask { task, stats, stop },
        )
    }

    pub fn send(&self, item: Item) {
        if self.tx.try_send(item).is_err() {
            self.stats.unpublished.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn send_all(&self, items: &mut Vec<Item>) {
        for item in items.drain(..) {
            self.send(item);
        }
    }

    /// Once a second, `tick` may add items (the observer's tasks whose ttl ran out); they
    /// are published. The task ends when `stop` is cancelled.
    pub fn spawn_ticks(
        &self,
        stop: tokio_util::sync::CancellationToken,
        mut tick: impl FnMut(&mut Vec<Item>) + Send + 'static,
    ) -> JoinHandle<()> {
        let publisher = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut items = Vec::new();
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.cancelled() => return,
                }
                tick(&mut items);
                publisher.send_all(&mut items);
            }
        })
    }
}

/// The background task; [`PublishTask::finish`] waits (boundedly) for what is queued.
pub struct PublishTask {
    task: JoinHandle<()>,
    stats: Arc<Stats>,
    stop: tokio_util::sync::CancellationToken,
}

impl PublishTask {
    /// Publishes what is queued now (for up to `limit`) and stops; returns (published,
    /// unpublished). [`Publisher`]s still held elsewhere then only count their items.
    pub async fn finish(self, limit: Duration) -> (u64, u64) {
        self.stop.cancel();
        let _ = tokio::time::timeout(limit, self.task).await;
        (
            self.stats.published.load(Ordering::Relaxed),
            self.stats.unpublished.load(Ordering::Relaxed),
        )
    }
}

/// The session items go to.
struct Link {
    base: String,
    session: String,
    token: String,
}

struct State {
    target: Target,
    client: reqwest::Client,
    link: Option<Link>,
    server_name: Option<String>,
    failed_at: Option<Instant>,
    /// The last failure, said once on stderr (not again until something works).
    said: Option<String>,
}

async fn run(
    target: Target,
    mut rx: mpsc::Receiver<Item>,
    stats: Arc<Stats>,
    stop: tokio_util::sync::CancellationToken,
) {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .unwrap_or_default();
    let mut state = State {
        target,
        client,
        link: None,
        server_name: None,
        failed_at: None,
        said: None,
    };
    // The request body being built: a JSON array of items.
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut count = 0u64;
    loop {
        let first = tokio::select! {
            item = rx.recv() => item,
            // Stopping: what is queued now is the last batch.
            _ = stop.cancelled() => rx.try_recv().ok(),
        };
        let Some(first) = first else {
            break;
        };
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Item::ServerName(name) => {
                    if state.server_name.is_none() {
                        state.server_name = Some(name);
                        // The session is named after the server: open it now, so the
                        // monitor shows the server before its first call.
                        if state.link.is_none() && state.failed_at.is_none() {
                            let _ = state.connect().await;
                        }
                    }
                }
                other => {
                    let mark = batch.len();
                    batch.push(if count == 0 { b'[' } else { b',' });
                    if other.write_json(&mut batch) {
                        count += 1;
                    } else {
                        batch.truncate(mark);
                    }
                }
            }
            if count < BATCH as u64 {
                next = rx.try_recv().ok();
            }
        }
        if count == 0 {
            continue;
        }
        batch.push(b']');
        let n = count;
        match state.post(&batch).await {
            Ok(()) => {
                stats.published.fetch_add(n, Ordering::Relaxed);
            }
            Err(why) => {
                stats.unpublished.fetch_add(n, Ordering::Relaxed);
                state.say(&why);
            }
        }
        batch.clear();
        count = 0;
    }
}

impl State {
    fn label(&self) -> String {
        self.target
            .label
            .clone()
            .or_else(|| self.server_name.clone())
            .unwrap_or_else(|| format!("mcptop {}", self.target.kind))
    }

    fn say(&mut self, why: &str) {
        if self.said.as_deref() != Some(why) {
            eprintln!(
                "mcptop {}: not publishing to the monitor: {}",
                self.target.kind,
                crate::sanitize::terminal(why)
            );
            self.said = Some(why.to_owned());
        }
    }

    /// Posts one batch, opening (or reopening) the session as needed.
    async fn post(&mut self, batch: &[u8]) -> Result<(), String> {
        for _ in 0..2 {
            if self.link.is_none() {
                if self.failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
                    return Err(self.said.clone().unwrap_or_else(|| "no daemon".into()));
                }
                self.connect().await?;
            }
            let Some(link) = &self.link else {
                continue;
            };
            let url =
                crate::endpoint::join(&link.base, &["session", &link.session, "publish"], &[])?;
            let sent = self
                .client
                .post(url)
                .bearer_auth(&link.token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(batch.to_vec())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    if self.said.take().is_some() {
                        eprintln!(
                            "mcptop {}: publishing to the monitor again",
                            self.target.kind
                        );
                    }
                    return Ok(());
                }
                Ok(r) if matches!(r.status().as_u16(), 401 | 404) => {
                    // The daemon restarted (its sessions are gone): find it, open anew.
                    self.link = None;
                }
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap_or_default();
                    let body = crate::sanitize::cut(body.trim(), 200);
                    return Err(format!("the daemon answered {status} {body}"));
                }
                Err(e) => {
                    self.link = None;
                    self.failed_at = Some(Instant::now());
                    return Err(format!("the daemon is unreachable ({})", e.without_url()));
                }
            }
        }
        Err("the daemon keeps refusing the session".into())
    }

    /// Finds (or starts) the daemon and opens a session labelled after the server.
    async fn connect(&mut self) -> Result<(), String> {
        let found = match &self.target.url {
            // A daemon named by URL gets the admin token only when the discovery file
            // names that same daemon and it passes the trust check.
            Some(url) => {
                let base = base_url(url).to_owned();
                let admin = live(&self.target.discovery_file)
                    .await
                    .filter(|(b, _)| *b == base)
                    .map(|(_, admin)| admin);
                Ok((base, admin))
            }
            None => find_or_start(&self.target.discovery_file, self.target.spawn)
                .await
                .map(|(base, admin)| (base, Some(admin))),
        };
        let (base, admin) = match found {
            Ok(found) => found,
            Err(why) => {
                self.failed_at = Some(Instant::now());
                return Err(why);
            }
        };
        let body = serde_json::json!({ "label": self.label() });
        let created = async {
            let mut request = self
                .client
                .post(crate::endpoint::join(&base, &["session"], &[])?)
                .json(&body);
            // With the admin token the session is the owner's: it shows in the monitor
            // with no flag. Without it, it is anonymous.
            if let Some(admin) = &admin {
                request = request.bearer_auth(admin);
            }
            let r = request
                .send()
                .await
                .map_err(|e| format!("the daemon is unreachable ({})", e.without_url()))?;
            if !r.status().is_success() {
                return Err(format!("the daemon refused a new session ({})", r.status()));
            }
            r.json::<Value>()
                .await
                .map_err(|e| format!("unreadable session answer ({})", e.without_url()))
        }
        .await;
        let created = match created {
            Ok(v) => v,
            Err(why) => {
                self.failed_at = Some(Instant::now());
                return Err(why);
            }
        };
        let field = |k: &str| created.get(k).and_then(Value::as_str).map(str::to_owned);
        match (field("session_id"), field("token")) {
            (Some(session), Some(token)) => {
                self.link = Some(Link {
                    base,
                    session,
                    token,
                });
                self.failed_at = None;
                Ok(())
            }
            _ => {
                self.failed_at = Some(Instant::now());
                Err("the daemon's session answer has no session_id and token".into())
            }
        }
    }
}

/// The base URL of the live daemon of `path`, starting one when allowed and needed.
pub async fn find_or_start(path: &Path, spawn: bool) -> Result<(String, String), String> {
    if let Some(found) = live(path).await {
        return Ok(found);
    }
    if !spawn {
        return Err(format!(
            "no daemon is running ({} names none)",
            path.display()
        ));
    }
    // One tap starts the daemon; the others wait for it (a lock next to the file).
    let lock_path = path.with_extension("lock");
    let lock = tokio::task::spawn_blocking(move || lock_file(&lock_path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot lock the daemon's discovery file: {e}"))?;
    if let Some(found) = live(path).await {
        drop(lock);
        return Ok(found);
    }
    start_daemon(path)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(found) = live(path).await {
            drop(lock);
            return Ok(found);
        }
    }
    drop(lock);
    Err("the daemon started in the background did not come up within 10 s".into())
}

/// The daemon of a discovery file and its admin token, if its process lives, `/health`
/// answers and names that process (a port squatter after a crash gets nothing).
async fn live(path: &Path) -> Option<(String, String)> {
    let file = discovery::read(path)?;
    if let Some(pid) = file.pid {
        if !pid_alive(pid) {
            return None;
        }
    }
    // Only an mcptop daemon takes published calls (it writes an admin token).
    let admin = file.admin_token.clone().filter(|t| !t.is_empty())?;
    let health = discovery::health(&file.url).await?;
    discovery::verify(&file, &health).ok()?;
    Some((base_url(&file.url).to_owned(), admin))
}

/// An exclusive `flock` on `path`, held until the file is dropped. The lock file is
/// this user's own regular file, never a planted symlink.
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let file = discovery::open_private_append(path)?;
    // SAFETY: flock on a descriptor we own; it blocks until the lock is ours.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// The variables the background daemon keeps from the tap's environment: an agent's API
/// keys and the like stay with the agent.
fn kept_variable(name: &str) -> bool {
    matches!(name, "HOME" | "PATH" | "RUST_LOG" | "LANG" | "TZ")
        || name.starts_with("XDG_")
        || name.starts_with("MCPTOP_")
        || name.starts_with("LC_")
}

/// `mcptop serve --discovery-file PATH`, detached: its own session (no terminal, no
/// signals from ours), no inherited standard streams (the agent reads our stdout), a
/// clean environment, the home directory as its cwd, and no descriptor but 0-2.
pub(crate) fn start_daemon(path: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find mcptop itself: {e}"))?;
    let log = path.with_file_name("daemon.log");
    let stderr = discovery::open_private_append(&log)
        .map(std::process::Stdio::from)
        .unwrap_or_else(|_| std::process::Stdio::null());
    let mut command = std::process::Command::new(exe);
    command
        .arg("serve")
        .arg("--discovery-file")
        .arg(path)
        .env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| k.to_str().is_some_and(kept_variable)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr);
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        command.current_dir(home);
    } else {
        command.current_dir("/");
    }
    // SAFETY: setsid and fcntl are async-signal-safe and touch nothing of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            close_inherited_descriptors();
            Ok(())
        });
    }
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start the daemon: {e}"))?;
    // Not waited for: it outlives us (init reaps it). Forget the handle.
    drop(child);
    Ok(())
}

/// Marks every descriptor above 2 close-on-exec (in the child, before exec): the agent's
/// sockets and pipes must not live on in the daemon. Marking rather than closing keeps the
/// standard library's own exec-error pipe working.
fn close_inherited_descriptors() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes flags of this process's descriptors.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        return;
    }
    // An older kernel: each descriptor in turn, up to the limit (bounded).
    // SAFETY: sysconf and fcntl have no memory-safety preconditions.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max = if (4..=65_536).contains(&max) {
        max as i32
    } else {
        4096
    };
    for fd in 3..max {
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::kept_variable;

    #[test]
    fn the_daemon_keeps_no_secret_of_the_agent() {
        for kept in [
            "HOME",
            "PATH",
            "XDG_RUNTIME_DIR",
            "MCPTOP_URL",
            "RUST_LOG",
            "LC_ALL",
        ] {
            assert!(kept_variable(kept), "{kept}");
        }
        for dropped in [
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "LD_PRELOAD",
        ] {
            assert!(!kept_variable(dropped), "{dropped}");
        }
    }
}
