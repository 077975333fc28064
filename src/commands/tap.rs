//! `mcptop wrap` and `mcptop proxy`: the taps.

use anyhow::{Context, Result};

use crate::cli::{ProxyArgs, TapArgs, WrapArgs};
use mcptop::discovery;
use mcptop::tap::publish::Target;
use mcptop::tap::{proxy, wrap};

fn target(args: &TapArgs, kind: &'static str) -> Result<Target> {
    let discovery_file = match &args.discovery_file {
        Some(p) => p.clone(),
        None => discovery::default_path()?,
    };
    Ok(Target {
        url: args.url.clone().filter(|u| !u.is_empty()),
        discovery_file,
        spawn: !args.no_start,
        label: args.label.clone().filter(|l| !l.trim().is_empty()),
        kind,
    })
}

pub fn wrap(args: &WrapArgs) -> Result<()> {
    let options = wrap::WrapOptions {
        command: args.command.clone(),
        request_progress: args.tap.request_progress,
        target: target(&args.tap, "wrap")?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let code = runtime.block_on(wrap::run(options))?;
    // Standard input is read on a blocking thread that may never return: leave now.
    std::process::exit(code);
}

pub fn proxy(args: &ProxyArgs) -> Result<()> {
    let upstream = match (&args.upstream, &args.upstream_discovery) {
        (Some(url), _) => url.clone(),
        (None, Some(path)) => mcptop::discovery::read(path)
            .map(|f| f.url)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} names no daemon (missing, or no \"url\" in it): start the daemon first",
                    path.display()
                )
            })?,
        (None, None) => anyhow::bail!("give --upstream URL or --upstream-discovery PATH"),
    };
    let options = proxy::ProxyOptions {
        upstream,
        upstream_discovery: args.upstream_discovery.clone(),
        listen: args.listen,
        request_progress: args.tap.request_progress,
        target: target(&args.tap, "proxy")?,
    };
    super::runtime()?.block_on(proxy::run_until_signal(options))
}
