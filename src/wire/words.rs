//! The small values both sides of the wire share: a call's key ([`Token`]), its lifecycle
//! ([`CallState`]), what it waits for ([`Wait`]) and who saw it ([`Origin`]). Producers
//! write them and the decoder reads them with the same types; each has one word per value.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A progress token (or a JSON-RPC request id): an integer or a string. Construct uses
/// u64; standard MCP allows any string or integer. Numbers that are not integers are kept
/// as their JSON text so nothing is lost or merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Token {
    Int(i128),
    Str(String),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Int(n) => write!(f, "{n}"),
            Token::Str(s) => f.write_str(s),
        }
    }
}

impl Token {
    /// A token or request id from its JSON text: integer or string; `null` is none, and
    /// any other value is kept as its text.
    pub fn from_json(raw: &str) -> Option<Token> {
        let text = raw.trim_ascii(); // JSON whitespace is ASCII
        if text.starts_with('"') {
            return serde_json::from_str::<String>(text).ok().map(Token::Str);
        }
        if text == "null" {
            return None;
        }
        // Tokens are mostly small integers: read them directly.
        let (negative, digits) = match text.as_bytes().split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text.as_bytes()),
        };
        if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
            // At most 18 digits: fits a u64.
            let n = i128::from(
                digits
                    .iter()
                    .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')),
            );
            return Some(Token::Int(if negative { -n } else { n }));
        }
        match text.parse::<i128>() {
            Ok(n) => Some(Token::Int(n)),
            Err(_) => Some(Token::Str(text.to_owned())),
        }
    }
}

impl Serialize for Token {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Token::Int(n) => match i64::try_from(*n) {
                Ok(n) => s.serialize_i64(n),
                Err(_) => s.serialize_i128(*n),
            },
            Token::Str(text) => s.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Token, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Token;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_i64<E>(self, n: i64) -> Result<Token, E> {
                Ok(Token::Int(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Token, E> {
                Ok(Token::Int(n.into()))
            }
            fn visit_i128<E>(self, n: i128) -> Result<Token, E> {
                Ok(Token::Int(n))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Token, E> {
                Ok(Token::Str(n.to_string()))
            }
            fn visit_str<E>(self, text: &str) -> Result<Token, E> {
                Ok(Token::Str(text.to_owned()))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// One word per value on the wire, and back.
pub trait Word: Sized + Copy + PartialEq + 'static {
    /// Every value, with its word.
    const WORDS: &'static [(&'static str, Self)];
    /// What the values are, for an error ("state", "waiting_for", …).
    const WHAT: &'static str;

    fn as_str(self) -> &'static str {
        Self::WORDS
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(w, _)| w)
    }
}

/// The value `word` names, if any.
pub(super) fn parse_word<T: Word>(word: &str) -> Option<T> {
    T::WORDS.iter().find(|(w, _)| *w == word).map(|&(_, v)| v)
}

/// Writes a [`Word`] as its word.
fn serialize_word<T: Word, S: Serializer>(v: T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

/// Reads a [`Word`]; a word this version does not know is an error (see [`lenient`]).
fn deserialize_word<'de, T: Word, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let text = Cow::<'de, str>::deserialize(d)?;
    parse_word(&text).ok_or_else(|| {
        // Each value's own word (not the spellings also read).
        let words: Vec<&str> = T::WORDS
            .iter()
            .filter(|&&(w, v)| v.as_str() == w)
            .map(|(w, _)| *w)
            .collect();
        serde::de::Error::custom(format!(
            "{} {text:?} is not one of {}",
            T::WHAT,
            words.join(", ")
        ))
    })
}

macro_rules! words {
    ($ty:ident, $what:literal, { $($word:literal => $value:ident),* $(,)? }) => {
        impl Word for $ty {
            const WORDS: &'static [(&'static str, $ty)] = &[$(($word, $ty::$value)),*];
            const WHAT: &'static str = $what;
        }
        impl $ty {
            pub fn parse(word: &str) -> Option<$ty> {
                parse_word(word)
            }
            /// The word on the wire.
            pub fn as_str(self) -> &'static str {
                Word::as_str(self)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_word(*self, s)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                deserialize_word(d)
            }
        }
    };
}

/// The lifecycle states of the `call` extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CallState {
    #[default]
    Started,
    /// Still running (after waiting, or with news of what it does: a task's status).
    Working,
    /// Running but blocked on someone (the frame's `waiting_for` says on what).
    Waiting,
    Finished,
    Failed,
    Cancelled,
    /// Over, but how it ended will never be known (its end never came: the agent moved
    /// on past a permission prompt it denied, or its session ended first).
    Lost,
}

words!(CallState, "state", {
    "started" => Started,
    "working" => Working,
    "waiting" => Waiting,
    "finished" => Finished,
    "failed" => Failed,
    "cancelled" => Cancelled,
    // The American spelling, read (never written: the first word of a value is its own).
    "canceled" => Cancelled,
    "lost" => Lost,
});

impl CallState {
    /// Whether the call is over.
    pub fn is_end(self) -> bool {
        matches!(
            self,
            CallState::Finished | CallState::Failed | CallState::Cancelled | CallState::Lost
        )
    }

    /// Whether the call is over without having done what it was asked (its message is
    /// then the reason, when no error is given).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            CallState::Failed | CallState::Cancelled | CallState::Lost
        )
    }
}

/// What a waiting call waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wait {
    /// The server asked the client for input (a task's `input_required`, an elicitation).
    Input,
    /// The agent asks its user for permission to run the tool.
    Permission,
}

words!(Wait, "waiting_for", { "input" => Input, "permission" => Permission });

/// Who saw a call, when it is not a tap (which says nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An agent's hooks: its own tools, which report no progress.
    Hook,
    /// An agent's OpenTelemetry: a late report (exporters send in batches) of a call that
    /// may already be on screen from the hooks; it amends that row, whatever its state.
    Otel,
    /// An agent's model turn (a request to its model), from its OpenTelemetry.
    Model,
}

words!(Origin, "origin", { "hook" => Hook, "otel" => Otel, "model" => Model });

/// An MCP task's `status` (2025-11-25 tasks and the 2026-07-28 extension use the same
/// words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

words!(TaskStatus, "status", {
    "working" => Working,
    "input_required" => InputRequired,
    "completed" => Completed,
    "failed" => Failed,
    "cancelled" => Cancelled,
});

/// A word this version does not know reads as none: a newer producer's value never makes
/// the whole event unreadable. (Another type than a string is still an error.)
pub fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Word,
{
    match Option::<Cow<'de, str>>::deserialize(d)? {
        None => Ok(None),
        Some(text) => Ok(parse_word(&text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_its_value() {
        fn check<T: Word + std::fmt::Debug>() {
            for &(word, value) in T::WORDS {
                assert_eq!(parse_word::<T>(word), Some(value), "{word}");
                // The value writes its first word, which reads back as the value.
                assert_eq!(parse_word::<T>(value.as_str()), Some(value));
            }
            assert_eq!(parse_word::<T>("no such word"), None);
        }
        check::<CallState>();
        check::<Wait>();
        check::<Origin>();
        check::<TaskStatus>();
        assert_eq!(CallState::Cancelled.as_str(), "cancelled");
    }

    #[test]
    fn tokens_keep_integers_and_strings_apart() {
        for (json, token) in [
            ("7", Some(Token::Int(7))),
            ("-7", Some(Token::Int(-7))),
            ("\"7\"", Some(Token::Str("7".into()))),
            ("null", None),
            ("1.5", Some(Token::Str("1.5".into()))),
            (
                "123456789012345678901",
                Some(Token::Int(123456789012345678901)),
            ),
        ] {
            assert_eq!(Token::from_json(json), token, "{json}");
            if let Some(token) = token {
                let written = serde_json::to_string(&token).unwrap();
                assert_eq!(Token::from_json(&written).as_ref(), Some(&token));
            }
        }
        // Read back through serde (as the daemon reads what taps publish): integers within
        // 64 bits and strings keep their identity.
        for token in [
            Token::Int(-7),
            Token::Int(u64::MAX.into()),
            Token::Str("7".into()),
        ] {
            let written = serde_json::to_string(&token).unwrap();
            assert_eq!(serde_json::from_str::<Token>(&written).unwrap(), token);
        }
    }
}
