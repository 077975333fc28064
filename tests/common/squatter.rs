//! A program on a crashed daemon's port: answers every request with 200 and a body of its
//! choosing, and keeps every byte it was sent, so a test can say what reached it.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Squatter {
    pub port: u16,
    seen: Arc<Mutex<String>>,
}

impl Squatter {
    /// Listens on 127.0.0.1 (a free port), answering `body` as JSON to everything.
    pub fn start(body: &str) -> Squatter {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(String::new()));
        let log = Arc::clone(&seen);
        let body = body.to_owned();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
                let mut buf = [0u8; 65536];
                let n = stream.read(&mut buf).unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Squatter { port, seen }
    }

    /// Every request it was sent so far.
    pub fn requests(&self) -> String {
        self.seen.lock().unwrap().clone()
    }

    /// Writes `home`'s discovery file as a crashed daemon left it: this port, a live pid
    /// (the test's own) and an admin token.
    pub fn plant_discovery(&self, home: &Path, admin_token: &str) {
        std::fs::create_dir_all(home.join(".mcptop")).unwrap();
        std::fs::write(
            home.join(".mcptop/mcp.json"),
            serde_json::json!({
                "url": format!("http://127.0.0.1:{}/mcp", self.port),
                "pid": std::process::id(),
                "admin_token": admin_token,
            })
            .to_string(),
        )
        .unwrap();
    }
}
