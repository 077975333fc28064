//! `mcptop export RECORDING`: a recorded session, sent on (today: as OTLP spans).

use anyhow::Result;

use super::Exit;
use crate::cli::{ExportArgs, ExportFormat};

pub fn run(args: &ExportArgs) -> Result<()> {
    match args.format {
        ExportFormat::Otlp => otlp(args),
    }
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
