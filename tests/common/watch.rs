//! A live source (`source::connect::run`) feeding a model in the test's own task, keeping
//! every update it produced: how the client tests and the fault tests watch a server.

use std::time::Duration;

use mcptop::report::Feed;
use mcptop::source::connect::{self, LiveOptions};
use mcptop::source::discover::Daemon;
use mcptop::source::select::Chosen;
use mcptop::source::{SourceEvent, Stop, Timed};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a wait lasts before the test fails (only a failing test waits it out).
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Watch {
    rx: mpsc::Receiver<Timed>,
    pub feed: Feed,
    stop: CancellationToken,
    source: tokio::task::JoinHandle<Stop>,
    pub updates: Vec<Value>,
}

impl Watch {
    /// Follows `session_id` with `token` on the daemon at `base_url`.
    pub fn follow(base_url: String, session_id: &str, token: &str, options: LiveOptions) -> Watch {
        let (tx, rx) = mpsc::channel(4096);
        let stop = CancellationToken::new();
        let daemon = Daemon {
            base_url,
            admin_token: None,
            file: None,
            instance: None,
            mcptop: true,
            otlp: false,
        };
        let chosen = Chosen {
            session_id: session_id.into(),
            token: token.into(),
            label: None,
            explicit: true,
        };
        let source = tokio::spawn(connect::run(daemon, chosen, options, tx, stop.clone()));
        Watch {
            rx,
            feed: Feed::default(),
            stop,
            source,
            updates: Vec::new(),
        }
    }

    /// Reads until an update matches; panics after the wait or when the source ends.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let timed = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; got {:#?}", self.updates))
                .unwrap_or_else(|| panic!("the source ended before {what}: {:#?}", self.updates));
            for update in self.feed.ingest(&timed) {
                self.updates.push(update.json.clone());
                if pred(&update.json) {
                    return update.json;
                }
            }
        }
    }

    /// Reads until `n` keep-alives have come; panics on the wait or on any update that
    /// says the link dropped or the source stopped before them.
    pub async fn keepalives(&mut self, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut seen = 0;
        while seen < n {
            let timed = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("{seen} of {n} keep-alives came; got {:#?}", self.updates)
                })
                .unwrap_or_else(|| panic!("the source ended after {seen} of {n} keep-alives"));
            if matches!(timed.event, SourceEvent::KeepAlive) {
                seen += 1;
            }
            for update in self.feed.ingest(&timed) {
                let state = &update.json["state"];
                assert!(
                    update.json["type"] != "status" || state == "connected",
                    "after {seen} keep-alives: {:#}",
                    update.json
                );
                self.updates.push(update.json.clone());
            }
        }
    }

    /// Waits for the source to stop by itself.
    pub async fn stopped(mut self) -> (Stop, Vec<Value>) {
        let stop = tokio::time::timeout(WAIT, &mut self.source)
            .await
            .expect("the source did not stop by itself")
            .unwrap();
        while let Ok(timed) = self.rx.try_recv() {
            for update in self.feed.ingest(&timed) {
                self.updates.push(update.json);
            }
        }
        (stop, self.updates)
    }

    /// Stops the source; how it stopped and every update.
    pub async fn stop(self) -> (Stop, Vec<Value>) {
        self.stop.cancel();
        let stop = self.source.await.unwrap();
        (stop, self.updates)
    }

    /// The progress values the calls were seen at, in order.
    pub fn progress_seen(&self) -> Vec<f64> {
        self.updates
            .iter()
            .filter(|v| v["type"] == "call")
            .filter_map(|v| v["call"]["progress"].as_f64())
            .collect()
    }

    /// How many updates of `kind` (in `state`, unless it is empty) there were.
    pub fn count(&self, kind: &str, state: &str) -> usize {
        self.updates
            .iter()
            .filter(|v| v["type"] == kind && (state.is_empty() || v["state"] == state))
            .count()
    }
}
