//! `mcptop export RECORDING`: a recorded session as a report to share (html, har, json) or
//! sent on as OTLP spans.

use anyhow::Result;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use super::Exit;
use crate::cli::{ExportArgs, ExportFormat};

pub fn run(args: &ExportArgs) -> Result<()> {
    let format = format_of(args)?;
    let live;
    let (file, title) = match (&args.file, args.live) {
        (Some(file), _) => (file.as_path(), None),
        (None, Some(duration)) => {
            live = record_live(args, duration)?;
            (
                live.path.as_path(),
                Some(format!(
                    "{} ({} live)",
                    live.label,
                    humantime::format_duration(duration)
                )),
            )
        }
        (None, None) => {
            return Err(Exit::new(2, "give a recording to export, or --live DURATION").into())
        }
    };
    match format {
        ExportFormat::Otlp => otlp(args, file),
        format => report(args, file, format, title),
    }
}

/// A recording made here by `--live`, removed when dropped.
struct Live {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
    /// What was recorded (the session's label, or "all sessions").
    label: String,
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Records the daemon's sessions (or `--session`) for `duration` into a private temporary
/// file, as `tail --record FILE --for DURATION` would, without printing them.
fn record_live(args: &ExportArgs, duration: std::time::Duration) -> Result<Live> {
    use clap::{Args, FromArgMatches};
    use mcptop::source::{LinkStatus, SourceEvent};
    // tail's own defaults (and its environment: $MCPTOP_TOKEN, …), then ours.
    let matches = crate::cli::TailArgs::augment_args(clap::Command::new("tail"))
        .try_get_matches_from(["tail"])
        .map_err(|e| Exit::new(2, format!("--live: {}", e.kind())))?;
    let mut tail = crate::cli::TailArgs::from_arg_matches(&matches)
        .map_err(|e| Exit::new(2, format!("--live: {}", e.kind())))?;
    tail.daemon = args.daemon.clone();
    if args.session.is_some() {
        tail.session = args.session.clone();
    }
    if let Some(file) = &args.token_file {
        tail.token_file = Some(file.clone());
        tail.token = None;
    }
    let dir = std::env::temp_dir().join(format!(
        "mcptop-export-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Exit::new(2, format!("cannot make a temporary directory: {e}")))?;
    let mut live = Live {
        path: dir.join("live.jsonl"),
        dir,
        label: "all sessions".into(),
    };
    tail.record = Some(live.path.clone());
    super::runtime()?.block_on(async {
        let Some((daemon, chosen, options)) = super::tail::resolve(&tail).await? else {
            return Err(Exit::new(130, "interrupted before a session was found").into());
        };
        live.label = match (&chosen.label, chosen.session_id.as_str()) {
            (Some(label), _) => label.clone(),
            (None, "*") => "all sessions".into(),
            (None, id) => format!("session {id}"),
        };
        let Some(mut recorder) = super::tail::recorder_for(&tail, &daemon, &chosen, &options)?
        else {
            return Err(anyhow::anyhow!("no recording was made"));
        };
        eprintln!(
            "mcptop: recording {} for {}…",
            mcptop::sanitize::terminal(&live.label),
            humantime::format_duration(duration)
        );
        let stop = tokio_util::sync::CancellationToken::new();
        let (mut rx, task) = super::tail::spawn_source(daemon, chosen, options, stop.clone());
        let deadline = tokio::time::sleep(duration);
        tokio::pin!(deadline);
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut ended = Ok(());
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                _ = &mut ctrl_c => break,
                timed = rx.recv() => {
                    let Some(timed) = timed else { break };
                    recorder.record(&timed)?;
                    if let SourceEvent::Status(LinkStatus::Stopped(why)) = &timed.event {
                        if let Some(exit) = Exit::from_stop(why) {
                            ended = Err(exit);
                        }
                        break;
                    }
                }
            }
        }
        stop.cancel();
        let _ = task.await;
        ended.map_err(anyhow::Error::from)
    })?;
    Ok(live)
}

/// The format asked for, else the one -o's extension names, else otlp when a collector is
/// given.
fn format_of(args: &ExportArgs) -> Result<ExportFormat, Exit> {
    if let Some(format) = args.format {
        if format == ExportFormat::Otlp && args.output.is_some() {
            return Err(Exit::new(
                2,
                "--format otlp sends spans to a collector and writes no file: drop -o, or \
                 choose --format html, har or json",
            ));
        }
        return Ok(format);
    }
    if let Some(out) = &args.output {
        let ext = out
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        return match ext.as_deref() {
            Some("html" | "htm") => Ok(ExportFormat::Html),
            Some("har") => Ok(ExportFormat::Har),
            Some("json") => Ok(ExportFormat::Json),
            _ => Err(Exit::new(
                2,
                format!(
                    "which format for {}? give --format html, har or json",
                    out.display()
                ),
            )),
        };
    }
    if args.otlp_endpoint.is_some() || std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        return Ok(ExportFormat::Otlp);
    }
    Err(Exit::new(
        2,
        "what should export make? give --format html, har or json (with -o FILE), or \
         --otlp-endpoint URL to send spans",
    ))
}

fn report(
    args: &ExportArgs,
    file: &Path,
    format: ExportFormat,
    title: Option<String>,
) -> Result<()> {
    for (given, flag) in [
        (args.otlp_endpoint.is_some(), "--otlp-endpoint"),
        (args.otlp_protocol.is_some(), "--otlp-protocol"),
    ] {
        if given {
            return Err(Exit::new(
                2,
                format!("{flag} is for --format otlp; a report is written, not sent"),
            )
            .into());
        }
    }
    let recording = open(file)?;
    let title = args.title.clone().or(title).unwrap_or_else(|| {
        file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    let doc = mcptop::export::document::build(recording, &title);
    let text = match format {
        ExportFormat::Html => mcptop::export::html::render(&doc)?,
        ExportFormat::Har => {
            serde_json::to_string_pretty(&mcptop::export::har::render(&doc))? + "\n"
        }
        _ => serde_json::to_string_pretty(&doc)? + "\n",
    };
    match &args.output {
        Some(path) => {
            write_report(path, &text)?;
            eprintln!(
                "wrote {} ({} call{}, {} finding{}, {})",
                path.display(),
                doc.counts.calls,
                if doc.counts.calls == 1 { "" } else { "s" },
                doc.findings.len(),
                if doc.findings.len() == 1 { "" } else { "s" },
                human_bytes(text.len())
            );
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => {}
                // A reader that stopped reading (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(Exit::new(2, format!("cannot write the report: {e}")).into()),
            }
        }
    }
    Ok(())
}

/// The recording to export, its notes said; one that holds nothing is an error.
fn open(file: &Path) -> Result<mcptop::recording::Opened, Exit> {
    let recording = mcptop::recording::open(file).map_err(|e| Exit::new(2, e.to_string()))?;
    for note in &recording.notes {
        eprintln!("mcptop: {}: {note}", file.display());
    }
    if recording.tape.is_empty() {
        return Err(Exit::new(
            2,
            format!("{} holds nothing to export", file.display()),
        ));
    }
    Ok(recording)
}

fn human_bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.0} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

/// Replaces `path` whole or not at all (private, as recordings are: it holds the calls'
/// arguments); a symbolic link there is not followed.
fn write_report(path: &Path, text: &str) -> Result<(), Exit> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Exit::new(
            2,
            format!(
                "{} is a symbolic link: write the report to a plain file",
                path.display()
            ),
        ));
    }
    mcptop::discovery::replace_file(
        path,
        text.as_bytes(),
        0o600,
        mcptop::discovery::Durability::Synced,
    )
    .map_err(|e| Exit::new(2, format!("cannot write {}: {e}", path.display())))
}

fn otlp(args: &ExportArgs, file: &Path) -> Result<()> {
    let target =
        super::serve::export_target(args.otlp_endpoint.as_deref(), args.otlp_protocol.as_deref())
            .map_err(|e| Exit::new(2, e))?;
    let Some((config, _)) = target else {
        return Err(Exit::new(
            2,
            "no collector to send to: give --otlp-endpoint URL (or set [otlp] export in the \
             config file, or OTEL_EXPORTER_OTLP_ENDPOINT)",
        )
        .into());
    };
    let recording = open(file)?;
    let replayed = mcptop::export::spans(recording);
    let sessions = {
        let mut ids: Vec<&str> = replayed.spans.iter().map(|(s, _, _)| &**s).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let shown = mcptop::sanitize::redact_urls(config.endpoint.as_str()).into_owned();
    let sent = super::runtime()?
        .block_on(mcptop::server::export::send_all(&config, replayed.spans))
        .map_err(|why| Exit::new(1, format!("export to {shown} failed: {why}")))?;
    let mut line = format!(
        "sent {sent} span{} ({} session{}) to {shown} over {}",
        if sent == 1 { "" } else { "s" },
        sessions,
        if sessions == 1 { "" } else { "s" },
        config.protocol.as_str()
    );
    if replayed.unfinished > 0 {
        line.push_str(&format!(
            "; {} call{} still running at the recording's end went as lost",
            replayed.unfinished,
            if replayed.unfinished == 1 { "" } else { "s" }
        ));
    }
    if replayed.dropped > 0 {
        line.push_str(&format!(
            "; {} left out (more calls open at once than the exporter holds)",
            replayed.dropped
        ));
    }
    println!("{line}");
    Ok(())
}
