//! `mcptop` with no command: the live monitor (or `tail --plain` into a pipe).

use std::io::IsTerminal;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use super::tail::{resolve, spawn_source};
use super::Exit;
use crate::cli::TailArgs;
use mcptop::source::recording::redact_url;
use mcptop::ui::app::{App, SourceLabel};

pub fn run(args: &TailArgs) -> Result<()> {
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
        let stop = CancellationToken::new();
        let (rx, source) = spawn_source(daemon, chosen, options, stop.clone());
        let app = App::new(label, mcptop::source::now_us());
        let result = mcptop::ui::run(app, rx).await;
        stop.cancel();
        let _ = source.await;
        result
            .context("the terminal failed")
            .map_err(|e| Exit::new(1, format!("{e:#}")).into())
    })
}

pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}
