//! The tools `/mcp` offers: the conformance suite's `test_*` tools and simulated tools
//! that behave like the ones coding agents call (steps with messages, unknown totals,
//! fractional progress, a failure, a stall, a long call, a burst).
//!
//! Every tool takes an optional `duration_ms` that scales its whole run, so tests can
//! run the real paths in milliseconds and the workload at a human pace.

use std::time::Duration;

use serde_json::{json, Value};

/// Every tool, in the order `tools/list` gives them.
pub const TOOL_NAMES: &[&str] = &[
    "test_tool_with_progress",
    "test_reconnection",
    "test_error_handling",
    "run_tests",
    "index_repo",
    "download_artifact",
    "deploy",
    "wait_for_review",
    "build_project",
    "fetch_url",
    "bulk_index",
    "apply_migration",
];

pub use super::tool_context::{Cancelled, InputSlot, Outcome, TaskSupport, ToolContext};

/// `tools/list`'s `tools` array.
pub fn list() -> Value {
    let duration = json!({
        "type": "integer",
        "minimum": 0,
        "description": "How long the whole call takes, in milliseconds"
    });
    let schema = |extra: Value| {
        let mut properties = json!({ "duration_ms": duration });
        if let (Some(p), Some(extra)) = (properties.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        json!({ "type": "object", "properties": properties })
    };
    let tool = |name: &str, description: &str, extra: Value| json!({ "name": name, "description": description, "inputSchema": schema(extra) });
    let mut tools = json!([
        tool("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100, about 50 ms apart, then returns", json!({})),
        tool("test_reconnection", "Closes its response stream after the priming event and finishes a moment later; the result is delivered on resume (GET with Last-Event-ID)", json!({})),
        tool("test_error_handling", "Always returns an error result", json!({})),
        tool("run_tests", "Runs a test suite: one step per test, with its name", json!({ "tests": { "type": "integer", "minimum": 1 } })),
        tool("index_repo", "Indexes files of unknown count: progress without a total", json!({ "files": { "type": "integer", "minimum": 1 } })),
        tool("download_artifact", "Downloads an artifact: fractional progress in megabytes", json!({ "megabytes": { "type": "number", "exclusiveMinimum": 0 } })),
        tool("deploy", "Builds, pushes and rolls out, then fails its health check", json!({})),
        tool("wait_for_review", "Asks for a review, goes silent for most of its run (a stall), then finishes", json!({})),
        tool("build_project", "A long build with steady progress", json!({})),
        tool("fetch_url", "Two steps, like Construct's notion tool: sending request, response received", json!({ "url": { "type": "string" } })),
        tool("bulk_index", "A burst: many progress reports as fast as possible", json!({ "events": { "type": "integer", "minimum": 1 } })),
        tool("apply_migration", "Asks the user to confirm (elicitation: input_required in MCP 2026-07-28, on the call's stream in 2025-11-25), then applies a migration step by step", json!({ "migration": { "type": "string" } })),
    ]);
    if let Some(list) = tools.as_array_mut() {
        list.extend(super::fixtures::list());
        for tool in list.iter_mut() {
            let support = tool["name"].as_str().map(task_support);
            if let (Some(support), Some(object)) = (support, tool.as_object_mut()) {
                if support != TaskSupport::Forbidden {
                    object.insert(
                        "execution".into(),
                        json!({ "taskSupport": support.as_str() }),
                    );
                }
            }
        }
    }
    tools
}

/// How a tool may run as an MCP task: the long simulated tools and some fixtures can.
pub fn task_support(name: &str) -> TaskSupport {
    match name {
        "run_tests" | "index_repo" | "download_artifact" | "deploy" | "wait_for_review"
        | "build_project" | "bulk_index" | "apply_migration" => TaskSupport::Optional,
        other => super::fixtures::task_support(other).unwrap_or(TaskSupport::Forbidden),
    }
}

/// Every tool's name, in the order `tools/list` gives them.
pub fn names() -> Vec<&'static str> {
    TOOL_NAMES
        .iter()
        .chain(super::fixtures::NAMES)
        .copied()
        .collect()
}

pub fn exists(name: &str) -> bool {
    TOOL_NAMES.contains(&name) || super::fixtures::exists(name)
}

/// Runs a tool to its end (or its cancellation).
pub async fn run(name: &str, args: &Value, ctx: &ToolContext) -> Outcome {
    let ran = match super::fixtures::run(name, args, ctx).await {
        Some(ran) => ran,
        None => run_inner(name, args, ctx).await,
    };
    match ran {
        Ok(outcome) => outcome,
        Err(Cancelled) => Outcome::Cancelled,
    }
}

fn arg_u64(args: &Value, key: &str, default: u64, max: u64) -> u64 {
    args.get(key)
        .and_then(Value::as_u64)
        .unwrap_or(default)
        .min(max)
}

fn arg_f64(args: &Value, key: &str, default: f64) -> f64 {
    args.get(key)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(default)
}

const TEST_NAMES: &[&str] = &[
    "sse::decoder::crlf_split",
    "sse::decoder::bom",
    "wire::progress_float_token",
    "model::stall_threshold",
    "model::eta_smoothing",
    "server::replay_ring",
    "server::lagged_subscriber",
    "ui::narrow_columns",
];

async fn run_inner(name: &str, args: &Value, ctx: &ToolContext) -> Result<Outcome, Cancelled> {
    // Every run lasts `duration_ms` (capped at an hour); each tool spreads it over its steps.
    let total_ms =
        |default: u64| Duration::from_millis(arg_u64(args, "duration_ms", default, 3_600_000));
    let step =
        |whole: Duration, steps: u64| whole / u32::try_from(steps.max(1)).unwrap_or(u32::MAX);
    Ok(match name {
        "test_tool_with_progress" => {
            ctx.progress(0.0, Some(100.0), "");
            ctx.sleep(Duration::from_millis(50)).await?;
            ctx.progress(50.0, Some(100.0), "");
            ctx.sleep(Duration::from_millis(50)).await?;
            ctx.progress(100.0, Some(100.0), "");
            Outcome::Done("test_tool_with_progress completed".to_owned())
        }
        "test_reconnection" => {
            ctx.sleep(total_ms(300)).await?;
            Outcome::Done("test_reconnection completed after the stream was closed".to_owned())
        }
        "test_error_handling" => {
            Outcome::Failed("This tool intentionally returns an error for testing".to_owned())
        }
        "run_tests" => {
            let tests = arg_u64(args, "tests", 24, 100_000);
            let pause = step(total_ms(20_000), tests);
            for i in 1..=tests {
                ctx.sleep(pause).await?;
                let name = TEST_NAMES[(i as usize - 1) % TEST_NAMES.len()];
                ctx.progress(
                    i as f64,
                    Some(tests as f64),
                    format!("test {i}/{tests}: {name} ok"),
                );
            }
            Outcome::Done(format!("{tests} passed, 0 failed"))
        }
        "index_repo" => {
            let files = arg_u64(args, "files", 180, 100_000);
            let reports = files.min(60);
            let pause = step(total_ms(15_000), reports);
            for r in 1..=reports {
                ctx.sleep(pause).await?;
                let done = files * r / reports;
                ctx.progress(done as f64, None, format!("indexed src/module_{done}.rs"));
            }
            Outcome::Done(format!("indexed {files} files"))
        }
        "download_artifact" => {
            let megabytes = arg_f64(args, "megabytes", 48.5);
            let reports = 40u64;
            let pause = step(total_ms(12_000), reports);
            for r in 1..=reports {
                ctx.sleep(pause).await?;
                let got = megabytes * r as f64 / reports as f64;
                ctx.progress(
                    got,
                    Some(megabytes),
                    format!("{got:.1} MB of {megabytes:.1} MB"),
                );
            }
            Outcome::Done(format!("downloaded {megabytes:.1} MB"))
        }
        "deploy" => {
            let stages = [
                "building image",
                "pushing image",
                "rolling out 3 replicas",
                "waiting for health check",
            ];
            let pause = step(total_ms(10_000), stages.len() as u64);
            for (i, stage) in stages.iter().enumerate() {
                ctx.progress(i as f64, Some(stages.len() as f64), stage);
                ctx.sleep(pause).await?;
            }
            Outcome::Failed("health check failed: /ready answered 503 three times".to_owned())
        }
        "wait_for_review" => {
            let whole = total_ms(60_000);
            ctx.progress(1.0, Some(3.0), "review requested");
            ctx.sleep(whole / 10).await?;
            ctx.progress(2.0, Some(3.0), "waiting for a reviewer");
            // The stall: nothing for most of the run.
            ctx.sleep(whole * 8 / 10).await?;
            ctx.progress(3.0, Some(3.0), "approved");
            ctx.sleep(whole / 10).await?;
            Outcome::Done("review approved".to_owned())
        }
        "build_project" => {
            let steps = 100u64;
            let pause = step(total_ms(90_000), steps);
            for i in 1..=steps {
                ctx.sleep(pause).await?;
                ctx.progress(
                    i as f64,
                    Some(steps as f64),
                    format!("compiling crate {i} of {steps}"),
                );
            }
            Outcome::Done("build finished".to_owned())
        }
        "fetch_url" => {
            let url = args
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("https://example.com/");
            let half = step(total_ms(3_000), 2);
            ctx.progress(1.0, Some(2.0), "sending request");
            ctx.sleep(half).await?;
            ctx.progress(2.0, Some(2.0), "response received");
            ctx.sleep(half).await?;
            Outcome::Done(format!("fetched {url}"))
        }
        "bulk_index" => {
            let events = arg_u64(args, "events", 500, 100_000);
            for i in 1..=events {
                ctx.progress(i as f64, Some(events as f64), "indexing");
                if i % 1024 == 0 {
                    // Let other tasks run, and notice a cancellation.
                    tokio::task::yield_now().await;
                    if ctx.cancel.is_cancelled() {
                        return Err(Cancelled);
                    }
                }
            }
            Outcome::Done(format!("indexed {events} records"))
        }
        "apply_migration" => {
            let migration = args
                .get("migration")
                .and_then(Value::as_str)
                .unwrap_or("0042_add_index");
            let question = json!({
                "method": "elicitation/create",
                "params": {
                    "message": format!("Apply migration {migration} to the production database?"),
                    "requestedSchema": {
                        "type": "object",
                        "properties": { "confirm": { "type": "boolean", "title": "Apply it" } },
                        "required": ["confirm"]
                    }
                }
            });
            let answer = match ctx.ask_all(vec![("confirm".to_owned(), question)]).await? {
                super::tool_context::Asked::Answers(mut answers) => {
                    answers.pop().unwrap_or_default()
                }
                super::tool_context::Asked::Later(requests) => {
                    return Ok(Outcome::InputRequired(requests))
                }
                super::tool_context::Asked::Refused(why) => return Ok(Outcome::Failed(why)),
            };
            if answer["action"] != "accept" || answer["content"]["confirm"] != true {
                return Ok(Outcome::Done(format!(
                    "{migration} not applied: the user said no"
                )));
            }
            let steps = [
                "locking the table",
                "adding the index",
                "backfilling",
                "unlocking",
            ];
            let pause = step(total_ms(6_000), steps.len() as u64);
            for (i, stage) in steps.iter().enumerate() {
                ctx.progress(i as f64, Some(steps.len() as f64), stage);
                ctx.sleep(pause).await?;
            }
            ctx.progress(steps.len() as f64, Some(steps.len() as f64), "applied");
            Outcome::Done(format!("{migration} applied"))
        }
        _ => Outcome::Failed(format!("unknown tool: {name}")),
    })
}
