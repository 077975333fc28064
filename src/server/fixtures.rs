//! The conformance suite's tool fixtures (`@modelcontextprotocol/conformance`, its
//! `tools-call-*`, `json-schema-2020-12` and `http-custom-header-server-validation`
//! scenarios), so `mcptop serve` is a complete test server for MCP clients: every content
//! type, logging, an error, and a JSON Schema 2020-12 input schema.

use std::time::Duration;

use serde_json::{json, Value};

use super::tool_context::{Asked, Cancelled, Outcome, TaskSupport, ToolContext};

/// A 1×1 red pixel.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
/// Eight samples of silence, 8 kHz mono.
const WAV: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

pub const NAMES: &[&str] = &[
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_tool_with_logging",
    "json_schema_2020_12_tool",
    "test_missing_capability",
    "test_streaming_elicitation",
    "test_logging_tool",
    "greet",
    "slow_compute",
    "failing_job",
    "protocol_error_job",
    "confirm_delete",
    "test_header_echo",
    "test_sampling",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
    "multi_input",
    "test_tool_with_task",
    "test_input_required_result_elicitation",
    "test_input_required_result_sampling",
    "test_input_required_result_list_roots",
    "test_input_required_result_request_state",
    "test_input_required_result_multiple_inputs",
    "test_input_required_result_multi_round",
    "test_input_required_result_tampered_state",
    "test_input_required_result_capabilities",
];

/// The fixtures' task support (the other tools': see `tools::task_support`).
pub fn task_support(name: &str) -> Option<TaskSupport> {
    Some(match name {
        "slow_compute"
        | "protocol_error_job"
        | "confirm_delete"
        | "multi_input"
        | "test_tool_with_task" => TaskSupport::Optional,
        "failing_job" => TaskSupport::Required,
        n if exists(n) => TaskSupport::Forbidden,
        _ => return None,
    })
}

/// Whether a task-supporting tool becomes a task with the answers `known` so far: one
/// that gathers its input first (MCP 2026-07-28 rounds) becomes a task on its last round.
pub fn ready_for_task(name: &str, known: impl Fn(&str) -> bool) -> bool {
    name != "test_tool_with_task" || known("user_name")
}

/// A client capability the tool cannot run without (MCP 2026-07-28 checks it).
pub fn required_capability(name: &str) -> Option<&'static str> {
    (name == "test_missing_capability").then_some("sampling")
}

/// Their `tools/list` entries.
pub fn list() -> Vec<Value> {
    let none = || json!({ "type": "object", "properties": {} });
    let tool = |name: &str, description: &str| json!({ "name": name, "description": description, "inputSchema": none() });
    vec![
        tool("test_simple_text", "Returns one text content"),
        tool("test_image_content", "Returns a PNG image content"),
        tool("test_audio_content", "Returns a WAV audio content"),
        tool(
            "test_embedded_resource",
            "Returns an embedded text resource",
        ),
        tool(
            "test_multiple_content_types",
            "Returns text, an image and an embedded resource",
        ),
        tool(
            "test_tool_with_logging",
            "Logs three messages at info level, 50 ms apart, then returns",
        ),
        json!({
            "name": "json_schema_2020_12_tool",
            "description": "Tool with JSON Schema 2020-12 features",
            "inputSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "$anchor": "addressDef",
                        "type": "object",
                        "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
                    }
                },
                "properties": {
                    "name": { "type": "string" },
                    "address": { "$ref": "#/$defs/address" },
                    "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                    "phone": { "type": "string" },
                    "email": { "type": "string" }
                },
                "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
                "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
                "then": { "required": ["phone"] },
                "else": { "required": ["email"] },
                "additionalProperties": false
            }
        }),
        tool(
            "test_missing_capability",
            "Needs the client's sampling capability (MCP 2026-07-28: refused without it)",
        ),
        tool(
            "test_streaming_elicitation",
            "Streams a progress notification, then its result",
        ),
        tool(
            "test_logging_tool",
            "Logs a line at info level (sent only when the request sets a log level)",
        ),
        json!({
            "name": "greet",
            "description": "Says hello; never runs as a task",
            "inputSchema": { "type": "object", "properties": { "name": { "type": "string" } } }
        }),
        json!({
            "name": "slow_compute",
            "description": "Sleeps `seconds` (0 for an immediate answer), then returns; runs as a task when the client can",
            "inputSchema": { "type": "object", "properties": { "seconds": { "type": "number", "minimum": 0 } } }
        }),
        tool(
            "failing_job",
            "A task that fails as a tool after about a second",
        ),
        tool(
            "protocol_error_job",
            "A task that breaks: a JSON-RPC error, not a tool result",
        ),
        tool(
            "confirm_delete",
            "Asks the client to confirm (input_required), then deletes or keeps",
        ),
        json!({
            "name": "test_header_echo",
            "description": "Echoes its region; the region travels in the Mcp-Param-Region header too (x-mcp-header)",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "region": { "type": "string", "x-mcp-header": "Region", "description": "Any text" }
                }
            }
        }),
        json!({
            "name": "test_sampling",
            "description": "Asks the client's model (sampling/createMessage) and returns its answer",
            "inputSchema": { "type": "object", "properties": { "prompt": { "type": "string" } }, "required": ["prompt"] }
        }),
        json!({
            "name": "test_elicitation",
            "description": "Asks the user (elicitation/create) for a username and an email, and returns the answer",
            "inputSchema": { "type": "object", "properties": { "message": { "type": "string" } }, "required": ["message"] }
        }),
        tool(
            "test_elicitation_sep1034_defaults",
            "Asks the user with a form whose fields have defaults (SEP-1034)",
        ),
        tool(
            "test_elicitation_sep1330_enums",
            "Asks the user with every kind of enum field (SEP-1330)",
        ),
        tool(
            "multi_input",
            "Asks the user two questions at once (as a task: input_required with two keys)",
        ),
        tool(
            "test_tool_with_task",
            "Asks the user's name (MCP 2026-07-28: input_required), then greets them as a task",
        ),
        tool(
            "test_input_required_result_elicitation",
            "Asks the user's name (input_required with an elicitation), then greets them",
        ),
        tool(
            "test_input_required_result_sampling",
            "Asks the client's model a question (input_required with sampling)",
        ),
        tool(
            "test_input_required_result_list_roots",
            "Asks for the client's roots (input_required with roots/list)",
        ),
        tool(
            "test_input_required_result_request_state",
            "Asks for a confirmation; the answer comes back with the signed requestState",
        ),
        tool(
            "test_input_required_result_multiple_inputs",
            "Asks the user, the client's model and the client's roots at once",
        ),
        tool(
            "test_input_required_result_multi_round",
            "Asks two questions, one round each",
        ),
        tool(
            "test_input_required_result_tampered_state",
            "Asks for a confirmation; a changed requestState is refused",
        ),
        tool(
            "test_input_required_result_capabilities",
            "Asks only what the client declared it can answer (elicitation, sampling)",
        ),
    ]
}

pub fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

/// An elicitation of one form.
fn elicit(message: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "message": message,
            "requestedSchema": { "type": "object", "properties": properties, "required": required }
        }
    })
}

/// A sampling request of one user message.
fn sample(text: &str, max_tokens: u32) -> Value {
    json!({
        "method": "sampling/createMessage",
        "params": {
            "messages": [{ "role": "user", "content": { "type": "text", "text": text } }],
            "maxTokens": max_tokens
        }
    })
}

fn roots() -> Value {
    json!({ "method": "roots/list", "params": {} })
}

/// An accepted elicitation's field `name` (as text).
fn field(answer: &Value, name: &str) -> Option<String> {
    (answer["action"] == "accept")
        .then(|| match &answer["content"][name] {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
        .flatten()
}

/// The text a sampling answer gave.
fn sampled(answer: &Value) -> String {
    match &answer["content"] {
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        one => one["text"].as_str().unwrap_or("").to_owned(),
    }
}

/// The roots' URIs.
fn root_uris(answer: &Value) -> String {
    answer["roots"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| r["uri"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Asks, and goes on with the answers (or says why the call ends here).
macro_rules! ask {
    ($ctx:expr, $questions:expr) => {
        match $ctx.ask_all($questions).await {
            Err(c) => return Some(Err(c)),
            Ok(Asked::Later(requests)) => return Some(Ok(Outcome::InputRequired(requests))),
            Ok(Asked::Refused(why)) => return Some(Ok(Outcome::Failed(why))),
            Ok(Asked::Answers(answers)) => answers,
        }
    };
}

fn one(key: &str, request: Value) -> Vec<(String, Value)> {
    vec![(key.to_owned(), request)]
}

fn content(items: Value) -> Outcome {
    Outcome::Content(json!({ "content": items }))
}

/// Runs fixture `name`; `None` when it is not one.
pub async fn run(
    name: &str,
    args: &Value,
    ctx: &ToolContext,
) -> Option<Result<Outcome, Cancelled>> {
    let image = json!({ "type": "image", "data": PNG, "mimeType": "image/png" });
    Some(Ok(match name {
        "test_simple_text" => content(json!([
            { "type": "text", "text": "This is a simple text response for testing." }
        ])),
        "test_image_content" => content(json!([image])),
        "test_audio_content" => content(json!([
            { "type": "audio", "data": WAV, "mimeType": "audio/wav" }
        ])),
        "test_embedded_resource" => content(json!([{
            "type": "resource",
            "resource": {
                "uri": "test://embedded-resource",
                "mimeType": "text/plain",
                "text": "This is an embedded resource content."
            }
        }])),
        "test_multiple_content_types" => content(json!([
            { "type": "text", "text": "Multiple content types test:" },
            image,
            {
                "type": "resource",
                "resource": {
                    "uri": "test://mixed-content-resource",
                    "mimeType": "application/json",
                    "text": "{\"test\":\"data\",\"value\":123}"
                }
            }
        ])),
        "test_tool_with_logging" => {
            ctx.log("info", "Tool execution started");
            if let Err(c) = ctx.sleep(Duration::from_millis(50)).await {
                return Some(Err(c));
            }
            ctx.log("info", "Tool processing data");
            if let Err(c) = ctx.sleep(Duration::from_millis(50)).await {
                return Some(Err(c));
            }
            ctx.log("info", "Tool execution completed");
            Outcome::Done("test_tool_with_logging completed".to_owned())
        }
        "json_schema_2020_12_tool" => content(json!([{ "type": "text", "text": "ok" }])),
        "test_header_echo" => {
            let region = args.get("region").and_then(Value::as_str).unwrap_or("");
            Outcome::Done(format!("region: {region}"))
        }
        "test_missing_capability" => Outcome::Done("the client can sample".to_owned()),
        "test_streaming_elicitation" => {
            ctx.progress(1.0, Some(1.0), "streamed");
            Outcome::Done("test_streaming_elicitation completed".to_owned())
        }
        "test_logging_tool" => {
            ctx.log("info", "test_logging_tool ran");
            Outcome::Done("test_logging_tool completed".to_owned())
        }
        "greet" => {
            let name = args.get("name").and_then(Value::as_str).unwrap_or("world");
            Outcome::Done(format!("Hello, {name}!"))
        }
        "slow_compute" => {
            let seconds = args
                .get("seconds")
                .and_then(Value::as_f64)
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(1.0)
                .min(3600.0);
            let whole = Duration::from_millis((seconds * 1000.0) as u64);
            let steps = 10u32;
            for i in 1..=steps {
                if let Err(c) = ctx.sleep(whole / steps).await {
                    return Some(Err(c));
                }
                ctx.progress(f64::from(i), Some(f64::from(steps)), "");
            }
            Outcome::Done(format!("computed for {seconds} s"))
        }
        "failing_job" => {
            if let Err(c) = ctx.sleep(Duration::from_secs(1)).await {
                return Some(Err(c));
            }
            Outcome::Failed("failing_job failed, as it always does".to_owned())
        }
        "protocol_error_job" => Outcome::Error {
            code: -32603,
            message: "Internal error: protocol_error_job broke".to_owned(),
        },
        "test_sampling" => {
            let prompt = args["prompt"].as_str().unwrap_or("Hello");
            let answers = ask!(ctx, one("answer", sample(prompt, 100)));
            Outcome::Done(format!("LLM response: {}", sampled(&answers[0])))
        }
        "test_elicitation" => {
            let message = args["message"]
                .as_str()
                .unwrap_or("Please provide your information");
            let request = elicit(
                message,
                json!({
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" }
                }),
                &["username", "email"],
            );
            let answers = ask!(ctx, one("user_info", request));
            Outcome::Done(format!(
                "User response: action={}, content={}",
                answers[0]["action"].as_str().unwrap_or("?"),
                answers[0].get("content").cloned().unwrap_or(Value::Null)
            ))
        }
        "test_elicitation_sep1034_defaults" | "test_elicitation_sep1330_enums" => {
            let properties = if name == "test_elicitation_sep1034_defaults" {
                json!({
                    "name": { "type": "string", "description": "User name", "default": "John Doe" },
                    "age": { "type": "integer", "description": "User age", "default": 30 },
                    "score": { "type": "number", "description": "User score", "default": 95.5 },
                    "status": {
                        "type": "string", "description": "User status",
                        "enum": ["active", "inactive", "pending"], "default": "active"
                    },
                    "verified": { "type": "boolean", "description": "Verification status", "default": true }
                })
            } else {
                json!({
                    "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                    "titledSingle": { "type": "string", "oneOf": [
                        { "const": "value1", "title": "First Option" },
                        { "const": "value2", "title": "Second Option" },
                        { "const": "value3", "title": "Third Option" }
                    ]},
                    "legacyEnum": {
                        "type": "string", "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"]
                    },
                    "untitledMulti": { "type": "array", "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
                    "titledMulti": { "type": "array", "items": { "anyOf": [
                        { "const": "value1", "title": "First Choice" },
                        { "const": "value2", "title": "Second Choice" },
                        { "const": "value3", "title": "Third Choice" }
                    ]}}
                })
            };
            let request = elicit("Please review and update the form fields", properties, &[]);
            let answers = ask!(ctx, one("form", request));
            Outcome::Done(format!(
                "Elicitation completed: action={}, content={}",
                answers[0]["action"].as_str().unwrap_or("?"),
                answers[0].get("content").cloned().unwrap_or(Value::Null)
            ))
        }
        "confirm_delete" => {
            let mut question = elicit(
                "Delete the file?",
                json!({ "confirm": { "type": "boolean" } }),
                &["confirm"],
            );
            question["params"]["mode"] = json!("form");
            let answers = ask!(ctx, one("confirm", question));
            let yes = field(&answers[0], "confirm").as_deref() == Some("true");
            Outcome::Done(if yes { "deleted" } else { "kept" }.to_owned())
        }
        "multi_input" => {
            let answers = ask!(
                ctx,
                vec![
                    (
                        "name".to_owned(),
                        elicit(
                            "Your name?",
                            json!({ "name": { "type": "string" } }),
                            &["name"]
                        )
                    ),
                    (
                        "confirm".to_owned(),
                        elicit(
                            "Go ahead?",
                            json!({ "confirm": { "type": "boolean" } }),
                            &["confirm"]
                        )
                    ),
                ]
            );
            let name = field(&answers[0], "name").unwrap_or_else(|| "nobody".into());
            let go = field(&answers[1], "confirm").as_deref() == Some("true");
            Outcome::Done(format!(
                "{name}: {}",
                if go { "went ahead" } else { "stopped" }
            ))
        }
        "test_tool_with_task" | "test_input_required_result_elicitation" => {
            let request = elicit(
                "What is your name?",
                json!({ "name": { "type": "string" } }),
                &["name"],
            );
            let answers = ask!(ctx, one("user_name", request));
            let Some(who) = field(&answers[0], "name") else {
                return Some(Ok(Outcome::Done("the user gave no name".to_owned())));
            };
            if name == "test_tool_with_task" {
                ctx.progress(0.0, Some(1.0), "greeting");
                if let Err(c) = ctx.sleep(Duration::from_millis(300)).await {
                    return Some(Err(c));
                }
                ctx.progress(1.0, Some(1.0), "");
            }
            Outcome::Done(format!("Hello, {who}!"))
        }
        "test_input_required_result_sampling" => {
            let answers = ask!(
                ctx,
                one(
                    "capital_question",
                    sample("What is the capital of France?", 100)
                )
            );
            Outcome::Done(format!("The model answered: {}", sampled(&answers[0])))
        }
        "test_input_required_result_list_roots" => {
            let answers = ask!(ctx, one("client_roots", roots()));
            Outcome::Done(format!("The client's roots: {}", root_uris(&answers[0])))
        }
        "test_input_required_result_request_state"
        | "test_input_required_result_tampered_state" => {
            let request = elicit(
                "Please confirm",
                json!({ "ok": { "type": "boolean" } }),
                &["ok"],
            );
            let answers = ask!(ctx, one("confirm", request));
            let ok = field(&answers[0], "ok").as_deref() == Some("true");
            // The answer came back through a state this server signed and checked.
            let checked = ctx.mrtr.as_ref().is_some_and(|m| m.continues.is_some());
            Outcome::Done(format!(
                "{}confirmed: {ok}",
                if checked { "state-ok, " } else { "" }
            ))
        }
        "test_input_required_result_multiple_inputs" => {
            let answers = ask!(
                ctx,
                vec![
                    (
                        "user_name".to_owned(),
                        elicit(
                            "What is your name?",
                            json!({ "name": { "type": "string" } }),
                            &["name"]
                        )
                    ),
                    ("greeting".to_owned(), sample("Generate a greeting", 50)),
                    ("client_roots".to_owned(), roots()),
                ]
            );
            Outcome::Done(format!(
                "{} to {} (roots: {})",
                sampled(&answers[1]),
                field(&answers[0], "name").unwrap_or_else(|| "nobody".into()),
                root_uris(&answers[2])
            ))
        }
        "test_input_required_result_multi_round" => {
            let first = ask!(
                ctx,
                one(
                    "step1",
                    elicit(
                        "Step 1: What is your name?",
                        json!({ "name": { "type": "string" } }),
                        &["name"]
                    )
                )
            );
            let second = ask!(
                ctx,
                one(
                    "step2",
                    elicit(
                        "Step 2: What is your favorite color?",
                        json!({ "color": { "type": "string" } }),
                        &["color"]
                    )
                )
            );
            Outcome::Done(format!(
                "{} likes {}",
                field(&first[0], "name").unwrap_or_else(|| "nobody".into()),
                field(&second[0], "color").unwrap_or_else(|| "no color".into())
            ))
        }
        "test_input_required_result_capabilities" => {
            // Only what the client said it can answer is asked.
            let can = |method: &str| ctx.mrtr.as_ref().is_none_or(|m| m.can(method));
            let mut questions = Vec::new();
            if can("elicitation/create") {
                questions.push((
                    "user_name".to_owned(),
                    elicit(
                        "What is your name?",
                        json!({ "name": { "type": "string" } }),
                        &["name"],
                    ),
                ));
            }
            if can("sampling/createMessage") {
                questions.push(("greeting".to_owned(), sample("Generate a greeting", 50)));
            }
            if questions.is_empty() {
                return Some(Ok(Outcome::Done(
                    "nothing asked: the client can answer neither elicitation nor sampling"
                        .to_owned(),
                )));
            }
            let answers = ask!(ctx, questions);
            Outcome::Done(format!("{} answers", answers.len()))
        }
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_names_are_the_listed_tools_in_order() {
        let listed: Vec<String> = super::list()
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(listed, super::NAMES);
    }
}
