//! Adding a progress token to an agent's request without touching anything else.

use serde_json::value::RawValue;

/// `text` (a JSON-RPC request object) with `params._meta.progressToken` set to `token`
/// (JSON text), by inserting into the raw text; `None` when `params` or `_meta` is there
/// but not an object, or the text is not an object.
pub(crate) fn insert_progress_token(text: &str, token: &str) -> Option<String> {
    use std::collections::BTreeMap;
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let top: BTreeMap<String, &RawValue> = serde_json::from_str(text).ok()?;
    let mut out = String::with_capacity(text.len() + token.len() + 40);
    let Some(params) = top.get("params") else {
        // Before the closing brace of the request.
        let close = text.rfind('}')?;
        out.push_str(&text[..close]);
        let empty = text[..close].trim_end().ends_with('{');
        if !empty {
            out.push(',');
        }
        out.push_str("\"params\":{\"_meta\":{\"progressToken\":");
        out.push_str(token);
        out.push_str("}}");
        out.push_str(&text[close..]);
        return Some(out);
    };
    let params_at = offset(params);
    let inner: BTreeMap<String, &RawValue> = serde_json::from_str(params.get()).ok()?;
    let (object_at, object, insert) = match inner.get("_meta") {
        Some(meta) => {
            let fields: BTreeMap<String, &RawValue> = serde_json::from_str(meta.get()).ok()?;
            if let Some(old) = fields.get("progressToken") {
                // There but unusable (null, an object): replace just that value.
                let at = offset(old);
                out.push_str(&text[..at]);
                out.push_str(token);
                out.push_str(&text[at + old.get().len()..]);
                return Some(out);
            }
            (
                offset(meta),
                meta.get(),
                format!("\"progressToken\":{token}"),
            )
        }
        None => (
            params_at,
            params.get(),
            format!("\"_meta\":{{\"progressToken\":{token}}}"),
        ),
    };
    // Right after the object's `{`.
    let open = object_at + object.find('{')? + 1;
    let empty = object[object.find('{')? + 1..]
        .trim_start()
        .starts_with('}');
    out.push_str(&text[..open]);
    out.push_str(&insert);
    if !empty {
        out.push(',');
    }
    out.push_str(&text[open..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_inserted_and_every_other_byte_kept() {
        let t = r#""mcptop-1""#;
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"n":123456789012345678901234567890,"z":1,"a":2}}}"#,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"},"name":"x","arguments":{"n":123456789012345678901234567890,"z":1,"a":2}}}"#,
            ),
            (
                r#"{ "method" : "tools/call", "id": 2, "params": { "_meta": { "other": 1.50 }, "name": "y" } }"#,
                r#"{ "method" : "tools/call", "id": 2, "params": { "_meta": {"progressToken":"mcptop-1", "other": 1.50 }, "name": "y" } }"#,
            ),
            (
                r#"{"id":3,"method":"tools/call","params":{"_meta":{}}}"#,
                r#"{"id":3,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"}}}"#,
            ),
            (
                r#"{"id":4,"method":"tools/call","params":{}}"#,
                r#"{"id":4,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"}}}"#,
            ),
            (
                r#"{"id":5,"method":"tools/call"}"#,
                r#"{"id":5,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"}}}"#,
            ),
            (
                r#"{"id":6,"method":"tools/call","params":{"_meta":{"progressToken":null,"b":[1.10E+2]}}}"#,
                r#"{"id":6,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1","b":[1.10E+2]}}}"#,
            ),
            (
                r#"{"id":7,"params":{"name":"é\u00e9 {}"},"method":"tools/call"}"#,
                r#"{"id":7,"params":{"_meta":{"progressToken":"mcptop-1"},"name":"é\u00e9 {}"},"method":"tools/call"}"#,
            ),
        ];
        for (before, after) in cases {
            assert_eq!(
                insert_progress_token(before, t).as_deref(),
                Some(after),
                "{before}"
            );
            let v: serde_json::Value = serde_json::from_str(after).unwrap();
            assert_eq!(v["params"]["_meta"]["progressToken"], "mcptop-1");
        }
        for refused in [
            r#"{"id":1,"params":[1]}"#,
            r#"{"id":1,"params":{"_meta":3}}"#,
            "[1]",
            "nope",
        ] {
            assert_eq!(insert_progress_token(refused, t), None, "{refused}");
        }
    }
}
