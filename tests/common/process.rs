//! Running the real binary: `mcptop serve` in the background, other commands to the end.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mcptop");

/// A fresh directory under the system temp dir (used as HOME).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcptop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with HOME in `home`, no MCPTOP_* settings inherited, output piped.
pub fn command(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("MCPTOP_URL")
        .env_remove("MCPTOP_SESSION")
        .env_remove("MCPTOP_TOKEN")
        .env_remove("CODEX_HOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A child whose stdout lines arrive on a channel.
pub struct Running {
    pub child: Child,
    /// The child's standard input, when spawned with [`Running::spawn_piped`].
    pub stdin: Option<std::process::ChildStdin>,
    pub lines: Vec<String>,
    rx: mpsc::Receiver<String>,
}

impl Running {
    pub fn spawn(home: &Path, args: &[&str]) -> Running {
        let mut command = command(home, args);
        command.stdin(Stdio::null());
        Running::start(command)
    }

    /// As [`Running::spawn`], with a pipe to write the child's standard input.
    pub fn spawn_piped(home: &Path, args: &[&str]) -> Running {
        let mut command = command(home, args);
        command.stdin(Stdio::piped());
        let mut running = Running::start(command);
        running.stdin = running.child.stdin.take();
        running
    }

    /// Writes one line to the child's standard input.
    pub fn send(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("spawned with spawn_piped");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn start(mut command: Command) -> Running {
        let mut child = command.spawn().expect("spawn mcptop");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            stdin: None,
            lines: Vec::new(),
            rx,
        }
    }

    /// Waits (15 s at most) for a line that matches; returns it.
    pub fn line_matching(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.lines.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let mut stderr = String::new();
                    if let Some(mut e) = self.child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                    }
                    panic!("no line with {what}: got {:?}, stderr {stderr}", self.lines);
                }
            }
        }
    }

    /// The remaining stdout lines, once the process has exited.
    pub fn rest(&mut self) -> Vec<String> {
        while let Ok(line) = self.rx.recv_timeout(Duration::from_secs(15)) {
            self.lines.push(line);
        }
        self.lines.clone()
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: signalling our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits for the exit (15 s at most): status and stderr.
    pub fn wait(&mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("mcptop did not exit; stdout so far {:?}", self.lines);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        (status.code(), stderr)
    }

    pub fn terminate(&mut self) -> (Option<i32>, String) {
        self.signal(libc::SIGTERM);
        self.wait()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mcptop serve ARGS` with HOME in `home`; returns it and its base URL.
pub fn serve(home: &Path, args: &[&str]) -> (Running, String) {
    let mut all = vec!["serve"];
    all.extend_from_slice(args);
    let mut server = Running::spawn(home, &all);
    let first = server.line_matching("the address", |l| l.starts_with("listening on "));
    let url = first.trim_start_matches("listening on ").to_owned();
    if !args.contains(&"--no-discovery") {
        // Whoever reads the address may look for the daemon at once: the file is there.
        if !args.contains(&"--discovery-file") {
            let file = home.join(".mcptop/mcp.json");
            assert!(
                file.exists(),
                "{} is missing at \"{first}\"",
                file.display()
            );
        }
        server.line_matching("the discovery file", |l| l.starts_with("discovery file: "));
    }
    (server, url)
}

/// Runs a command to its end (30 s at most). Its output is read as it comes: a pipe left
/// unread would stop a command that writes more than the pipe holds.
pub fn run(home: &Path, args: &[&str]) -> Output {
    use std::io::Read;
    let mut child = command(home, args).spawn().expect("spawn mcptop");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mcptop {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
