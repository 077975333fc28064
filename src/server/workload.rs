//! A realistic workload: simulated agents calling the daemon's tools through real HTTP
//! `tools/call` requests in one session, concurrently, with think time between calls and
//! an occasional burst that overflows a slow subscriber (so lag is visible).
//!
//! Two agents in three speak Construct's dialect; the third speaks MCP 2026-07-28 and
//! declares the tasks extension, so its long calls run as tasks it polls to their end.

use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::sse::{Decoder, Item, Limits};
use crate::wire::{decode_event, Frame};

#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Concurrent simulated agents.
    pub agents: usize,
    /// 1.0 is a human pace; 10.0 runs every call ten times faster.
    pub pace: f64,
    /// Include bursts of progress that overflow slow subscribers.
    pub bursts: bool,
    /// Stop after this many calls in all (none: run until stopped).
    pub max_calls: Option<u64>,
    /// One agent in three speaks MCP 2026-07-28 and runs its long calls as tasks (the
    /// daemon must speak it: not with `--compat construct`).
    pub modern_agents: bool,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            agents: 3,
            pace: 1.0,
            bursts: true,
            max_calls: None,
            modern_agents: true,
        }
    }
}

/// The session the workload runs in.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkloadSession {
    pub session_id: String,
    pub token: String,
}

/// Creates the workload's session with `POST /session`, as the owner when `admin_token`
/// is given (the session then shows in the owner's views with no flag).
pub async fn create_session(
    base_url: &str,
    label: &str,
    admin_token: Option<&str>,
) -> anyhow::Result<WorkloadSession> {
    open_session(base_url, &json!({ "label": label }), admin_token).await
}

/// `POST /session` with `body` (its label, and for an agent's session its `cwd` and
/// `agent_session`).
pub(crate) async fn open_session(
    base_url: &str,
    body: &Value,
    admin_token: Option<&str>,
) -> anyhow::Result<WorkloadSession> {
    let client = reqwest::Client::new();
    let mut request = client.post(format!("{base_url}/session")).json(body);
    if let Some(admin) = admin_token {
        request = request.bearer_auth(admin);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach the daemon at {base_url}"))?;
    if !response.status().is_success() {
        bail!(
            "the daemon refused to create a session: {}",
            response.status()
        );
    }
    response
        .json()
        .await
        .context("the daemon's session answer is not JSON")
}

/// One call of the mix: a tool, its arguments, its default length in milliseconds, and
/// how the agent asks for progress.
struct Planned {
    tool: &'static str,
    arguments: Value,
    duration_ms: u64,
}

fn plan(rng: &mut fastrand::Rng, bursts: bool) -> Planned {
    let roll = rng.u32(0..100);
    let (tool, duration_ms, arguments) = match roll {
        0..=19 => (
            "fetch_url",
            2_500,
            json!({ "url": "https://docs.example.com/api" }),
        ),
        20..=36 => (
            "run_tests",
            18_000 + rng.u64(0..8_000),
            json!({ "tests": rng.u64(12..48) }),
        ),
        37..=49 => ("index_repo", 12_000, json!({ "files": rng.u64(80..400) })),
        50..=61 => (
            "download_artifact",
            10_000,
            json!({ "megabytes": 20.0 + rng.f64() * 80.0 }),
        ),
        62..=71 => ("build_project", 45_000 + rng.u64(0..30_000), json!({})),
        72..=79 => ("deploy", 9_000, json!({})),
        80..=86 => ("wait_for_review", 50_000, json!({})),
        87..=93 if bursts => ("bulk_index", 0, json!({ "events": 600 + rng.u64(0..900) })),
        _ => ("test_tool_with_progress", 100, json!({})),
    };
    Planned {
        tool,
        arguments,
        duration_ms,
    }
}

/// Runs the agents until `stop` is cancelled (or `max_calls` calls were made).
/// Returns how many calls completed.
pub async fn drive(
    base_url: &str,
    session: &WorkloadSession,
    config: &WorkloadConfig,
    stop: CancellationToken,
) -> anyhow::Result<u64> {
    let client = reqwest::Client::new();
    let budget = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(
        config.max_calls.unwrap_or(u64::MAX),
    ));
    let mut agents = tokio::task::JoinSet::new();
    for agent in 0..config.agents.max(1) {
        let client = client.clone();
        let url = format!("{base_url}/mcp");
        let session = session.clone();
        let stop = stop.clone();
        let config = config.clone();
        let budget = budget.clone();
        agents.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(0x6d63_7074_6f70 + agent as u64 * 7919);
            let mut done = 0u64;
            let mut request_id = agent as u64 * 100_000;
            // Agents start a little apart, like people do.
            let first = Duration::from_millis(rng.u64(0..1500)).div_f64(config.pace.max(0.01));
            if sleep_or_stop(first, &stop).await {
                return Ok(done);
            }
            loop {
                let claimed = budget.fetch_update(
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                    |left| left.checked_sub(1),
                );
                if claimed.is_err() || stop.is_cancelled() {
                    return Ok(done);
                }
                request_id += 1;
                let modern = config.modern_agents && agent % 3 == 2;
                let mut planned = plan(&mut rng, config.bursts);
                if modern && rng.u32(0..4) == 0 {
                    // A call that waits on the person at the agent (who answers in time).
                    planned = Planned {
                        tool: "apply_migration",
                        arguments: json!({ "migration": format!("{:04}_add_index", request_id % 10_000) }),
                        duration_ms: 6_000,
                    };
                }
                let mut arguments = planned.arguments;
                let scaled = (planned.duration_ms as f64 / config.pace.max(0.01)) as u64;
                arguments["duration_ms"] = json!(scaled);
                // Agents differ in how they ask for progress: an integer token, a string
                // token, or none (the daemon then mints one).
                let meta = match agent % 3 {
                    0 => json!({ "progressToken": request_id }),
                    1 => json!({ "progressToken": format!("agent{agent}-{request_id}") }),
                    _ => json!({}),
                };
                // Modern agents take tasks on every other call: a question comes as
                // the task's input_required then, else as the call's own.
                let mut capabilities = json!({ "elicitation": {} });
                if request_id.is_multiple_of(2) {
                    capabilities["extensions"] = json!({ "io.modelcontextprotocol/tasks": {} });
                }
                let body = if modern {
                    json!({
                        "jsonrpc": "2.0",
                        "id": request_id,
                        "method": "tools/call",
                        "params": { "name": planned.tool, "arguments": arguments, "_meta": {
                            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                            "io.modelcontextprotocol/clientInfo": { "name": "mcptop workload", "version": env!("CARGO_PKG_VERSION") },
                            "io.modelcontextprotocol/clientCapabilities": capabilities,
                        } },
                    })
                } else {
                    json!({
                        "jsonrpc": "2.0",
                        "id": request_id,
                        "method": "tools/call",
                        "params": { "name": planned.tool, "arguments": arguments, "_meta": meta },
                    })
                };
                tokio::select! {
                    _ = stop.cancelled() => return Ok(done),
                    result = async {
                        if modern {
                            let person = Person { rng: fastrand::Rng::with_seed(request_id), pace: config.pace };
                            call_modern(&client, &url, &session, &body, person).await
                        } else {
                            call(&client, &url, &session, &body).await
                        }
                    } => result?,
                }
                done += 1;
                let think =
                    Duration::from_millis(rng.u64(400..3_000)).div_f64(config.pace.max(0.01));
                if sleep_or_stop(think, &stop).await {
                    return Ok(done);
                }
            }
        });
    }
    let mut total = 0;
    while let Some(joined) = agents.join_next().await {
        let done: anyhow::Result<u64> = joined.context("a workload agent panicked")?;
        total += done?;
    }
    Ok(total)
}

async fn sleep_or_stop(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

/// The person at a workload agent: answers the questions a call asks, after a while,
/// mostly yes.
struct Person {
    rng: fastrand::Rng,
    pace: f64,
}

impl Person {
    /// Thinks, then answers each question of `requests` (`inputRequests`).
    async fn answer(&mut self, requests: &Value) -> Value {
        let think = Duration::from_millis(self.rng.u64(1_500..5_000)).div_f64(self.pace.max(0.01));
        tokio::time::sleep(think).await;
        let mut responses = serde_json::Map::new();
        for (key, request) in requests.as_object().into_iter().flatten() {
            let response = match request["method"].as_str() {
                Some("elicitation/create") if self.rng.u32(0..5) == 0 => {
                    json!({ "action": "decline" })
                }
                Some("elicitation/create") => {
                    json!({ "action": "accept", "content": { "confirm": true } })
                }
                Some("roots/list") => json!({ "roots": [] }),
                _ => {
                    json!({ "role": "assistant", "model": "workload", "content": { "type": "text", "text": "ok" } })
                }
            };
            responses.insert(key.clone(), response);
        }
        Value::Object(responses)
    }
}

/// One `tools/call` in MCP 2026-07-28, in the workload's session (`Mcptop-Session`): a
/// call that needs input is called again with the person's answers (and its state); a
/// task is polled with `tasks/get` until it ends, its questions answered with
/// `tasks/update`.
async fn call_modern(
    client: &reqwest::Client,
    url: &str,
    session: &WorkloadSession,
    body: &Value,
    mut person: Person,
) -> anyhow::Result<()> {
    let post = |body: &Value, name: &str| {
        client
            .post(url)
            .bearer_auth(&session.token)
            .header("Mcptop-Session", &session.session_id)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", body["method"].as_str().unwrap_or_default())
            .header("Mcp-Name", name)
            .json(body)
    };
    let name = body["params"]["name"].as_str().unwrap_or_default();
    let mut body = body.clone();
    let mut answer = Value::Null;
    // Bounded: a call asks a few rounds at most.
    for _ in 0..10 {
        let response = post(&body, name)
            .send()
            .await
            .context("a workload call could not reach the daemon")?;
        if !response.status().is_success() {
            bail!("a workload call was refused: {}", response.status());
        }
        answer = final_message(response).await?;
        if answer["result"]["resultType"] != "input_required" {
            break;
        }
        let responses = person.answer(&answer["result"]["inputRequests"]).await;
        body["params"]["inputResponses"] = responses;
        body["params"]["requestState"] = answer["result"]["requestState"].clone();
    }
    let result = &answer["result"];
    if result["resultType"] != "task" {
        return Ok(());
    }
    let task_id = result["taskId"].as_str().unwrap_or_default().to_owned();
    let pause = Duration::from_millis(
        result["pollIntervalMs"]
            .as_u64()
            .unwrap_or(250)
            .clamp(50, 5_000),
    );
    let get = json!({
        "jsonrpc": "2.0",
        "id": body["id"],
        "method": "tasks/get",
        "params": { "taskId": task_id, "_meta": body["params"]["_meta"] },
    });
    // Bounded: a task lives at most its ttl.
    for _ in 0..100_000 {
        tokio::time::sleep(pause).await;
        let response = post(&get, &task_id)
            .send()
            .await
            .context("a workload poll could not reach the daemon")?;
        let polled = final_message(response).await?;
        match polled["result"]["status"].as_str() {
            Some("input_required") => {
                let responses = person.answer(&polled["result"]["inputRequests"]).await;
                let update = json!({
                    "jsonrpc": "2.0",
                    "id": body["id"],
                    "method": "tasks/update",
                    "params": { "taskId": task_id, "inputResponses": responses, "_meta": body["params"]["_meta"] },
                });
                post(&update, &task_id)
                    .send()
                    .await
                    .context("a workload answer could not reach the daemon")?;
            }
            Some("working") => {}
            Some(_) => return Ok(()),
            None => bail!("a workload task is gone: {}", polled["error"]["message"]),
        }
    }
    bail!("a workload task never ended")
}

/// The last JSON-RPC message of an answer, JSON or SSE.
async fn final_message(response: reqwest::Response) -> anyhow::Result<Value> {
    let sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let body = response
        .bytes()
        .await
        .context("a workload answer broke off")?;
    crate::wire::schema::rpc_answer(&body, sse).context("a workload answer had no response")
}

/// One `tools/call` over Construct's dialect, read to the final response.
async fn call(
    client: &reqwest::Client,
    url: &str,
    session: &WorkloadSession,
    body: &Value,
) -> anyhow::Result<()> {
    let mut response = client
        .post(url)
        .bearer_auth(&session.token)
        .header("X-Construct-Session", &session.session_id)
        .json(body)
        .send()
        .await
        .context("a workload call could not reach the daemon")?;
    if !response.status().is_success() {
        bail!("a workload call was refused: {}", response.status());
    }
    let mut decoder = Decoder::new(Limits::default());
    let mut answered = false;
    while let Some(chunk) = response
        .chunk()
        .await
        .context("a workload call's stream broke")?
    {
        decoder.feed(&chunk, &mut |item| {
            if let Item::Event(e) = item {
                answered |= matches!(
                    decode_event(e.event_type, e.data, e.last_event_id),
                    Frame::Response(_)
                );
            }
        });
    }
    if !answered {
        bail!("a workload call ended without a response");
    }
    Ok(())
}

/// What a tap in front of the daemon's MCP endpoint would say of it, said into the
/// workload's session (the demo's servers view): the agents ask `server/discover` and
/// `tools/list` (MCP 2026-07-28), and the answers, as [`crate::tap`] reads them, are
/// published as a `server` event.
pub async fn describe_server(base_url: &str, session: &WorkloadSession) -> anyhow::Result<()> {
    use crate::wire::schema::{Published, ServerEvent};
    let client = reqwest::Client::new();
    let url = format!("{base_url}/mcp");
    let ask = |id: u64, method: &str| {
        client
            .post(&url)
            .bearer_auth(&session.token)
            .header("Mcptop-Session", &session.session_id)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2026-07-28")
            .header("Mcp-Method", method)
            .json(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": { "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": { "name": "mcptop workload", "version": env!("CARGO_PKG_VERSION") },
                "io.modelcontextprotocol/clientCapabilities": { "elicitation": {} },
            } } }))
            .send()
    };
    let discover = final_message(ask(1, "server/discover").await?).await?;
    let listed = final_message(ask(2, "tools/list").await?).await?;
    // Read as a tap reads them (the same code).
    let mut server = ServerEvent::default();
    server.read_hello(&discover["result"].to_string());
    if listed["result"]["tools"].as_array().is_none() {
        bail!("tools/list answered no tools: {listed}");
    }
    server.read_tools(&listed["result"].to_string(), true);
    server.timestamp = Some(crate::time::Time::now());
    publish(&client, base_url, session, &[Published::Server(server)]).await
}

/// Publishes `items` (events as the taps and hooks publish them) into `session`.
pub(crate) async fn publish(
    client: &reqwest::Client,
    base_url: &str,
    session: &WorkloadSession,
    items: &[crate::wire::schema::Published<'_>],
) -> anyhow::Result<()> {
    let response = client
        .post(format!("{base_url}/session/{}/publish", session.session_id))
        .bearer_auth(&session.token)
        .json(items)
        .send()
        .await
        .context("cannot reach the daemon")?;
    if !response.status().is_success() {
        bail!("the daemon refused the events: {}", response.status());
    }
    Ok(())
}
