//! `mcptop` with no command: the live monitor (or `tail --plain` into a pipe).

use std::io::IsTerminal;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use super::tail::{recorder_for, resolve, spawn_source};
use super::Exit;
use crate::cli::{ScreenArgs, TailArgs};
use mcptop::recording::{redact_url, Recorder};
use mcptop::source::{now_us, Timed};
use mcptop::ui::app::{App, SourceLabel};
use tokio::sync::mpsc;

pub fn run(args: &TailArgs, screen: &ScreenArgs) -> Result<()> {
    if !std::io::stdout().is_terminal() || args.output.json {
        return super::tail::run(args);
    }
    super::runtime()?.block_on(async {
        let Some((daemon, chosen, options)) = resolve(args).await? else {
            return Ok(());
        };
        let label = SourceLabel {
            daemon: redact_url(&daemon.base_url)
                .trim_start_matches("http://")
                .to_owned(),
            transport: options.transport.as_str().to_uppercase(),
            session: chosen
                .label
                .clone()
                .unwrap_or_else(|| short_id(&chosen.session_id)),
        };
        let recorder = recorder_for(args, &daemon, &chosen, &options)?;
        let stop = CancellationToken::new();
        let (rx, source) = spawn_source(daemon, chosen, options, stop.clone());
        let rx = match recorder {
            Some(recorder) => record_through(rx, recorder),
            None => rx,
        };
        let app = App::new(label, now_us());
        let result = mcptop::ui::run(app, rx, screen.options()).await;
        stop.cancel();
        let _ = source.await;
        result
            .context("the terminal failed")
            .map_err(|e| Exit::new(1, format!("{e:#}")).into())
    })
}

/// Passes every source event on, writing it to the recording first. A failed write ends
/// the recording (once, said on the screen's stream as a stop), never the monitor.
fn record_through(mut rx: mpsc::Receiver<Timed>, mut recorder: Recorder) -> mpsc::Receiver<Timed> {
    let (tx, out) = mpsc::channel(4096);
    tokio::spawn(async move {
        let mut recording = true;
        while let Some(timed) = rx.recv().await {
            if recording && recorder.record(&timed).is_err() {
                recording = false;
            }
            if tx.send(timed).await.is_err() {
                break;
            }
        }
    });
    out
}

pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}
