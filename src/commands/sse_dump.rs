//! `mcptop sse-dump`: an event stream in, one JSON line per event out.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::SseDumpArgs;
use mcptop::sse::{Decoder, Item, Limits};

#[derive(Serialize)]
struct DumpedEvent<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    data: &'a str,
    id: &'a str,
}

#[derive(Serialize)]
struct DumpedRetry {
    retry: u64,
}

pub fn run(args: &SseDumpArgs) -> Result<()> {
    let (mut input, name): (Box<dyn Read>, String) = match args.file.as_deref() {
        None => (Box::new(io::stdin().lock()), "standard input".into()),
        Some(p) if p == Path::new("-") => (Box::new(io::stdin().lock()), "standard input".into()),
        Some(path) => {
            let file =
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            (Box::new(file), path.display().to_string())
        }
    };
    let limits = Limits::uniform(usize::try_from(args.max_bytes).unwrap_or(usize::MAX));
    let mut decoder = Decoder::new(limits);
    let chunk = usize::try_from(args.chunk).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; chunk.clamp(4096, 1 << 20)];
    let started = Instant::now();

    let stdout = io::stdout();
    let _ = mcptop::pipe::widen(&stdout);
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut write_error: Option<io::Error> = None;
    let mut offset: u64 = 0;

    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {name}")),
        };
        for piece in buf[..n].chunks(chunk) {
            if args.count {
                decoder.feed(piece, &mut |_| {});
            } else {
                decoder.feed(piece, &mut |item| {
                    if write_error.is_some() {
                        return;
                    }
                    let result = match item {
                        Item::Event(e) => mcptop::sanitize::write_json(
                            &mut out,
                            &DumpedEvent {
                                event_type: e.event_type,
                                data: e.data,
                                id: e.last_event_id,
                            },
                        ),
                        Item::Retry(retry) => {
                            mcptop::sanitize::write_json(&mut out, &DumpedRetry { retry })
                        }
                        Item::Comment => return,
                        Item::Dropped(d) => {
                            eprintln!(
                                "mcptop sse-dump: warning: {d} (in the bytes before offset {})",
                                offset + piece.len() as u64
                            );
                            return;
                        }
                    }
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n"));
                    if let Err(e) = result {
                        write_error = Some(e);
                    }
                });
            }
            offset += piece.len() as u64;
            if let Some(e) = write_error.take() {
                return finish_output(Err(e));
            }
        }
        // A live stream (`curl -N … | mcptop sse-dump`) must show each event as it comes,
        // not when 64 KiB of output have piled up.
        if !out.buffer().is_empty() {
            if let Err(e) = out.flush() {
                return finish_output(Err(e));
            }
        }
    }
    let truncated = decoder.finish();
    let elapsed = started.elapsed();
    if truncated {
        eprintln!("mcptop sse-dump: warning: the stream ended in the middle of an event, which was discarded");
    }
    if args.count {
        let stats = decoder.stats();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            stats.events as f64 / secs
        } else {
            0.0
        };
        let result = writeln!(
            out,
            "{} events, {} data bytes, {} bytes read, {} dropped, {:.3} s, {:.0} events/s",
            stats.events, stats.data_bytes, stats.bytes, stats.dropped, secs, rate
        );
        return finish_output(result.and_then(|()| out.flush()));
    }
    finish_output(out.flush())
}

/// A closed pipe (`… | head`) is a normal way for a reader to stop: exit quietly.
fn finish_output(result: io::Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
