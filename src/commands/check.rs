//! `mcptop check RECORDING`: CI assertions about a recorded session.

use anyhow::Result;

use super::Exit;
use crate::cli::{BaselineArgs, CheckArgs, DiffArgs};
use mcptop::check::Checks;

pub fn run(args: &CheckArgs) -> Result<()> {
    let mut checks = Checks {
        expect_tools: args.expect_tool.clone(),
        forbid_tools: args.forbid_tool.clone(),
        max_failures: args.max_failures,
        no_findings: args.no_findings,
        ..Checks::default()
    };
    for limit in &args.max_duration {
        let (tool, duration) = match limit.split_once('=') {
            Some((tool, d)) => (Some(tool), d),
            None => (None, limit.as_str()),
        };
        let duration = crate::cli::parse_duration(duration)
            .map_err(|e| Exit::new(2, format!("--max-duration {limit:?}: {e}")))?;
        match tool {
            Some(tool) => {
                checks.max_duration_of.insert(tool.to_owned(), duration);
            }
            None => checks.max_duration = Some(duration),
        }
    }
    if let Some(path) = &args.baseline {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Exit::new(2, format!("cannot read {}: {e}", path.display())))?;
        checks.baseline = Some(
            mcptop::baseline::parse(&text)
                .map_err(|e| Exit::new(2, format!("{}: {e}", path.display())))?,
        );
    }
    let recording = mcptop::recording::open(&args.file).map_err(|e| Exit::new(2, e.to_string()))?;
    if recording.tape.is_empty() {
        return Err(Exit::new(2, format!("{} holds nothing to check", args.file.display())).into());
    }
    let report = mcptop::check::run(recording, &checks);
    if let Some(path) = &args.junit {
        let name = format!("mcptop check {}", args.file.display());
        let xml = mcptop::check::junit(&report, &checks, &name);
        std::fs::write(path, xml).map_err(|e| {
            Exit::new(
                2,
                format!("cannot write the JUnit report {}: {e}", path.display()),
            )
        })?;
    }
    if args.json {
        println!(
            "{}",
            mcptop::sanitize::json_string(&serde_json::to_value(&report)?)
        );
    } else if report.ok {
        println!(
            "ok: {} calls of {} tools, every check holds",
            report.calls,
            report.tools.len()
        );
    } else {
        for v in &report.violations {
            println!("{}: {}", v.check, v.message);
        }
    }
    if report.ok {
        Ok(())
    } else {
        Err(Exit::new(1, String::new()).into())
    }
}

/// `mcptop baseline REC`: the tools its servers offered, as JSON.
pub fn baseline(args: &BaselineArgs) -> Result<()> {
    let recording = mcptop::recording::open(&args.file).map_err(|e| Exit::new(2, e.to_string()))?;
    let baseline = mcptop::baseline::of_recording(recording);
    if baseline.servers.is_empty() {
        return Err(Exit::new(
            2,
            format!(
                "{} shows no server's tools: record a session whose servers run behind \
                 `mcptop wrap` or `mcptop proxy` (they report their tools/list)",
                args.file.display()
            ),
        )
        .into());
    }
    println!(
        "{}",
        mcptop::sanitize::json_string(&serde_json::to_value(&baseline)?)
    );
    Ok(())
}

/// `mcptop diff A B`.
pub fn diff(args: &DiffArgs) -> Result<()> {
    let threshold = {
        let t = args.threshold.trim();
        let (number, scale) = match t.strip_suffix('%') {
            Some(n) => (n, 0.01),
            None => (t, 1.0),
        };
        number
            .trim()
            .parse::<f64>()
            .ok()
            .map(|n| n * scale)
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| {
                Exit::new(
                    2,
                    format!(
                        "--threshold {:?}: give a share such as 20% or 0.2",
                        mcptop::sanitize::terminal(&args.threshold)
                    ),
                )
            })?
    };
    let open = |path: &std::path::Path| {
        mcptop::recording::open(path).map_err(|e| Exit::new(2, e.to_string()))
    };
    let (a, b) = (open(&args.a)?, open(&args.b)?);
    let (a, b) = (mcptop::playback::play(a), mcptop::playback::play(b));
    let diff = mcptop::diff::diff((&a.0, a.1), (&b.0, b.1), threshold);
    if args.json {
        println!(
            "{}",
            mcptop::sanitize::json_string(&serde_json::to_value(&diff)?)
        );
    } else {
        print!("{}", mcptop::diff::text(&diff));
    }
    if diff.changed {
        Err(Exit::new(1, String::new()).into())
    } else {
        Ok(())
    }
}
