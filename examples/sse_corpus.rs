//! Writes a benchmark corpus to stdout, for measuring `mcptop sse-dump --count`:
//!
//! ```sh
//! cargo run --release --example sse_corpus -- a > /tmp/progress.sse        # 1,000,000 events
//! cargo run --release --example sse_corpus -- a 100000 > /tmp/progress-100k.sse
//! ```
//! Corpora: `a` progress (LF), `b` progress (CRLF), `c` 1 MiB lines, `d` 20 data lines,
//! `steady` the model-ingest stream as SSE (`id:` and `data:` per event, 100,000 events).

#[path = "../benches/support/corpus.rs"]
mod corpus;

use std::io::Write;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    if name == "steady" {
        let mut out = String::new();
        for (n, data) in corpus::steady_payloads(100_000).iter().enumerate() {
            out.push_str(&format!("id: {}\ndata: {data}\n\n", n + 1));
        }
        return write(out.as_bytes());
    }
    let Some(corpus) = corpus::Corpus::parse(&name) else {
        eprintln!("usage: sse_corpus a|b|c|d|steady [EVENTS]");
        return std::process::ExitCode::from(2);
    };
    let events = match args.next().map(|n| n.parse::<usize>()) {
        None => corpus.default_events(),
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("sse_corpus: EVENTS must be a whole number: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    write(&corpus.generate(events))
}

fn write(bytes: &[u8]) -> std::process::ExitCode {
    if let Err(e) = std::io::stdout().lock().write_all(bytes) {
        eprintln!("sse_corpus: cannot write: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
