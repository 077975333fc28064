//! `mcptop serve`: the embedded daemon, optionally with a workload or a replay.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use mcptop::discovery;
use mcptop::server::{self, replay, workload, ServerConfig};

pub fn run(args: &ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: &ServeArgs) -> Result<()> {
    // Read a replay before binding, so a bad file fails fast and clearly.
    let replay_events = match &args.replay {
        Some(path) => Some(replay::load(path)?),
        None => None,
    };
    let (otlp_http, otlp_grpc) = otlp_listeners(args)?;
    let redaction = if otlp_http.is_some() || otlp_grpc.is_some() {
        let (rules, problem) = mcptop::config::load_redaction();
        if let Some(line) = problem {
            eprintln!("mcptop: {line}");
        }
        rules
    } else {
        mcptop::redact::Rules::default()
    };
    let otlp_export = otlp_export(args, otlp_http, otlp_grpc)?;
    // Receivers the flags ask for must run; those of the config file may give way.
    let otlp_optional = !(args.otlp || args.otlp_http.is_some() || args.otlp_grpc.is_some());
    let config = ServerConfig {
        otlp_optional,
        otlp_export,
        otlp_http,
        otlp_grpc,
        redaction,
        addr: SocketAddr::new(args.host, args.port),
        keepalive: Duration::from_secs_f64(args.keepalive),
        broadcast_capacity: usize::try_from(args.broadcast_capacity).unwrap_or(usize::MAX),
        replay_capacity: usize::try_from(args.replay_ring).unwrap_or(usize::MAX),
        compat: args.compat,
        mcp_2026: args.mcp_max_version == "2026-07-28",
        gateway_token: super::secret(
            &args.gateway_token,
            &args.gateway_token_file,
            "--gateway-token",
        )?,
        limits: server::SessionLimits {
            max_sessions: size(args.max_sessions),
            max_anonymous: size(args.max_anonymous_sessions),
            idle_ttl: args.idle_ttl,
            anonymous_idle_ttl: args.anonymous_idle_ttl,
            ring_budget: server::RingBudget::new(
                size(args.ring_bytes),
                size(args.total_ring_bytes),
            ),
        },
        max_connections: size(args.max_connections),
        header_timeout: args.header_timeout,
        gateway_addr: args.gateway_port.map(|p| SocketAddr::new(args.host, p)),
        stock_tools: args.stock_tools,
        ..ServerConfig::default()
    };
    let addr = config.addr;
    let running = server::start(config).await.map_err(|e| {
        if e.to_string().contains("OTLP") {
            anyhow::anyhow!("{e}")
        } else {
            anyhow::anyhow!("cannot listen on {addr}: {e}")
        }
    })?;
    // The discovery file is in place before anything says the daemon listens: whoever
    // waits for "listening on" may look for the daemon through it at once.
    let (guard, published) = if args.no_discovery {
        (None, None)
    } else {
        let path = match &args.discovery_file {
            Some(p) => p.clone(),
            None => discovery::default_path()?,
        };
        // Construct's daemon has no admin token; in its compat mode neither does this one.
        let admin = running.state().extensions().then(|| running.admin_token());
        let guard = discovery::publish(&path, &running.mcp_url(), admin).await?;
        (Some(guard), Some((path, admin.is_some())))
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", running.base_url())?;
    for line in running
        .state()
        .otlp
        .missing
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        eprintln!("mcptop: warning: {line}");
    }
    match running.otlp_addrs() {
        (None, None) => {}
        (http, grpc) => {
            let http = http.map(|a| format!("OTLP/HTTP on http://{a}"));
            let grpc = grpc.map(|a| format!("OTLP/gRPC on http://{a}"));
            let both: Vec<String> = http.into_iter().chain(grpc).collect();
            writeln!(out, "receiving OpenTelemetry: {}", both.join(", "))?;
        }
    }
    if let Some(exporter) = &running.state().exporter {
        writeln!(
            out,
            "sending every call as a span to {} ({})",
            mcptop::sanitize::redact_urls(exporter.config.endpoint.as_str()),
            exporter.config.protocol.as_str()
        )?;
    }
    if let (Some(gateway), Some(code)) = (running.gateway_url(), running.pairing_code()) {
        writeln!(out, "gateway on {gateway} (the WebSocket route)")?;
        writeln!(
            out,
            "  pair: curl -X POST -H 'X-Pairing-Code: {code}' {gateway}/pair  (pairing code {code})"
        )?;
    }
    if !args.host.is_loopback() {
        eprintln!(
            "mcptop: warning: listening on {} exposes every session to the network",
            args.host
        );
    }
    if let Some((path, admin)) = &published {
        if *admin {
            writeln!(
                out,
                "discovery file: {} (holds the admin token)",
                path.display()
            )?;
        } else {
            writeln!(out, "discovery file: {}", path.display())?;
        }
        let file = match &args.discovery_file {
            Some(p) => format!(" --discovery-file {}", p.display()),
            None => String::new(),
        };
        writeln!(
            out,
            "  watch it: run `mcptop{file}` in another terminal (`mcptop setup AGENT` sends an agent's calls here)"
        )?;
    }
    out.flush()?;
    drop(out);

    let stop = CancellationToken::new();
    let mut background = tokio::task::JoinSet::new();
    if args.workload {
        let label = args.label.clone().unwrap_or_else(|| "demo workload".into());
        let session =
            workload::create_session(&running.base_url(), &label, Some(running.admin_token()))
                .await?;
        announce_session(&session.session_id, &label);
        let config = workload::WorkloadConfig {
            agents: usize::try_from(args.agents).unwrap_or(3),
            pace: args.pace,
            bursts: !args.no_bursts,
            max_calls: None,
            modern_agents: args.compat == mcptop::server::Compat::Mcptop
                && args.mcp_max_version == "2026-07-28",
        };
        let base = running.base_url();
        let stop = stop.clone();
        background.spawn(async move {
            workload::drive(&base, &session, &config, stop)
                .await
                .map(|_| ())
                .context("the workload stopped")
        });
    }
    if let (Some(events), Some(path)) = (replay_events, &args.replay) {
        let label = args
            .label
            .clone()
            .unwrap_or_else(|| format!("replay of {}", path.display()));
        let session =
            running
                .state()
                .sessions
                .create(Some(label.clone()), path.display().to_string(), false);
        announce_session(&session.id, &label);
        let options = replay::ReplayOptions {
            speed: args.speed,
            looped: args.loop_replay,
            wait_subscribers: usize::try_from(args.wait_subscribers).unwrap_or(usize::MAX),
        };
        let stop = stop.clone();
        background.spawn(async move {
            let n = replay::publish(session, events, options, stop).await;
            println!("replay finished: {n} events published");
            Ok(())
        });
    }

    let result = tokio::select! {
        signal = shutdown_signal() => signal,
        Some(Ok(Err(e))) = background.join_next() => Err(e),
    };
    stop.cancel();
    if let Some(guard) = guard {
        guard.remove();
    }
    running.shutdown().await?;
    result
}

/// Where to send spans: the flags, else `[otlp] export`, else the standard environment;
/// with whether the endpoint came from the environment. `None`: nowhere.
pub fn export_target(
    flag_endpoint: Option<&str>,
    flag_protocol: Option<&str>,
) -> Result<Option<(server::export::ExportConfig, bool)>> {
    let file = mcptop::config::load_otlp()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .unwrap_or_default();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let traces_env = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    // (endpoint, it is the traces URL itself, it comes from the environment)
    let (endpoint, whole, from_env) = match (flag_endpoint, &file.export) {
        (Some(e), _) => (e.to_owned(), false, false),
        (None, Some(e)) => (e.clone(), false, false),
        (None, None) => match (traces_env, env("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(e), _) => (e, true, true),
            (None, Some(e)) => (e, false, true),
            (None, None) => return Ok(None),
        },
    };
    let protocol = flag_protocol
        .map(str::to_owned)
        .or(file.export_protocol)
        .or_else(|| env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"));
    let headers = file
        .export_headers
        .or_else(|| env("OTEL_EXPORTER_OTLP_TRACES_HEADERS"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_HEADERS"));
    let mut config =
        server::export::ExportConfig::new(&endpoint, protocol.as_deref(), headers.as_deref())
            .map_err(|e| anyhow::anyhow!("{e} (--otlp-endpoint, [otlp] export)"))?;
    config.traces_path_given = whole;
    Ok(Some((config, from_env)))
}

/// Where the daemon sends spans (see [`export_target`]), never its own receiver.
fn otlp_export(
    args: &ServeArgs,
    http: Option<SocketAddr>,
    grpc: Option<SocketAddr>,
) -> Result<Option<server::export::ExportConfig>> {
    let Some((config, from_env)) =
        export_target(args.otlp_endpoint.as_deref(), args.otlp_protocol.as_deref())?
    else {
        return Ok(None);
    };
    // Its own receiver: every span would come back as a call, and go out again.
    let port = config.endpoint.port_or_known_default();
    let own = [http, grpc].into_iter().flatten().any(|a| {
        Some(a.port()) == port
            && matches!(
                config.endpoint.host_str(),
                Some("127.0.0.1" | "localhost" | "[::1]")
            )
    });
    if own && from_env {
        // The shell's OTEL_* point agents at this daemon: they are not for it.
        eprintln!(
            "mcptop: OTEL_EXPORTER_OTLP_ENDPOINT is this daemon's own receiver: no spans \
             are exported (give --otlp-endpoint to send them to a collector)"
        );
        return Ok(None);
    }
    if own {
        anyhow::bail!(
            "the OTLP endpoint {} is this daemon's own receiver: spans would loop; give the \
             team's collector instead",
            mcptop::sanitize::redact_urls(config.endpoint.as_str())
        );
    }
    Ok(Some(config))
}

/// Where to receive OTLP: the flags, else the config file's `[otlp]`, else nowhere.
fn otlp_listeners(args: &ServeArgs) -> Result<(Option<SocketAddr>, Option<SocketAddr>)> {
    use mcptop::config::{OTLP_GRPC, OTLP_HTTP};
    let file = mcptop::config::load_otlp().map_err(|e| anyhow::anyhow!("{e}"))?;
    let from_file = |value: Option<&String>, default| -> Result<Option<SocketAddr>> {
        match value {
            Some(v) => mcptop::config::parse_listen(v)
                .map_err(|e| anyhow::anyhow!("the config file's [otlp]: {e}")),
            None => Ok(Some(default)),
        }
    };
    let wanted = args.otlp
        || args.otlp_http.is_some()
        || args.otlp_grpc.is_some()
        || file.as_ref().is_some_and(|f| f.receive);
    if !wanted {
        return Ok((None, None));
    }
    let http = match args.otlp_http {
        Some(listen) => listen.0,
        None => from_file(file.as_ref().and_then(|f| f.http.as_ref()), OTLP_HTTP)?,
    };
    let grpc = match args.otlp_grpc {
        Some(listen) => listen.0,
        None => from_file(file.as_ref().and_then(|f| f.grpc.as_ref()), OTLP_GRPC)?,
    };
    Ok((http, grpc))
}

fn size(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn announce_session(id: &str, label: &str) {
    println!("session {id} ({label})");
    println!("  watch it: mcptop --session {id}   (or `mcptop tail --session {id}` for lines)");
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
