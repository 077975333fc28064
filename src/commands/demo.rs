//! `mcptop demo`: a daemon, simulated agents and the monitor, in one command.

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};
use tokio_util::sync::CancellationToken;

use super::tail::spawn_source;
use crate::cli::DemoArgs;
use mcptop::server::{self, workload, ServerConfig};
use mcptop::source::connect::LiveOptions;
use mcptop::source::discover::Daemon;
use mcptop::source::select::Chosen;
use mcptop::ui::app::{App, SourceLabel};

pub fn run(args: &DemoArgs) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!("the demo draws in a terminal; for a pipe, run `mcptop serve --workload` and `mcptop tail`");
    }
    let settings = args.screen.settings()?;
    super::runtime()?.block_on(async {
        let running = server::start(ServerConfig::default())
            .await
            .context("cannot start the demo daemon on 127.0.0.1")?;
        let session = workload::create_session(
            &running.base_url(),
            "demo agents",
            Some(running.admin_token()),
        )
        .await?;
        // The servers view: the daemon's MCP endpoint as a tap in front of it would show it.
        workload::describe_server(&running.base_url(), &session).await?;
        let stop = CancellationToken::new();
        let config = workload::WorkloadConfig {
            agents: usize::try_from(args.agents).unwrap_or(3),
            pace: args.pace,
            bursts: !args.no_bursts,
            max_calls: None,
            modern_agents: true,
        };
        let pace = config.pace;
        let agents = {
            let (base, session, stop) = (running.base_url(), session.clone(), stop.clone());
            tokio::spawn(async move { workload::drive(&base, &session, &config, stop).await })
        };
        // A Claude Code session seen through its hooks, in a session of its own.
        let hooked = {
            let (base, admin, stop) = (
                running.base_url(),
                running.admin_token().to_owned(),
                stop.clone(),
            );
            tokio::spawn(async move { server::hooked::drive(&base, &admin, pace, stop).await })
        };
        let daemon = Daemon {
            base_url: running.base_url(),
            admin_token: Some(running.admin_token().to_owned()),
            file: None,
            instance: None,
            mcptop: true,
            otlp: false,
        };
        // Every session: the workload's and the hooked agent's.
        let chosen = Chosen {
            session_id: mcptop::source::select::ALL_SESSIONS.into(),
            token: running.admin_token().to_owned(),
            label: Some("all sessions".into()),
            explicit: false,
        };
        let label = SourceLabel {
            daemon: running.addr().to_string(),
            transport: args.transport.as_str().to_uppercase(),
            session: "all sessions".into(),
        };
        let options = LiveOptions {
            transport: args.transport,
            ..LiveOptions::default()
        };
        let (rx, source) = spawn_source(daemon, chosen, options, stop.clone());
        let mut app = App::new(label, mcptop::source::now_us());
        if let Some(settings) = &settings {
            settings.apply(&mut app);
        }
        let result = mcptop::ui::run(app, rx, args.screen.options_with(settings.as_ref())).await;
        stop.cancel();
        let _ = source.await;
        let _ = agents.await;
        let _ = hooked.await;
        running.shutdown().await?;
        result.context("the terminal failed").map(drop)
    })
}
