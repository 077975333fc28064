//! `mcptop export RECORDING`: a recorded session as a report to share (html, har, json) or
//! sent on as OTLP spans.

use anyhow::Result;
use std::path::Path;

use super::Exit;
use crate::cli::{ExportArgs, ExportFormat};

pub fn run(args: &ExportArgs) -> Result<()> {
    match format_of(args)? {
        ExportFormat::Otlp => otlp(args),
        format => report(args, format),
    }
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

fn report(args: &ExportArgs, format: ExportFormat) -> Result<()> {
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
    let recording = mcptop::recording::open(&args.file).map_err(|e| Exit::new(2, e.to_string()))?;
    for note in &recording.notes {
        eprintln!("mcptop: {}: {note}", args.file.display());
    }
    if recording.tape.is_empty() {
        return Err(Exit::new(
            2,
            format!("{} holds nothing to export", args.file.display()),
        )
        .into());
    }
    let title = args.title.clone().unwrap_or_else(|| {
        args.file.file_name().map_or_else(
            || args.file.display().to_string(),
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

fn otlp(args: &ExportArgs) -> Result<()> {
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
    let recording = mcptop::recording::open(&args.file).map_err(|e| Exit::new(2, e.to_string()))?;
    for note in &recording.notes {
        eprintln!("mcptop: {}: {note}", args.file.display());
    }
    if recording.tape.is_empty() {
        return Err(Exit::new(
            2,
            format!("{} holds nothing to export", args.file.display()),
        )
        .into());
    }
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
