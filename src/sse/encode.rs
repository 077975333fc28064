//! Writing events in the event-stream format: the inverse of the decoder.

/// Appends one event. `data` is split into one `data:` line per line (at CR, LF or CRLF,
/// which the format cannot carry inside a line), so decoding gives `data` back with its
/// line ends normalised to LF. `event_type` and `id` must not contain CR or LF, and `id`
/// must not contain NUL; such values are left out rather than corrupt the stream.
pub fn write_event(out: &mut String, event_type: Option<&str>, id: Option<&str>, data: &str) {
    if let Some(id) = id.filter(|v| is_single_line(v) && !v.contains('\0')) {
        field(out, "id", id);
    }
    if let Some(ty) = event_type.filter(|v| is_single_line(v)) {
        field(out, "event", ty);
    }
    let mut rest = data;
    loop {
        match rest.find(['\r', '\n']) {
            Some(i) => {
                field(out, "data", &rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                field(out, "data", rest);
                break;
            }
        }
    }
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
    !v.contains(['\r', '\n'])
}
