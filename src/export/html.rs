//! `mcptop export --format html`: the session's [`Document`] as ONE page that works offline
//! and can be attached to a bug report: the header and findings, the per-tool figures, a
//! waterfall of every call (zoom, pan, hover) and each call's detail.
//!
//! The page is a fixed template (`report.html`, `report.css`, `report.js`, compiled in)
//! with the document embedded as JSON in a non-executed `<script type="application/json">`
//! block. What came from outside is never markup: the script puts it on the page as text
//! nodes only, and the embedded JSON has `<`, `>` and `&` escaped so no text can close its
//! block. The Content-Security-Policy allows exactly the page's own script and style (by
//! their SHA-256) and nothing from any network.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::document::Document;

const TEMPLATE: &str = include_str!("report.html");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The policy: no source at all but the page's own script and style.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src data:; base-uri 'none'; \
         form-action 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    )
}

/// Text for an HTML text or attribute position.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: nothing in it can end the element or open a
/// comment, whatever the strings hold. `<`, `>` and `&` only ever occur inside JSON strings,
/// where their `\u` escapes mean the same.
fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page.
pub fn render(document: &Document) -> Result<String, serde_json::Error> {
    let data = script_safe_json(&serde_json::to_string(document)?);
    // Each placeholder is filled once, in the template's order, so nothing filled in is
    // read again as a placeholder.
    let fills: [(&str, String); 6] = [
        ("{{CSP}}", escape_html(&content_security_policy())),
        ("{{VERSION}}", env!("CARGO_PKG_VERSION").to_owned()),
        (
            "{{TITLE}}",
            escape_html(&format!("{} — mcptop", document.title)),
        ),
        ("{{STYLE}}", STYLE.to_owned()),
        ("{{DATA}}", data),
        ("{{SCRIPT}}", SCRIPT.to_owned()),
    ];
    let mut out =
        String::with_capacity(TEMPLATE.len() + STYLE.len() + SCRIPT.len() + fills[4].1.len());
    let mut rest = TEMPLATE;
    for (mark, value) in &fills {
        let Some(at) = rest.find(mark) else {
            debug_assert!(false, "the template lacks {mark}");
            continue;
        };
        out.push_str(&rest[..at]);
        out.push_str(value);
        rest = &rest[at + mark.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_text_can_close_the_data_block() {
        let json = serde_json::to_string(&serde_json::json!({
            "a": "</script><script>alert(1)</script><!--",
            "b": "x & y > z\u{2028}"
        }))
        .unwrap_or_default();
        let safe = script_safe_json(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back["a"], "</script><script>alert(1)</script><!--");
        assert_eq!(back["b"], "x & y > z\u{2028}");
    }

    #[test]
    fn the_title_is_text() {
        assert_eq!(
            escape_html("<b>\"a\" & 'b'\u{1b}[31m"),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;\u{fffd}[31m"
        );
    }

    #[test]
    fn the_template_has_every_placeholder_once_in_order() {
        let marks = [
            "{{CSP}}",
            "{{VERSION}}",
            "{{TITLE}}",
            "{{STYLE}}",
            "{{DATA}}",
            "{{SCRIPT}}",
        ];
        let mut from = 0;
        for mark in marks {
            assert_eq!(TEMPLATE.matches(mark).count(), 1, "{mark}");
            let at = TEMPLATE.find(mark).unwrap_or(0);
            assert!(at >= from, "{mark} out of order");
            from = at;
        }
        // The script's own text never holds a closing tag that would end it early.
        assert!(!SCRIPT.contains("</script") && !STYLE.contains("</style"));
    }

    #[test]
    fn the_policy_pins_the_script_and_style_and_allows_no_network() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"));
        assert!(csp.contains(&csp_hash(SCRIPT)) && csp.contains(&csp_hash(STYLE)));
        assert!(!csp.contains("http") && !csp.contains("unsafe"));
    }
}
