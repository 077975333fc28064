//! Resources, prompts and completion: the conformance suite's fixtures for them
//! (`@modelcontextprotocol/conformance`: `resources-*`, `prompts-*`, `completion-complete`,
//! `sep-2164-resource-not-found`), so that `mcptop serve` is a complete test server for
//! an MCP client, at 2025-11-25 and at 2026-07-28. Pure: a request's params in, its result
//! (or its JSON-RPC error) out.

use serde_json::{json, Value};

/// A 1×1 red pixel.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

const TEMPLATE_PREFIX: &str = "test://template/";
const TEMPLATE_SUFFIX: &str = "/data";

/// A JSON-RPC error: code, message, data.
pub type RpcError = (i64, String, Option<Value>);

/// What `initialize` (2025-11-25) and `server/discover` (2026-07-28) add to the tools'
/// capabilities. `subscribe`: the revision has `resources/subscribe`.
pub fn capabilities(subscribe: bool) -> Value {
    json!({
        "prompts": { "listChanged": false },
        "resources": { "subscribe": subscribe, "listChanged": false },
        "completions": {},
    })
}

pub fn resources() -> Value {
    json!({ "resources": [
        {
            "uri": "test://static-text",
            "name": "static-text",
            "description": "A text resource that never changes",
            "mimeType": "text/plain",
        },
        {
            "uri": "test://static-binary",
            "name": "static-binary",
            "description": "A 1×1 PNG image",
            "mimeType": "image/png",
        },
        {
            "uri": "test://watched-resource",
            "name": "watched-resource",
            "description": "A text resource a client may subscribe to",
            "mimeType": "text/plain",
        },
    ]})
}

pub fn resource_templates() -> Value {
    json!({ "resourceTemplates": [{
        "uriTemplate": "test://template/{id}/data",
        "name": "template-data",
        "description": "JSON data for any id",
        "mimeType": "application/json",
    }]})
}

/// `resources/read`: the resource `params.uri` names; a URI that names none is an error
/// (-32602, the URI in its data: SEP-2164), never empty contents.
pub fn read(params: &Value) -> Result<Value, RpcError> {
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return Err((-32602, "Invalid params: uri is required".into(), None));
    };
    let content = match uri {
        "test://static-text" => json!({
            "uri": uri, "mimeType": "text/plain",
            "text": "This is the content of the static text resource.",
        }),
        "test://static-binary" => json!({ "uri": uri, "mimeType": "image/png", "blob": PNG }),
        "test://watched-resource" => json!({
            "uri": uri, "mimeType": "text/plain", "text": "The watched resource, as it is now.",
        }),
        _ => match template_id(uri) {
            Some(id) => json!({
                "uri": uri,
                "mimeType": "application/json",
                "text": json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                    .to_string(),
            }),
            None => {
                return Err((
                    -32602,
                    "Resource not found".into(),
                    Some(json!({ "uri": uri })),
                ))
            }
        },
    };
    Ok(json!({ "contents": [content] }))
}

/// The `{id}` of `test://template/{id}/data`: one non-empty path segment.
fn template_id(uri: &str) -> Option<&str> {
    let id = uri
        .strip_prefix(TEMPLATE_PREFIX)?
        .strip_suffix(TEMPLATE_SUFFIX)?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// `resources/subscribe` and `resources/unsubscribe` (2025-11-25): a resource that exists
/// is accepted (nothing here ever changes, so no update is ever sent).
pub fn subscription(params: &Value) -> Result<Value, RpcError> {
    read(params).map(|_| json!({}))
}

pub fn prompts() -> Value {
    json!({ "prompts": [
        { "name": "test_simple_prompt", "description": "A prompt without arguments" },
        {
            "name": "test_prompt_with_arguments",
            "description": "A prompt with two arguments",
            "arguments": [
                { "name": "arg1", "description": "First test argument", "required": true },
                { "name": "arg2", "description": "Second test argument", "required": true },
            ],
        },
        {
            "name": "test_prompt_with_embedded_resource",
            "description": "A prompt that embeds a resource",
            "arguments": [
                { "name": "resourceUri", "description": "URI of the resource to embed", "required": true },
            ],
        },
        { "name": "test_prompt_with_image", "description": "A prompt with an image" },
    ]})
}

/// `prompts/get`.
pub fn prompt(params: &Value) -> Result<Value, RpcError> {
    let name = params.get("name").and_then(Value::as_str).unwrap_or("");
    let arguments = params.get("arguments");
    let argument = |key: &str| -> Result<String, RpcError> {
        arguments
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                (
                    -32602,
                    format!("Invalid params: argument {key} is required"),
                    None,
                )
            })
    };
    let text = |t: &str| json!({ "role": "user", "content": { "type": "text", "text": t } });
    let messages = match name {
        "test_simple_prompt" => vec![text("This is a simple prompt for testing.")],
        "test_prompt_with_arguments" => {
            let (a, b) = (argument("arg1")?, argument("arg2")?);
            vec![text(&format!(
                "Prompt with arguments: arg1='{a}', arg2='{b}'"
            ))]
        }
        "test_prompt_with_embedded_resource" => {
            let uri = argument("resourceUri")?;
            vec![
                json!({ "role": "user", "content": { "type": "resource", "resource": {
                    "uri": uri, "mimeType": "text/plain",
                    "text": "Embedded resource content for testing.",
                }}}),
                text("Please process the embedded resource above."),
            ]
        }
        "test_prompt_with_image" => vec![
            json!({ "role": "user", "content": { "type": "image", "data": PNG, "mimeType": "image/png" } }),
            text("Please analyze the image above."),
        ],
        _ => {
            return Err((
                -32602,
                format!("Invalid params: no prompt named {name:?}"),
                None,
            ))
        }
    };
    Ok(json!({ "messages": messages }))
}

/// Words `completion/complete` offers, matched by prefix.
const WORDS: &[&str] = &["paris", "park", "party", "test", "testing", "tests"];

/// `completion/complete`: the words that start with what the argument holds so far.
pub fn complete(params: &Value) -> Result<Value, RpcError> {
    let kind = params
        .get("ref")
        .and_then(|r| r.get("type"))
        .and_then(Value::as_str);
    if !matches!(kind, Some("ref/prompt" | "ref/resource")) {
        return Err((
            -32602,
            "Invalid params: ref must be a ref/prompt or a ref/resource".into(),
            None,
        ));
    }
    let value = params
        .get("argument")
        .and_then(|a| a.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let values: Vec<&str> = WORDS
        .iter()
        .copied()
        .filter(|w| w.starts_with(value))
        .collect();
    Ok(json!({ "completion": { "values": values, "total": values.len(), "hasMore": false } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_listed_reads_and_a_missing_one_is_an_error_naming_it() {
        for resource in resources()["resources"].as_array().unwrap() {
            let uri = resource["uri"].as_str().unwrap();
            let read = read(&json!({ "uri": uri })).unwrap();
            assert_eq!(read["contents"][0]["uri"], uri);
            assert_eq!(read["contents"][0]["mimeType"], resource["mimeType"]);
        }
        let data = read(&json!({ "uri": "test://template/123/data" })).unwrap();
        let text = data["contents"][0]["text"].as_str().unwrap();
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed,
            json!({"id":"123","templateTest":true,"data":"Data for ID: 123"})
        );
        for missing in [
            "test://nope",
            "test://template//data",
            "test://template/a/b/data",
        ] {
            let (code, _, data) = read(&json!({ "uri": missing })).unwrap_err();
            assert_eq!((code, data), (-32602, Some(json!({ "uri": missing }))));
        }
        assert!(read(&json!({})).is_err());
        assert!(subscription(&json!({ "uri": "test://watched-resource" })).is_ok());
    }

    #[test]
    fn prompts_substitute_their_arguments_and_refuse_what_is_missing() {
        let got = prompt(&json!({
            "name": "test_prompt_with_arguments",
            "arguments": { "arg1": "hello", "arg2": "world" }
        }))
        .unwrap();
        assert_eq!(
            got["messages"][0]["content"]["text"],
            "Prompt with arguments: arg1='hello', arg2='world'"
        );
        let embedded = prompt(&json!({
            "name": "test_prompt_with_embedded_resource",
            "arguments": { "resourceUri": "test://x" }
        }))
        .unwrap();
        assert_eq!(
            embedded["messages"][0]["content"]["resource"]["uri"],
            "test://x"
        );
        for listed in prompts()["prompts"].as_array().unwrap() {
            let name = listed["name"].as_str().unwrap();
            let needs = listed.get("arguments").is_some();
            assert_eq!(prompt(&json!({ "name": name })).is_err(), needs, "{name}");
        }
        assert!(prompt(&json!({ "name": "nope" })).is_err());
        let done = complete(&json!({
            "ref": { "type": "ref/prompt", "name": "test_prompt_with_arguments" },
            "argument": { "name": "arg1", "value": "par" }
        }))
        .unwrap();
        assert_eq!(
            done["completion"]["values"],
            json!(["paris", "park", "party"])
        );
        assert!(complete(&json!({ "ref": { "type": "ref/tool" } })).is_err());
    }
}
