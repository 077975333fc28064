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
    // A bad config file stops here, in one line, before anything else happens.
    let settings = screen.settings()?;
    let new_app = |label: SourceLabel| {
        let mut app = App::new(label, now_us());
        if let Some(settings) = &settings {
            settings.apply(&mut app);
        }
        app
    };
    super::runtime()?.block_on(async {
        let options = mcptop::ui::Options {
            quit_after: args.for_,
            quit_after_updates: args.output.count,
            ..screen.options_with(settings.as_ref())
        };
        // With --no-wait, a missing daemon (or a recording that cannot be made) fails
        // here, before the screen; otherwise the screen comes up at once, says what it
        // waits for, and the source attaches when a daemon appears.
        let (label, ready) = if args.no_wait {
            let Some((daemon, chosen, live)) = resolve(args).await? else {
                return Ok(());
            };
            let recorder = recorder_for(args, &daemon, &chosen, &live)?;
            let label = label_for(&daemon, &chosen, &live);
            (label, Some((daemon, chosen, live, recorder)))
        } else {
            let waiting = SourceLabel {
                daemon: "no daemon yet".into(),
                transport: args.transport.as_str().to_uppercase(),
                session: String::new(),
            };
            (waiting, None)
        };
        let (tx, rx) = mpsc::channel(4096);
        let stop = CancellationToken::new();
        let attach = tokio::spawn(attach(args.clone(), ready, tx, stop.clone()));
        let result = mcptop::ui::run(new_app(label), rx, options).await;
        stop.cancel();
        let _ = attach.await;
        let app = result
            .context("the terminal failed")
            .map_err(|e| Exit::new(1, format!("{e:#}")))?;
        after_screen(&app, args.output.summary)
    })
}

fn label_for(
    daemon: &mcptop::source::discover::Daemon,
    chosen: &mcptop::source::select::Chosen,
    live: &mcptop::source::connect::LiveOptions,
) -> SourceLabel {
    SourceLabel {
        daemon: redact_url(&daemon.base_url)
            .trim_start_matches("http://")
            .to_owned(),
        transport: live.transport.as_str().to_uppercase(),
        session: chosen
            .label
            .clone()
            .unwrap_or_else(|| short_id(&chosen.session_id)),
    }
}

/// Waits for a daemon (saying why on the screen), then follows it into `tx` until
/// `stop`. Whatever stops it is a `stopped` status on the screen.
/// What the source follows once found, and its recording.
type Ready = (
    mcptop::source::discover::Daemon,
    mcptop::source::select::Chosen,
    mcptop::source::connect::LiveOptions,
    Option<Recorder>,
);

/// Follows `ready` (or, when it is `None`, waits for a daemon, saying why on the screen)
/// into `tx` until `stop`. Whatever stops it is a `stopped` status on the screen.
async fn attach(
    args: TailArgs,
    ready: Option<Ready>,
    tx: mpsc::Sender<Timed>,
    stop: CancellationToken,
) {
    use mcptop::source::{LinkStatus, SourceEvent, Stop};
    let status = |status: LinkStatus| Timed {
        at: now_us(),
        event: SourceEvent::Status(status),
    };
    let waiting = {
        let tx = tx.clone();
        move |why: &str| {
            let _ = tx.try_send(status(LinkStatus::Waiting {
                reason: mcptop::sanitize::redact_urls(why).into_owned(),
            }));
        }
    };
    let (daemon, chosen, live, recorder) = match ready {
        Some(ready) => ready,
        None => {
            let resolved = tokio::select! {
                _ = stop.cancelled() => return,
                resolved = super::tail::resolve_with(&args, true, &waiting) => resolved,
            };
            let found = resolved.and_then(|found| {
                found
                    .map(|(daemon, chosen, live)| {
                        let recorder = recorder_for(&args, &daemon, &chosen, &live)?;
                        Ok((daemon, chosen, live, recorder))
                    })
                    .transpose()
            });
            match found {
                Ok(Some(found)) => found,
                Ok(None) => return,
                Err(e) => {
                    let stop = Stop::Fatal(format!("{e:#}"));
                    let _ = tx.send(status(LinkStatus::Stopped(stop))).await;
                    return;
                }
            }
        }
    };
    let (mut rx, source) = spawn_source(daemon, chosen, live, stop.clone());
    let mut recorder = recorder;
    while let Some(timed) = rx.recv().await {
        if let Some(r) = &mut recorder {
            if r.record(&timed).is_err() {
                recorder = None;
            }
        }
        if tx.send(timed).await.is_err() {
            break;
        }
    }
    stop.cancel();
    let _ = source.await;
}

/// What is printed once the screen is closed: `--summary`'s table, and why the source
/// stopped (with tail's exit status for it), so a stop leaves a trace.
pub fn after_screen(app: &App, summary: bool) -> Result<()> {
    if summary {
        let now = app
            .model()
            .stream()
            .last_activity
            .unwrap_or_else(mcptop::time::Time::now);
        print!("{}", mcptop::report::summary(app.model(), now));
    }
    match app.stopped.as_ref().and_then(Exit::from_stop) {
        Some(exit) => Err(exit.into()),
        None => Ok(()),
    }
}

pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}
