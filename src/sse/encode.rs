//! Writing events in the event-stream format: the inverse of the decoder.

/// Appends one event. `data` is split into one `data:` line per line (at CR, LF or CRLF,
/// which the format cannot carry inside a line), so decoding gives `data` back with its
/// line ends normalised to LF. `event_type` and `id` must not contain CR or LF, and `id`
/// must not contain NUL; such values are left out rather than corrupt the stream.
pub fn write_event(out: &mut String, event_type: Option<&str>, id: Option<&str>, data: &str) {
    let id = id.filter(|v| is_single_line(v) && memchr::memchr(0, v.as_bytes()).is_none());
    let event_type = event_type.filter(|v| is_single_line(v));
    out.reserve(
        data.len() + id.map_or(0, |v| v.len() + 5) + event_type.map_or(0, |v| v.len() + 8) + 8,
    );
    if let Some(id) = id {
        field(out, "id", id);
    }
    if let Some(ty) = event_type {
        field(out, "event", ty);
    }
    let mut rest = data;
    // Line ends are ASCII, so the byte positions memchr finds are char boundaries.
    while let Some(i) = memchr::memchr2(b'\r', b'\n', rest.as_bytes()) {
        field(out, "data", &rest[..i]);
        let skip = if rest.as_bytes()[i..].starts_with(b"\r\n") {
            2
        } else {
            1
        };
        rest = &rest[i + skip..];
    }
    field(out, "data", rest);
    out.push('\n');
}

/// Appends a comment line (a keep-alive when `text` is empty) and a blank line.
pub fn write_comment(out: &mut String, text: &str) {
    out.push(':');
    for line in text.split(['\r', '\n']) {
        out.push_str(line);
    }
    out.push_str("\n\n");
}

/// Appends a `retry:` field in its own block.
pub fn write_retry(out: &mut String, millis: u64) {
    out.push_str("retry: ");
    out.push_str(&millis.to_string());
    out.push_str("\n\n");
}

fn field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    // One space is always written, so a value starting with a space survives decoding.
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

fn is_single_line(v: &str) -> bool {
    memchr::memchr2(b'\r', b'\n', v.as_bytes()).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_and_unsafe_fields_left_out() {
        let mut out = String::new();
        write_event(&mut out, Some("progress"), Some("7"), "a\r\nb\rc\nd");
        assert_eq!(
            out,
            "id: 7\nevent: progress\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        out.clear();
        write_event(&mut out, Some("two\nlines"), Some("nul\0"), "é");
        assert_eq!(out, "data: é\n\n");
        out.clear();
        write_event(&mut out, None, Some("cr\r"), "\n");
        assert_eq!(out, "data: \ndata: \n\n");
        out.clear();
        write_comment(&mut out, "keep\r\nalive");
        write_retry(&mut out, 1500);
        assert_eq!(out, ":keepalive\n\nretry: 1500\n\n");
    }
}
