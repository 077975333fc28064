//! Benchmark corpora, generated in-process so every run measures the same bytes.
#![allow(dead_code)]

/// The corpora named in BENCHMARKS.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corpus {
    /// (a) progress events of ~190 bytes with `id:`, `event:` and `data:` lines, LF.
    Progress,
    /// (b) the same with CRLF line ends.
    ProgressCrlf,
    /// (c) events each with one 1 MiB data line.
    Huge,
    /// (d) events with 20 data lines each.
    Multiline,
}

impl Corpus {
    pub const ALL: [Corpus; 4] = [
        Corpus::Progress,
        Corpus::ProgressCrlf,
        Corpus::Huge,
        Corpus::Multiline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Corpus::Progress => "a_progress_lf",
            Corpus::ProgressCrlf => "b_progress_crlf",
            Corpus::Huge => "c_1mib_lines",
            Corpus::Multiline => "d_20_data_lines",
        }
    }

    pub fn parse(s: &str) -> Option<Corpus> {
        match s {
            "a" => Some(Corpus::Progress),
            "b" => Some(Corpus::ProgressCrlf),
            "c" => Some(Corpus::Huge),
            "d" => Some(Corpus::Multiline),
            _ => Corpus::ALL.into_iter().find(|c| c.name() == s),
        }
    }

    /// The number of events the corpus has.
    pub fn default_events(self) -> usize {
        match self {
            Corpus::Progress | Corpus::ProgressCrlf => 1_000_000,
            Corpus::Huge => 100,
            Corpus::Multiline => 100_000,
        }
    }

    pub fn generate(self, events: usize) -> Vec<u8> {
        match self {
            Corpus::Progress => progress(events, "\n"),
            Corpus::ProgressCrlf => progress(events, "\r\n"),
            Corpus::Huge => huge(events),
            Corpus::Multiline => multiline(events),
        }
    }
}

const TOOLS: [&str; 6] = [
    "notion",
    "run_tests",
    "web_fetch",
    "grep_repo",
    "build_index",
    "git_clone",
];
const MESSAGES: [&str; 4] = [
    "sending request",
    "response received",
    "indexing files",
    "compiling crate",
];

/// One progress event, as Construct's session stream sends it plus `id:` and `event:`.
pub fn progress_event(out: &mut String, n: usize, eol: &str) {
    use std::fmt::Write;
    let tool = TOOLS[n % TOOLS.len()];
    let message = MESSAGES[n % MESSAGES.len()];
    let total = 100 + n % 7;
    let progress = n % total;
    let nanos = (n * 7919) % 1_000_000_000;
    let _ = write!(
        out,
        "id: {n}{eol}event: progress{eol}data: {{\"token\":{token},\"progress\":{progress},\"total\":{total},\"message\":\"{tool}: {message}\",\"tool\":\"{tool}\",\"timestamp\":\"2026-04-17T10:{m:02}:{s:02}.{nanos:09}+00:00\"}}{eol}{eol}",
        token = n % 64,
        m = (n / 60) % 60,
        s = n % 60,
    );
}

fn progress(events: usize, eol: &str) -> Vec<u8> {
    let mut out = String::with_capacity(events * 200);
    for n in 0..events {
        progress_event(&mut out, n, eol);
    }
    out.into_bytes()
}

fn huge(events: usize) -> Vec<u8> {
    let line: String = (0..1 << 20)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut out = String::with_capacity(events * ((1 << 20) + 32));
    for n in 0..events {
        out.push_str(&format!("id: {n}\ndata: "));
        out.push_str(&line);
        out.push_str("\n\n");
    }
    out.into_bytes()
}

fn multiline(events: usize) -> Vec<u8> {
    let mut out = String::with_capacity(events * 20 * 48);
    for n in 0..events {
        out.push_str(&format!("id: {n}\nevent: log\n"));
        for line in 0..20 {
            out.push_str(&format!(
                "data: line {line:02} of event {n}: compiling crate {}\n",
                TOOLS[line % TOOLS.len()]
            ));
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// The model-ingest `steady` stream's data payloads: 64 calls at a time, each reporting
/// 1..=100 of 100 and then replaced by a new call (a new token).
pub fn steady_payloads(frames: usize) -> Vec<String> {
    const CONCURRENT: usize = 64;
    const STEPS: usize = 100;
    (0..frames)
        .map(|n| {
            let slot = n % CONCURRENT;
            let round = n / CONCURRENT;
            let token = (round / STEPS) * CONCURRENT + slot;
            let step = round % STEPS + 1;
            let tool = ["notion", "run_tests", "web_fetch", "grep_repo"][slot % 4];
            format!(
                "{{\"token\":{token},\"progress\":{step},\"total\":{STEPS},\"message\":\"{tool}: step {step}\",\"tool\":\"{tool}\",\"timestamp\":\"2026-04-17T10:{:02}:{:02}.{:09}+00:00\"}}",
                (n / 20_000) % 60,
                (n / 1000) % 60,
                (n % 1000) * 1_000_000
            )
        })
        .collect()
}
