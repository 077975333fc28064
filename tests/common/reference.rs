//! A deliberately simple reference decoder, written straight from the WHATWG text with no
//! attention to speed: decode the whole stream, strip one BOM, split lines, interpret.
//! The fast decoder must agree with it on every input and every chunking.

use mcptop::sse::{Event, OwnedItem};

pub fn reference_decode(input: &[u8]) -> Vec<OwnedItem> {
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);

    // Split into lines; only terminated lines count (the tail is an unfinished line).
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }

    let mut out = Vec::new();
    let mut data = String::new();
    let mut event_type = String::new();
    let mut id_buffer = String::new();
    for line in lines {
        if line.is_empty() {
            let last_event_id = id_buffer.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            out.push(OwnedItem::Event(Event {
                event_type: if event_type.is_empty() {
                    "message".to_string()
                } else {
                    event_type.clone()
                },
                data: std::mem::take(&mut data),
                last_event_id,
            }));
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            out.push(OwnedItem::Comment);
            continue;
        }
        let (name, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line.as_str(), ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event_type = value.to_string(),
            "id" if !value.contains('\0') => id_buffer = value.to_string(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    out.push(OwnedItem::Retry(ms));
                }
            }
            _ => {}
        }
    }
    out
}
