//! Edits of JSON text that keep every byte they do not change: key order, indentation,
//! number spelling, escapes. Values are found by their spans in the original text.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::value::RawValue;

/// The members of the object `text[range]`: (key, the value's span), in text order.
pub fn members(text: &str, range: Range<usize>) -> Option<Vec<(String, Range<usize>)>> {
    let object = text.get(range.clone())?;
    let map: BTreeMap<String, &RawValue> = serde_json::from_str(object).ok()?;
    let base = object.as_ptr() as usize;
    let mut out: Vec<(String, Range<usize>)> = map
        .into_iter()
        .map(|(k, v)| {
            let start = range.start + (v.get().as_ptr() as usize - base);
            (k, start..start + v.get().len())
        })
        .collect();
    out.sort_by_key(|(_, r)| r.start);
    Some(out)
}

/// The elements of the array `text[range]`, as spans.
pub fn elements(text: &str, range: Range<usize>) -> Option<Vec<Range<usize>>> {
    let array = text.get(range.clone())?;
    let items: Vec<&RawValue> = serde_json::from_str(array).ok()?;
    let base = array.as_ptr() as usize;
    Some(
        items
            .into_iter()
            .map(|v| {
                let start = range.start + (v.get().as_ptr() as usize - base);
                start..start + v.get().len()
            })
            .collect(),
    )
}

/// The span of the whole document's value (its text without surrounding white space).
pub fn root(text: &str) -> Option<Range<usize>> {
    let start = text.find(|c: char| !c.is_whitespace())?;
    let end = text.trim_end().len();
    (start < end).then_some(start..end)
}

/// The span of the value at `path` (object keys), from `text[range]`.
pub fn find(text: &str, range: Range<usize>, path: &[&str]) -> Option<Range<usize>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(range);
    };
    let (_, span) = members(text, range)?
        .into_iter()
        .find(|(k, _)| k == first)?;
    find(text, span, rest)
}

/// `text` with `range` replaced by `with`.
pub fn replace(text: &str, range: Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

/// The indentation of the line `at` is on.
fn line_indent(text: &str, at: usize) -> &str {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// The indentation one level in from the container at `at`: its first member's, else the
/// container's own plus two spaces (or none, on one line).
fn inner_indent(
    text: &str,
    container: &Range<usize>,
    first: Option<&Range<usize>>,
) -> Option<String> {
    let inside = &text[container.start + 1..container.end - 1];
    if !inside.contains('\n') && first.is_some() {
        return None; // a one-line container stays on one line
    }
    Some(match first {
        Some(r) => {
            // The member's key starts before its value: the line's indentation.
            line_indent(text, r.start).to_owned()
        }
        None => format!("{}  ", line_indent(text, container.start)),
    })
}

/// The object `text[object]` with `"key": value` added as its last member, laid out like
/// its other members.
pub fn insert_member(text: &str, object: Range<usize>, key: &str, value: &str) -> Option<String> {
    let existing = members(text, object.clone())?;
    let key = serde_json::to_string(key).ok()?;
    let close = object.end - 1; // the `}`
    let indent = inner_indent(text, &object, existing.first().map(|(_, r)| r));
    let mut insert = String::new();
    match (existing.last(), &indent) {
        (Some((_, last)), Some(indent)) => {
            let mut out = replace(
                text,
                last.end..last.end,
                &format!(",\n{indent}{key}: {value}"),
            );
            out.shrink_to_fit();
            return Some(out);
        }
        (Some((_, last)), None) => {
            return Some(replace(
                text,
                last.end..last.end,
                &format!(", {key}: {value}"),
            ));
        }
        (None, Some(indent)) => {
            let outer = line_indent(text, object.start);
            insert.push_str(&format!("\n{indent}{key}: {value}\n{outer}"));
        }
        (None, None) => insert.push_str(&format!("{key}: {value}")),
    }
    Some(replace(text, object.start + 1..close, &insert))
}

/// The array `text[array]` with `value` appended, laid out like its other elements.
pub fn append_element(text: &str, array: Range<usize>, value: &str) -> Option<String> {
    let existing = elements(text, array.clone())?;
    let indent = inner_indent(text, &array, existing.first());
    match (existing.last(), &indent) {
        (Some(last), Some(indent)) => Some(replace(
            text,
            last.end..last.end,
            &format!(",\n{indent}{value}"),
        )),
        (Some(last), None) => Some(replace(text, last.end..last.end, &format!(", {value}"))),
        (None, Some(indent)) => {
            let outer = line_indent(text, array.start);
            Some(replace(
                text,
                array.start + 1..array.end - 1,
                &format!("\n{indent}{value}\n{outer}"),
            ))
        }
        (None, None) => Some(replace(text, array.start + 1..array.end - 1, value)),
    }
}

/// The array `text[array]` without its element `element` (and the comma that joined it).
pub fn remove_element(text: &str, array: Range<usize>, element: Range<usize>) -> Option<String> {
    let existing = elements(text, array.clone())?;
    let i = existing.iter().position(|r| *r == element)?;
    let cut = if existing.len() == 1 {
        array.start + 1..array.end - 1
    } else if i + 1 < existing.len() {
        element.start..existing[i + 1].start
    } else {
        existing[i - 1].end..element.end
    };
    Some(replace(text, cut, ""))
}

/// Where the member whose value starts at `value` begins: its key `key` (as the text
/// spells it: keys mcptop wrote are plain ASCII).
fn key_start(text: &str, key: &str, value: usize) -> Option<usize> {
    let quoted = serde_json::to_string(key).ok()?;
    text[..value].rfind(&quoted)
}

/// The object `text[object]` without its member `key` (and the comma that joined it).
pub fn remove_member(text: &str, object: Range<usize>, key: &str) -> Option<String> {
    let existing = members(text, object.clone())?;
    let i = existing.iter().position(|(k, _)| k == key)?;
    let start = key_start(text, key, existing[i].1.start)?;
    let cut = if existing.len() == 1 {
        object.start + 1..object.end - 1
    } else if let Some((next, span)) = existing.get(i + 1) {
        start..key_start(text, next, span.start)?
    } else {
        existing[i - 1].1.end..existing[i].1.end
    };
    Some(replace(text, cut, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_in_text_order_with_their_spans() {
        let text = r#"{ "b": 1, "a": {"x": [1, 2]}, "c": "é\u00e9" }"#;
        let m = members(text, root(text).unwrap()).unwrap();
        let names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(&text[m[1].1.clone()], r#"{"x": [1, 2]}"#);
        let x = find(text, root(text).unwrap(), &["a", "x"]).unwrap();
        assert_eq!(&text[x], "[1, 2]");
    }

    #[test]
    fn inserts_and_appends_follow_the_layout_around_them() {
        let text = "{\n    \"a\": 1\n}\n";
        let out = insert_member(text, root(text).unwrap(), "b", "[]").unwrap();
        assert_eq!(out, "{\n    \"a\": 1,\n    \"b\": []\n}\n");
        let empty = "{\n  \"hooks\": {}\n}";
        let hooks = find(empty, root(empty).unwrap(), &["hooks"]).unwrap();
        let out = insert_member(empty, hooks, "Stop", "[]").unwrap();
        assert_eq!(out, "{\n  \"hooks\": {\n    \"Stop\": []\n  }\n}");
        let one_line = r#"{"a": [1]}"#;
        let arr = find(one_line, root(one_line).unwrap(), &["a"]).unwrap();
        assert_eq!(
            append_element(one_line, arr, "2").unwrap(),
            r#"{"a": [1, 2]}"#
        );
        let text = "[\n  1,\n  2\n]";
        let out = append_element(text, root(text).unwrap(), "3").unwrap();
        assert_eq!(out, "[\n  1,\n  2,\n  3\n]");
        let els = elements(&out, root(&out).unwrap()).unwrap();
        let back = remove_element(&out, root(&out).unwrap(), els[2].clone()).unwrap();
        assert_eq!(back, text);
        let first = remove_element(
            text,
            root(text).unwrap(),
            elements(text, root(text).unwrap()).unwrap()[0].clone(),
        )
        .unwrap();
        assert_eq!(first, "[\n  2\n]");
    }

    #[test]
    fn a_member_comes_out_with_its_comma_wherever_it_is() {
        let text = "{\n  \"a\": 1,\n  \"b\": {\"x\": 2},\n  \"c\": 3\n}";
        let r = root(text).unwrap();
        assert_eq!(
            remove_member(text, r.clone(), "b").unwrap(),
            "{\n  \"a\": 1,\n  \"c\": 3\n}"
        );
        assert_eq!(
            remove_member(text, r.clone(), "c").unwrap(),
            "{\n  \"a\": 1,\n  \"b\": {\"x\": 2}\n}"
        );
        assert_eq!(
            remove_member(text, r, "a").unwrap(),
            "{\n  \"b\": {\"x\": 2},\n  \"c\": 3\n}"
        );
        let one = r#"{"only": true}"#;
        assert_eq!(
            remove_member(one, root(one).unwrap(), "only").unwrap(),
            "{}"
        );
    }
}
