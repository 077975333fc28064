//! A simulated Claude Code session seen through its hooks, for `mcptop demo`.
//!
//! Its events are the payloads the real agent gives its hooks (`PreToolUse`,
//! `PermissionRequest`, `PostToolUse`, `SubagentStop`, `Stop`); they go through
//! [`crate::hook::plan`], the code `mcptop hook` runs, into an agent session of the
//! daemon (`claude-code · shop`). So the demo shows what a hooked agent looks like: its
//! built-in tools with what each works on, a subagent's calls, a permission prompt the
//! person answers after a few seconds (one in six denied: the agent moves on), and the
//! agents view.

use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::hook::{plan, HookInput, HookState};
use crate::redact::Rules;
use crate::time::Time;

/// The agent session's label (agent · directory) and its project directory.
pub const LABEL: &str = "claude-code · shop";
const CWD: &str = "/home/you/shop";

struct Agent {
    client: reqwest::Client,
    base_url: String,
    session: super::workload::WorkloadSession,
    state: HookState,
    rules: Rules,
    pace: f64,
    /// The next `tool_use_id`.
    next: u64,
}

impl Agent {
    /// One hook event: `event` with the session's fields, planned and published.
    async fn hook(&mut self, mut event: Value) -> anyhow::Result<()> {
        if let Some(map) = event.as_object_mut() {
            map.insert("session_id".into(), json!("demo-shop"));
            map.insert("cwd".into(), json!(CWD));
            map.insert("transcript_path".into(), json!("/dev/null"));
        }
        let input: HookInput =
            serde_json::from_value(event).context("a demo hook event does not parse")?;
        let items = plan(&input, &mut self.state, &self.rules, Time::now());
        if items.is_empty() {
            return Ok(());
        }
        super::workload::publish(&self.client, &self.base_url, &self.session, &items).await
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("toolu_demo{:04}", self.next)
    }

    /// `ms` of the agent's time at its pace; false when the demo stops first.
    async fn wait(&self, ms: u64, stop: &CancellationToken) -> bool {
        let d = Duration::from_secs_f64(ms as f64 / 1000.0 / self.pace.max(0.01));
        tokio::select! {
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }

    /// A tool that runs `ms` and succeeds; `agent` is the subagent (id, type) making it.
    async fn tool(
        &mut self,
        name: &str,
        input: Value,
        ms: u64,
        agent: Option<(&str, &str)>,
        stop: &CancellationToken,
    ) -> anyhow::Result<bool> {
        let id = self.id();
        let mut pre = json!({
            "hook_event_name": "PreToolUse", "tool_name": name,
            "tool_input": input, "tool_use_id": id,
        });
        if let (Some((agent_id, agent_type)), Some(map)) = (agent, pre.as_object_mut()) {
            map.insert("agent_id".into(), json!(agent_id));
            map.insert("agent_type".into(), json!(agent_type));
        }
        self.hook(pre.clone()).await?;
        if !self.wait(ms, stop).await {
            return Ok(false);
        }
        if let Some(map) = pre.as_object_mut() {
            map.insert("hook_event_name".into(), json!("PostToolUse"));
            map.insert("tool_response".into(), json!({ "ok": true }));
        }
        self.hook(pre).await?;
        Ok(true)
    }

    /// One turn of the agent: it reads, searches, sends a subagent to look around, edits,
    /// then asks to push (the person answers; now and then no).
    async fn turn(
        &mut self,
        rng: &mut fastrand::Rng,
        stop: &CancellationToken,
    ) -> anyhow::Result<bool> {
        let file = ["src/cart.rs", "src/checkout.rs", "src/money.rs"][rng.usize(0..3)];
        let steps: [(&str, Value, u64); 2] = [
            ("Read", json!({ "file_path": format!("{CWD}/{file}") }), 400),
            ("Grep", json!({ "pattern": "fn total", "path": "src" }), 300),
        ];
        for (name, input, ms) in steps {
            if !self.tool(name, input, ms, None, stop).await? {
                return Ok(false);
            }
        }
        // A subagent: the Task call runs while its own calls do.
        let task = self.id();
        let task_input = json!({
            "description": "find the rounding bug",
            "prompt": "Find where totals are rounded.",
            "subagent_type": "general-purpose",
        });
        self.hook(json!({
            "hook_event_name": "PreToolUse", "tool_name": "Task",
            "tool_input": task_input, "tool_use_id": task,
        }))
        .await?;
        let sub = Some(("a1b2c3", "general-purpose"));
        let tests = format!(
            "cargo test {}",
            ["money::", "cart::", "checkout::"][rng.usize(0..3)]
        );
        if !self
            .tool(
                "Read",
                json!({ "file_path": format!("{CWD}/src/money.rs") }),
                500,
                sub,
                stop,
            )
            .await?
            || !self
                .tool(
                    "Bash",
                    json!({ "command": tests }),
                    2_500 + rng.u64(0..2_000),
                    sub,
                    stop,
                )
                .await?
        {
            return Ok(false);
        }
        self.hook(json!({
            "hook_event_name": "SubagentStop",
            "agent_id": "a1b2c3", "agent_type": "general-purpose",
        }))
        .await?;
        self.hook(json!({
            "hook_event_name": "PostToolUse", "tool_name": "Task",
            "tool_input": task_input, "tool_use_id": task,
            "tool_response": { "ok": true },
        }))
        .await?;
        if !self
            .tool(
                "Edit",
                json!({ "file_path": format!("{CWD}/{file}") }),
                300,
                None,
                stop,
            )
            .await?
        {
            return Ok(false);
        }
        // The push needs the person's permission.
        let push = self.id();
        let input = json!({ "command": "git push origin fix/rounding" });
        self.hook(json!({
            "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": input, "tool_use_id": push,
        }))
        .await?;
        self.hook(json!({
            "hook_event_name": "PermissionRequest", "tool_name": "Bash", "tool_input": input,
        }))
        .await?;
        if !self.wait(3_000 + rng.u64(0..4_000), stop).await {
            return Ok(false);
        }
        if rng.u32(0..6) != 0 {
            if !self.wait(1_200, stop).await {
                return Ok(false);
            }
            self.hook(json!({
                "hook_event_name": "PostToolUse", "tool_name": "Bash",
                "tool_input": input, "tool_use_id": push,
                "tool_response": { "stdout": "To github.com:you/shop.git" },
            }))
            .await?;
        }
        // Denied: no hook says so; the turn's end shows the agent moved on.
        self.hook(json!({ "hook_event_name": "Stop" })).await?;
        Ok(true)
    }
}

/// Runs the simulated agent in a session of its own until `stop`, a turn after another
/// with the person's think time between, at `pace` (1.0: a human pace).
pub async fn drive(
    base_url: &str,
    admin_token: &str,
    pace: f64,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let session = super::workload::open_session(
        base_url,
        &json!({
            "label": LABEL,
            "cwd": CWD,
            "agent_session": "claude-code/demo-shop",
        }),
        Some(admin_token),
    )
    .await?;
    let mut agent = Agent {
        client: reqwest::Client::new(),
        base_url: base_url.to_owned(),
        session,
        state: HookState::default(),
        rules: Rules::default(),
        pace,
        next: 0,
    };
    let mut rng = fastrand::Rng::new();
    loop {
        if !agent.turn(&mut rng, &stop).await? {
            return Ok(());
        }
        // The person reads what it did and types the next prompt.
        if !agent.wait(4_000 + rng.u64(0..4_000), &stop).await {
            return Ok(());
        }
        agent
            .hook(json!({ "hook_event_name": "UserPromptSubmit", "prompt": "next" }))
            .await?;
    }
}
