//! The conformance suite's tool fixtures (`@modelcontextprotocol/conformance`, its
//! `tools-call-*`, `json-schema-2020-12` and `http-custom-header-server-validation`
//! scenarios), so `mcptop serve` is a complete test server for MCP clients: every content
//! type, logging, an error, and a JSON Schema 2020-12 input schema.

use std::time::Duration;

use serde_json::{json, Value};

use super::tools::{Cancelled, Outcome, ToolContext};

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
    "test_header_echo",
];

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
    ]
}

pub fn exists(name: &str) -> bool {
    NAMES.contains(&name)
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
        _ => return None,
    }))
}
