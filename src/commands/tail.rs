//! `mcptop tail`: follow a session headlessly.

use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::updates::{consume, Ended};
use super::{discover_options, find_daemon, Exit};
use crate::cli::TailArgs;
use mcptop::recording::{Recorder, SourceInfo};
use mcptop::source::connect::{self, LiveOptions};
use mcptop::source::discover::Daemon;
use mcptop::source::select::{select, Chosen, SelectError, SelectOptions};
use mcptop::source::{now_us, LinkStatus, SourceEvent, Timed, Transport};

pub fn run(args: &TailArgs) -> Result<()> {
    // One thread: the source and the printer hand events over without waking another
    // thread for each (the cross-thread wake-ups cost more than the work at full speed).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(tail(args))
}

async fn tail(args: &TailArgs) -> Result<()> {
    let Some((daemon, chosen, options)) = resolve(args).await? else {
        return Ok(());
    };
    follow(args, daemon, chosen, options).await
}

/// The daemon, the session and how to follow it, as the arguments say; `None` when the
/// user pressed Ctrl-C while waiting for a first session.
pub async fn resolve(args: &TailArgs) -> Result<Option<(Daemon, Chosen, LiveOptions)>> {
    resolve_with(args, args.wait, &|why| {
        let why = mcptop::sanitize::redact_urls(why);
        eprintln!("mcptop: {}", mcptop::sanitize::terminal(&why));
    })
    .await
}

/// As [`resolve`]; with `wait`, a missing daemon is waited for (checked each second),
/// `say` hearing once of each reason to wait.
pub async fn resolve_with(
    args: &TailArgs,
    wait: bool,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Option<(Daemon, Chosen, LiveOptions)>> {
    if let Some(url) = &args.mcp_url {
        let daemon = Daemon {
            base_url: url.clone(),
            admin_token: None,
            file: None,
            instance: None,
            mcptop: false,
            otlp: false,
        };
        let chosen = Chosen {
            session_id: String::new(),
            token: super::secret(&args.token, &args.token_file, "--token")?.unwrap_or_default(),
            label: None,
            explicit: true,
        };
        let options = LiveOptions {
            transport: Transport::Mcp,
            rediscover: None,
            ..live_options(args)?
        };
        return Ok(Some((daemon, chosen, options)));
    }
    let mut said = String::new();
    let daemon = loop {
        match find_daemon(&args.daemon).await {
            Ok(daemon) => break daemon,
            Err(e) if wait && e.code == super::NO_DAEMON => {
                let why = format!(
                    "waiting for a daemon ({}): start `mcptop serve`, or wrap a server with \
                     `mcptop wrap` (see docs/guide.md)",
                    e.message
                );
                if why != said {
                    say(&why);
                    said = why;
                }
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => return Ok(None),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(e) => return Err(e.into()),
        }
    };
    // Construct serves the WebSocket route on its gateway, not on the MCP port of its
    // discovery file: go there (its config's `[gateway]`, else its default address).
    let mut daemon = daemon;
    if args.transport == Transport::Ws && !daemon.mcptop && args.daemon.url.is_none() {
        let gateway = construct_gateway(daemon.file.as_deref());
        say(&format!(
            "the WebSocket route of this daemon is on its gateway: using {gateway} (give --url to name another)"
        ));
        daemon.base_url = gateway;
    }
    let select_options = SelectOptions {
        session: args.session.clone().filter(|s| !s.is_empty()),
        token: super::secret(&args.token, &args.token_file, "--token")?,
        label: args.session_label.clone(),
        include_anonymous: args.include_anonymous,
    };
    // With nothing named, wait for the daemon's first session rather than fail.
    let mut said_waiting = false;
    let chosen = loop {
        match select(&daemon, &select_options).await {
            Ok(chosen) => break chosen,
            Err(e @ SelectError::NoSessions { .. }) => {
                if !said_waiting {
                    say(&format!("{e}; waiting"));
                    said_waiting = true;
                }
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => return Ok(None),
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            Err(e) => return Err(Exit::new(1, e).into()),
        }
    };
    let options = LiveOptions {
        rediscover: Some((discover_options(&args.daemon), select_options)),
        ..live_options(args)?
    };
    Ok(Some((daemon, chosen, options)))
}

/// Starts the live source; it reports its own end as a `stopped` status.
pub fn spawn_source(
    daemon: Daemon,
    chosen: Chosen,
    options: LiveOptions,
    stop: CancellationToken,
) -> (mpsc::Receiver<Timed>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(4096);
    let task = tokio::spawn(async move {
        let why = connect::run(daemon, chosen, options, tx.clone(), stop).await;
        let stopped = SourceEvent::Status(LinkStatus::Stopped(why));
        let _ = tx
            .send(Timed {
                at: now_us(),
                event: stopped,
            })
            .await;
    });
    (rx, task)
}

fn live_options(args: &TailArgs) -> Result<LiveOptions> {
    Ok(LiveOptions {
        transport: args.transport,
        keepalive: mcptop::time::duration_from_secs(args.keepalive)
            .unwrap_or(Duration::from_secs(15)),
        gateway_token: super::secret(
            &args.gateway_token,
            &args.gateway_token_file,
            "--gateway-token",
        )?,
        max_retries: args.max_retries,
        new_session: args.new_session,
        ..LiveOptions::default()
    })
}

/// The recording `--record` asks for, headed with where it comes from (never a token).
pub fn recorder_for(
    args: &TailArgs,
    daemon: &Daemon,
    chosen: &Chosen,
    options: &LiveOptions,
) -> Result<Option<Recorder>> {
    let Some(path) = &args.record else {
        return Ok(None);
    };
    let source = SourceInfo {
        daemon: Some(daemon.base_url.clone()),
        session_id: Some(chosen.session_id.clone()),
        label: chosen.label.clone(),
        transport: Some(options.transport.as_str().to_owned()),
    };
    Ok(Some(Recorder::create_with(
        path,
        now_us(),
        &source,
        args.force,
    )?))
}

async fn follow(
    args: &TailArgs,
    daemon: Daemon,
    chosen: Chosen,
    options: LiveOptions,
) -> Result<()> {
    let recorder = recorder_for(args, &daemon, &chosen, &options)?;
    let stop = CancellationToken::new();
    let recycler = mcptop::event::Recycler::default();
    let options = LiveOptions {
        recycler: Some(recycler.clone()),
        ..options
    };
    let (rx, source) = spawn_source(daemon, chosen, options, stop.clone());
    let ended = consume(rx, &args.output, recorder, args.for_, Some(recycler)).await;
    stop.cancel();
    let _ = source.await;
    match ended? {
        Ended::Done => Ok(()),
        Ended::Source(why) => match Exit::from_stop(&why) {
            Some(exit) => Err(exit.into()),
            None => Ok(()),
        },
    }
}

/// Construct's gateway, from the `[gateway]` table (`host`, `port`) of the `config.toml`
/// beside its discovery file, else its default `http://127.0.0.1:42617`.
fn construct_gateway(discovery_file: Option<&std::path::Path>) -> String {
    let config = discovery_file
        .and_then(|f| f.parent())
        .map(|dir| dir.join("config.toml"))
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.parse::<toml::Table>().ok());
    let gateway = config
        .as_ref()
        .and_then(|c| c.get("gateway"))
        .and_then(|g| g.as_table());
    let host = gateway
        .and_then(|g| g.get("host"))
        .and_then(|h| h.as_str())
        .unwrap_or("127.0.0.1");
    let port = gateway
        .and_then(|g| g.get("port"))
        .and_then(|p| p.as_integer())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(42617);
    format!("http://{host}:{port}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_gateway_comes_from_construct_s_config_or_its_default() {
        let dir = std::env::temp_dir().join(format!("mcptop-gw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mcp.json");
        assert_eq!(
            super::construct_gateway(Some(&file)),
            "http://127.0.0.1:42617"
        );
        std::fs::write(
            dir.join("config.toml"),
            "# Construct\n[gateway]\nport = 43000\nhost = \"127.0.0.1\"\n",
        )
        .unwrap();
        assert_eq!(
            super::construct_gateway(Some(&file)),
            "http://127.0.0.1:43000"
        );
        assert_eq!(super::construct_gateway(None), "http://127.0.0.1:42617");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
