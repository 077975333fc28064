//! OpenTelemetry in: what agents and SDKs say of their tool calls over OTLP, as calls.
//!
//! [`logs`] reads the log events of Claude Code (`claude_code.tool_decision`,
//! `claude_code.tool_result`, `claude_code.api_request`), Codex CLI (`codex.tool_decision`,
//! `codex.tool_result`) and Gemini CLI (`gemini_cli.tool_call`, `gemini_cli.api_response`);
//! [`spans`] reads spans of the MCP and GenAI semantic conventions (`tools/call {tool}`,
//! `execute_tool {tool}`) from any agent or SDK. Both are pure: a decoded export in, the
//! agent sessions it speaks of and the call events they become out. The daemon
//! ([`crate::server`]) receives the exports and publishes what comes out.
//!
//! A log event says what already happened, and exporters send them in batches seconds
//! later: every event carries the agent's own time, and its calls are marked
//! [`Origin::Otel`], which the model reads as a late report about a call it may already
//! show (from the agent's hooks): the same row, amended, never a second one.

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use serde_json::Value;

use crate::redact::Rules;
use crate::time::Time;
use crate::wire::schema::{CallEvent, CallExtras, Origin, MAX_NAME};
use crate::wire::{CallState, Wait};

/// The longest "what" of a call (as the hook's).
const MAX_WHAT: usize = 200;
/// The longest id kept of an agent session.
const MAX_ID: usize = 128;

/// An agent session the export speaks of: `key` names it across exports (and to the
/// agent's hooks: `claude-code/<session id>`), `label` is what the monitor shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSession {
    pub key: String,
    pub label: String,
}

/// One call event for the agent session at `session` (an index into [`Batch::sessions`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub session: usize,
    pub event: CallEvent<'static>,
    /// A model turn's end: its tokens and cost, for the session's totals.
    pub usage: Option<Usage>,
}

/// Tokens and cost of model turns: one turn's, or a session's so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub turns: u64,
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    /// In US dollars, as the agent reckons it (none when it says nothing of cost).
    pub cost: Option<f64>,
}

impl Usage {
    /// Adds a turn (saturating: counts from outside).
    pub fn add(&mut self, turn: &Usage) {
        self.turns = self.turns.saturating_add(turn.turns);
        self.input = self.input.saturating_add(turn.input);
        self.output = self.output.saturating_add(turn.output);
        self.cached = self.cached.saturating_add(turn.cached);
        if let Some(c) = turn.cost {
            self.cost = Some(self.cost.unwrap_or(0.0) + c);
        }
    }

    /// `session: 14 turns · 52,300 in · 4,120 out · $0.4210`.
    pub fn session_summary(&self) -> String {
        let mut s = format!(
            "session: {} turn{} · {} in · {} out",
            self.turns,
            if self.turns == 1 { "" } else { "s" },
            self.input,
            self.output
        );
        if let Some(c) = self.cost {
            s.push_str(&format!(" · ${c:.4}"));
        }
        s
    }
}

/// What an export becomes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    pub sessions: Vec<AgentSession>,
    pub reports: Vec<Report>,
    /// Log records or spans read.
    pub records: u64,
    /// Of them, those that say nothing of a call (prompts, other events, other spans).
    pub unused: u64,
}

impl Batch {
    fn session(&mut self, key: String, label: String) -> usize {
        match self.sessions.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                self.sessions.push(AgentSession { key, label });
                self.sessions.len() - 1
            }
        }
    }

    fn push(&mut self, session: usize, event: CallEvent<'static>) {
        self.reports.push(Report {
            session,
            event,
            usage: None,
        });
    }
}

/// Attributes, read leniently: agents send numbers as strings and booleans as words.
#[derive(Clone, Copy)]
struct Attrs<'a>(&'a [KeyValue], &'a [KeyValue]);

impl<'a> Attrs<'a> {
    fn any(&self, key: &str) -> Option<&'a Any> {
        self.0
            .iter()
            .chain(self.1.iter())
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        match self.any(key)? {
            Any::StringValue(s) if !s.is_empty() => Some(Cow::Borrowed(s.as_str())),
            Any::IntValue(i) => Some(Cow::Owned(i.to_string())),
            Any::DoubleValue(d) => Some(Cow::Owned(d.to_string())),
            Any::BoolValue(b) => Some(Cow::Owned(b.to_string())),
            _ => None,
        }
    }

    fn number(&self, key: &str) -> Option<f64> {
        let n = match self.any(key)? {
            Any::IntValue(i) => *i as f64,
            Any::DoubleValue(d) => *d,
            Any::StringValue(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        n.is_finite().then_some(n)
    }

    fn flag(&self, key: &str) -> Option<bool> {
        match self.any(key)? {
            Any::BoolValue(b) => Some(*b),
            Any::StringValue(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
            Any::IntValue(i) => Some(*i != 0),
            _ => None,
        }
    }

    /// A JSON value: a string holding JSON (as agents send arguments), or a structured
    /// value.
    fn json(&self, key: &str) -> Option<Value> {
        match self.any(key)? {
            Any::StringValue(s) => {
                Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())))
            }
            other => Some(any_json(other, 0)),
        }
    }
}

/// An attribute value as JSON (nesting bounded).
fn any_json(value: &Any, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    let inner = |v: &AnyValue| {
        v.value
            .as_ref()
            .map_or(Value::Null, |v| any_json(v, depth + 1))
    };
    match value {
        Any::StringValue(s) => Value::String(s.clone()),
        Any::BoolValue(b) => Value::Bool(*b),
        Any::IntValue(i) => Value::from(*i),
        Any::DoubleValue(d) => serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number),
        Any::ArrayValue(a) => Value::Array(a.values.iter().map(inner).collect()),
        Any::KvlistValue(l) => Value::Object(
            l.values
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, inner)))
                .collect(),
        ),
        Any::BytesValue(b) => Value::String(format!("<{} bytes>", b.len())),
        // An index into a profile's string table: nothing to show outside one.
        Any::StringValueStrindex(_) => Value::Null,
    }
}

fn clean(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    crate::sanitize::cut(&one_line, max).into_owned()
}

/// A time in nanoseconds since the epoch (`0`: unknown).
fn at_nanos(nanos: u64) -> Option<Time> {
    (nanos > 0).then(|| Time::from_unix_nanos(i64::try_from(nanos).unwrap_or(i64::MAX)))
}

/// Which agent a resource is: by `service.name`, else by its events' prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agent {
    ClaudeCode,
    Codex,
    Gemini,
}

impl Agent {
    fn from_service(service: &str) -> Option<Agent> {
        match service {
            "claude-code" => Some(Agent::ClaudeCode),
            s if s.starts_with("codex") => Some(Agent::Codex),
            "gemini-cli" | "gemini_cli" => Some(Agent::Gemini),
            _ => None,
        }
    }

    /// The agent and the event's own name (`tool_result`) of a qualified name.
    fn from_event(name: &str) -> Option<(Agent, &str)> {
        if let Some(rest) = name.strip_prefix("claude_code.") {
            return Some((Agent::ClaudeCode, rest));
        }
        if let Some(rest) = name.strip_prefix("codex.") {
            return Some((Agent::Codex, rest));
        }
        if let Some(rest) = name.strip_prefix("gemini_cli.") {
            return Some((Agent::Gemini, rest));
        }
        None
    }

    /// The name the hook and `setup` use: the session key's first part.
    fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini-cli",
        }
    }

    /// The attribute naming the agent's session.
    fn session_attr(self) -> &'static [&'static str] {
        match self {
            Agent::ClaudeCode | Agent::Gemini => &["session.id"],
            Agent::Codex => &["conversation.id", "session.id"],
        }
    }
}

/// The agent session a record belongs to.
fn agent_session(batch: &mut Batch, agent: Agent, attrs: Attrs<'_>) -> usize {
    let id = agent
        .session_attr()
        .iter()
        .find_map(|k| attrs.text(k))
        .map(|id| crate::sanitize::cut(&id, MAX_ID).into_owned());
    let name = agent.name();
    match id {
        Some(id) => {
            let short: String = id.chars().take(8).collect();
            batch.session(
                format!("{name}/{id}"),
                crate::sanitize::cut(&format!("{name} · {short}"), MAX_NAME).into_owned(),
            )
        }
        None => batch.session(format!("{name}/"), name.to_owned()),
    }
}

/// The subagent a tool event of Claude Code came from (`agent_id`, `agent_type`: absent on
/// the main thread).
fn subagent(started: &mut CallEvent<'static>, attrs: Attrs<'_>) {
    let Some(id) = attrs.text("agent_id").filter(|id| !id.is_empty()) else {
        return;
    };
    started.extras.subagent_id = Some(clean(&id, MAX_NAME));
    started.extras.subagent = attrs
        .text("agent_type")
        .filter(|t| !t.is_empty())
        .map(|t| clean(&t, MAX_NAME));
}

fn event(token: String, tool: &str, state: CallState, at: Time) -> CallEvent<'static> {
    CallEvent {
        timestamp: Some(at),
        extras: CallExtras {
            origin: Some(Origin::Otel),
            progress_requested: Some(false),
            ..CallExtras::default()
        },
        ..CallEvent::new(
            Value::String(crate::sanitize::cut(&token, MAX_NAME).into_owned()),
            clean(tool, MAX_NAME),
            state,
        )
    }
}

/// A tool's arguments as the agent sent them (a JSON string or a structured value),
/// redacted, and the short "what" of the call.
fn arguments(
    attrs: Attrs<'_>,
    keys: &[&str],
    tool: &str,
    rules: &Rules,
) -> (Option<Value>, Option<String>) {
    let Some(mut args) = keys.iter().find_map(|k| attrs.json(k)) else {
        return (None, None);
    };
    let what = crate::hook::what(tool, &args, rules);
    rules.value(&mut args);
    (Some(crate::wire::schema::bounded_detail(args).0), what)
}

/// The name of a record's event: the record's own `event_name`, its `event.name`
/// attribute, or its body (the Claude Code and Gemini CLI exporters put it there).
fn event_name<'a>(
    record: &'a opentelemetry_proto::tonic::logs::v1::LogRecord,
    attrs: Attrs<'a>,
) -> Option<Cow<'a, str>> {
    // Rust's tracing bridge (Codex CLI) fills `event_name` with where the event was
    // logged (`event otel/src/tool_result.rs:54`) and names it in `event.name`: a name
    // with a space or a path in it is not the event's.
    let own = &record.event_name;
    if !own.is_empty() && !own.contains([' ', '/']) {
        return Some(Cow::Borrowed(own));
    }
    let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(Any::StringValue(s)) if s.contains('.') && s.len() < 80 => Some(s.as_str()),
        _ => None,
    };
    match (attrs.text("event.name"), body) {
        // `tool_result` beside a body of `claude_code.tool_result`: the qualified one.
        (Some(name), Some(body)) if !name.contains('.') && body.ends_with(name.as_ref()) => {
            Some(Cow::Borrowed(body))
        }
        (Some(name), _) => Some(name),
        (None, body) => body.map(Cow::Borrowed),
    }
}

/// The calls in an export of log records.
pub fn logs(request: &ExportLogsServiceRequest, rules: &Rules) -> Batch {
    let mut batch = Batch::default();
    for resource_logs in &request.resource_logs {
        let resource: &[KeyValue] = resource_logs
            .resource
            .as_ref()
            .map_or(&[], |r| r.attributes.as_slice());
        let service = Attrs(resource, &[]).text("service.name");
        let by_service = service.as_deref().and_then(Agent::from_service);
        for scope in &resource_logs.scope_logs {
            for record in &scope.log_records {
                batch.records += 1;
                let attrs = Attrs(&record.attributes, resource);
                let used = event_name(record, attrs).is_some_and(|name| {
                    let (agent, short) = match Agent::from_event(&name) {
                        Some((agent, short)) => (agent, short),
                        None => match by_service {
                            Some(agent) => (agent, name.as_ref()),
                            None => return false,
                        },
                    };
                    let at = attrs
                        .text("event.timestamp")
                        .and_then(|t| Time::parse_rfc3339(&t))
                        .or_else(|| at_nanos(record.time_unix_nano))
                        .or_else(|| at_nanos(record.observed_time_unix_nano))
                        .unwrap_or_else(Time::now);
                    log_event(&mut batch, agent, short, attrs, at, rules)
                });
                if !used {
                    batch.unused += 1;
                }
            }
        }
    }
    batch
}

/// One agent event; whether it said anything of a call.
fn log_event(
    batch: &mut Batch,
    agent: Agent,
    name: &str,
    attrs: Attrs<'_>,
    at: Time,
    rules: &Rules,
) -> bool {
    let duration = attrs.number("duration_ms").filter(|d| *d >= 0.0);
    let started_at = |end: Time| match duration.and_then(crate::time::delta_from_millis) {
        Some(d) => end - d,
        None => end,
    };
    match (agent, name) {
        (_, "tool_decision") => {
            let Some(token) = tool_token(attrs, None) else {
                return false;
            };
            let tool = tool_name(attrs);
            let session = agent_session(batch, agent, attrs);
            let decision = attrs
                .text("decision")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let (args, what) = arguments(
                attrs,
                &["tool_input", "tool_parameters", "arguments"],
                &tool,
                rules,
            );
            let mut started = event(token.clone(), &tool, CallState::Started, at);
            started.arguments = args;
            started.message = what.clone().map(Cow::Owned);
            subagent(&mut started, attrs);
            batch.push(session, started);
            match decision.as_str() {
                "reject" | "rejected" | "deny" | "denied" | "abort" | "abort_turn" => {
                    let source = attrs.text("source").unwrap_or(Cow::Borrowed("the agent"));
                    let mut ended = event(token, &tool, CallState::Cancelled, at);
                    ended.error = Some(Cow::Owned(clean(
                        &format!("not run: denied ({source})"),
                        MAX_WHAT,
                    )));
                    batch.push(session, ended);
                }
                "ask" | "pending" | "prompt" => {
                    let mut waiting = event(token, &tool, CallState::Waiting, at);
                    waiting.extras.waiting_for = Some(Wait::Permission);
                    waiting.message = what.map(Cow::Owned);
                    batch.push(session, waiting);
                }
                _ => {}
            }
            true
        }
        (Agent::ClaudeCode | Agent::Codex, "tool_result") | (Agent::Gemini, "tool_call") => {
            let tool = tool_name(attrs);
            let Some(token) = tool_token(attrs, Some((&tool, at))) else {
                return false;
            };
            let session = agent_session(batch, agent, attrs);
            let (args, what) = arguments(
                attrs,
                // Claude Code's `tool_input` is the input as the tool took it; its
                // `tool_parameters` a summary (`full_command` for Bash).
                &[
                    "tool_input",
                    "tool_parameters",
                    "arguments",
                    "function_args",
                ],
                &tool,
                rules,
            );
            let mut started = event(token.clone(), &tool, CallState::Started, started_at(at));
            started.arguments = args;
            started.message = what.map(Cow::Owned);
            subagent(&mut started, attrs);
            batch.push(session, started);
            let failed = attrs.flag("success") == Some(false);
            let mut ended = event(
                token,
                &tool,
                if failed {
                    CallState::Failed
                } else {
                    CallState::Finished
                },
                at,
            );
            ended.duration_ms = duration.map(|d| d.round() as u64);
            if failed {
                let why = attrs
                    .text("error")
                    .or_else(|| attrs.text("error.message"))
                    .or_else(|| attrs.text("error_type"))
                    .unwrap_or(Cow::Borrowed("the tool failed"));
                let why = rules.text(&why).unwrap_or_else(|| why.into_owned());
                ended.error = Some(Cow::Owned(clean(&why, crate::wire::schema::MAX_TEXT)));
            }
            batch.push(session, ended);
            true
        }
        (Agent::ClaudeCode, "api_request") | (Agent::Gemini, "api_response") => {
            model_turn(batch, agent, attrs, at, duration)
        }
        // Codex says a turn's tokens when its response completes (no cost, no duration).
        (Agent::Codex, "sse_event")
            if attrs.text("event.kind").as_deref() == Some("response.completed")
                && attrs.number("input_token_count").is_some() =>
        {
            model_turn(batch, agent, attrs, at, duration)
        }
        _ => false,
    }
}

/// A model turn of the agent's, ended at `at`: a row of its own, and the session's totals.
fn model_turn(
    batch: &mut Batch,
    agent: Agent,
    attrs: Attrs<'_>,
    at: Time,
    duration: Option<f64>,
) -> bool {
    let start = match duration.and_then(crate::time::delta_from_millis) {
        Some(d) => at - d,
        None => at,
    };
    let model = attrs
        .text("model")
        .or_else(|| attrs.text("slug"))
        .unwrap_or(Cow::Borrowed("model"));
    let session = agent_session(batch, agent, attrs);
    let token = match attrs.text("event.sequence") {
        Some(n) => format!("turn#{n}"),
        None => format!("turn {}", at.to_datetime().format("%H:%M:%S%.3f")),
    };
    let (summary, usage) = turn_summary(attrs);
    let mut started = event(token.clone(), &model, CallState::Started, start);
    started.extras.origin = Some(Origin::Model);
    started.message = Some(Cow::Owned(summary.clone()));
    batch.push(session, started);
    let mut ended = event(token, &model, CallState::Finished, at);
    ended.extras.origin = Some(Origin::Model);
    ended.duration_ms = duration.map(|d| d.round() as u64);
    ended.message = Some(Cow::Owned(summary));
    batch.reports.push(Report {
        session,
        event: ended,
        usage: Some(usage),
    });
    true
}

/// `1234 in · 56 out · $0.0123`: a model turn's tokens and cost, said and counted.
fn turn_summary(attrs: Attrs<'_>) -> (String, Usage) {
    let count = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| attrs.number(k))
            .map(|n| n.max(0.0) as u64)
    };
    let mut parts = Vec::new();
    let mut usage = Usage {
        turns: 1,
        ..Usage::default()
    };
    if let Some(n) = count(&["input_tokens", "input_token_count"]) {
        parts.push(format!("{n} in"));
        usage.input = n;
    }
    if let Some(n) = count(&["output_tokens", "output_token_count"]) {
        parts.push(format!("{n} out"));
        usage.output = n;
    }
    if let Some(n) = count(&[
        "cache_read_tokens",
        "cached_content_token_count",
        "cached_token_count",
    ])
    .filter(|n| *n > 0)
    {
        parts.push(format!("{n} cached"));
        usage.cached = n;
    }
    if let Some(cost) = attrs
        .number("cost_usd")
        .filter(|c| c.is_finite() && *c >= 0.0)
    {
        parts.push(format!("${cost:.4}"));
        usage.cost = Some(cost);
    }
    let summary = if parts.is_empty() {
        "model turn".to_owned()
    } else {
        parts.join(" · ")
    };
    (summary, usage)
}

/// A tool's name as the agent's hooks name it: an MCP tool reported as `mcp_tool` with
/// its server and tool beside it is `mcp__server__tool`.
fn tool_name(attrs: Attrs<'_>) -> String {
    let name = attrs
        .text("tool_name")
        .or_else(|| attrs.text("function_name"))
        .unwrap_or(Cow::Borrowed("?"));
    if name == "mcp_tool" {
        let server = attrs
            .text("mcp_server_name")
            .or_else(|| attrs.text("mcp_server"));
        let tool = attrs.text("mcp_tool_name");
        if let (Some(server), Some(tool)) = (server, tool) {
            return clean(&format!("mcp__{server}__{tool}"), MAX_NAME);
        }
    }
    clean(&name, MAX_NAME)
}

/// A call's key: the agent's own id for it (`tool_use_id`, `call_id`); a report without
/// one (`fallback`: the tool and its end) keys a row of its own.
fn tool_token(attrs: Attrs<'_>, fallback: Option<(&str, Time)>) -> Option<String> {
    ["tool_use_id", "call_id", "tool_call_id"]
        .iter()
        .find_map(|k| attrs.text(k))
        .map(Cow::into_owned)
        .or_else(|| fallback.map(|(tool, at)| format!("{tool}@{}", at.unix_nanos())))
}

/// The calls in an export of spans: MCP's `tools/call` and GenAI's `execute_tool`.
pub fn spans(request: &ExportTraceServiceRequest, rules: &Rules) -> Batch {
    use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
    let mut batch = Batch::default();
    for resource_spans in &request.resource_spans {
        let resource: &[KeyValue] = resource_spans
            .resource
            .as_ref()
            .map_or(&[], |r| r.attributes.as_slice());
        let service = Attrs(resource, &[])
            .text("service.name")
            .map_or_else(|| "otel".to_owned(), |s| clean(&s, MAX_NAME));
        if service == "mcptop" {
            // mcptop's own export, come back (through a collector): its calls are here.
            for scope in &resource_spans.scope_spans {
                batch.records += scope.spans.len() as u64;
                batch.unused += scope.spans.len() as u64;
            }
            continue;
        }
        for scope in &resource_spans.scope_spans {
            for span in &scope.spans {
                batch.records += 1;
                let attrs = Attrs(&span.attributes, resource);
                let method = attrs.text("mcp.method.name");
                let operation = attrs.text("gen_ai.operation.name");
                let is_tool = method.as_deref() == Some("tools/call")
                    || operation.as_deref() == Some("execute_tool");
                let tool = attrs
                    .text("gen_ai.tool.name")
                    .or_else(|| span_tool(&span.name).map(Cow::Borrowed))
                    .filter(|_| is_tool);
                let (true, Some(tool), Some(start)) =
                    (is_tool, tool, at_nanos(span.start_time_unix_nano))
                else {
                    batch.unused += 1;
                    continue;
                };
                let end = at_nanos(span.end_time_unix_nano).filter(|e| *e >= start);
                let conversation = attrs
                    .text("mcp.session.id")
                    .or_else(|| attrs.text("gen_ai.conversation.id"));
                let session = match conversation {
                    Some(id) => {
                        let id = crate::sanitize::cut(&id, MAX_ID);
                        let short: String = id.chars().take(8).collect();
                        batch.session(
                            format!("{service}/{id}"),
                            clean(&format!("{service} · {short}"), MAX_NAME),
                        )
                    }
                    None => batch.session(format!("{service}/"), service.clone()),
                };
                let token = attrs
                    .text("gen_ai.tool.call.id")
                    .map(Cow::into_owned)
                    .unwrap_or_else(|| const_hex_id(&span.span_id));
                let (args, what) = arguments(attrs, &["gen_ai.tool.call.arguments"], &tool, rules);
                let mut started = event(token.clone(), &tool, CallState::Started, start);
                started.arguments = args;
                started.message = what.map(Cow::Owned);
                batch.push(session, started);
                let Some(end) = end else { continue };
                let status = span.status.as_ref().map(|s| s.code());
                let error_type = attrs.text("error.type");
                let failed = status == Some(StatusCode::Error) || error_type.is_some();
                let mut ended = event(
                    token,
                    &tool,
                    if failed {
                        CallState::Failed
                    } else {
                        CallState::Finished
                    },
                    end,
                );
                ended.duration_ms = u64::try_from((end - start).num_milliseconds()).ok();
                if failed {
                    let message = span
                        .status
                        .as_ref()
                        .map(|s| s.message.as_str())
                        .filter(|m| !m.is_empty());
                    let why = match (error_type.as_deref(), message) {
                        (Some(t), Some(m)) => format!("{t}: {m}"),
                        (Some(t), None) => t.to_owned(),
                        (None, Some(m)) => m.to_owned(),
                        (None, None) => "the tool failed".to_owned(),
                    };
                    let why = rules.text(&why).unwrap_or(why);
                    ended.error = Some(Cow::Owned(clean(&why, crate::wire::schema::MAX_TEXT)));
                }
                batch.push(session, ended);
            }
        }
    }
    batch
}

/// The tool a span's name gives: `tools/call {tool}` (the MCP convention; a client's span
/// may say more before it, `MCP send tools/call {tool}`), `execute_tool {tool}` (GenAI).
fn span_tool(name: &str) -> Option<&str> {
    ["tools/call ", "execute_tool "]
        .iter()
        .find_map(|m| name.find(m).map(|at| &name[at + m.len()..]))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A span id as hex (how every OTel tool shows it).
fn const_hex_id(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(16), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests;
