//! Every key of a stream event the decoder reads, declared once (see [`wire_fields!`]'s one
//! use, at the end). From that table come:
//!
//! - [`Fields`], what both decoding paths fill, and [`Raw`], the general path's serde view;
//! - [`Field`] and the fast path's lookup of a key by its bytes ([`Field::named`]);
//! - [`Slot`], through which the fast path stores a value by the field's kind;
//! - [`CallExtras`], the call event's optional fields as one type that the producers write
//!   (flattened into `schema::CallEvent`) and the decoder reads into `CallFrame`.
//!
//! Adding a field the call event carries is one line in the `call` section: producers can
//! set it, both decoding paths read it, and the frame carries it. (The property test's
//! generator is given a line too, so that the round trip proves it.)

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use super::words::{lenient, parse_word, Origin, Token, Wait, Word};

/// How a key's value is read, in [`Fields`] and in [`Raw`]:
/// - `raw`: any JSON value, kept as its text (read later, by what the frame needs);
/// - `text`: a string; `num`: a number; `count`: a non-negative integer; `flag`: a bool.
macro_rules! field_ty {
    ($a:lifetime raw) => { Option<&$a str> };
    ($a:lifetime text) => { Option<Cow<$a, str>> };
    ($a:lifetime num) => { Option<f64> };
    ($a:lifetime count) => { Option<u64> };
    ($a:lifetime flag) => { Option<bool> };
}

macro_rules! raw_ty {
    ($a:lifetime raw) => { Option<&$a RawValue> };
    ($a:lifetime text) => { Option<Cow<$a, str>> };
    ($a:lifetime num) => { Option<f64> };
    ($a:lifetime count) => { Option<u64> };
    ($a:lifetime flag) => { Option<bool> };
}

macro_rules! json_name {
    ($name:ident) => {
        stringify!($name)
    };
    ($name:ident $json:tt) => {
        $json
    };
}

macro_rules! wire_fields {
    (
        keys { $( $name:ident : $kind:ident $(= $json:tt)? ),* $(,)? }
        call { $( $(#[$doc:meta])* $cname:ident : $ckind:ident => $cty:ty ),* $(,)? }
    ) => {
        /// A key the decoder knows (named as in [`Fields`]).
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Field { $($name,)* $($cname,)* }

        impl Field {
            /// Every known key with its name on the wire.
            pub const ALL: &'static [(&'static str, Field)] = &[
                $((json_name!($name $($json)?), Field::$name),)*
                $((stringify!($cname), Field::$cname),)*
            ];

            /// The known field named by `b[key.0..key.1]`, the contents of a string without
            /// escapes (so `b[key.1]` is its closing quote). Names are told apart by their
            /// length and first eight bytes, read as one word, then the rest.
            #[inline(always)]
            pub fn named(b: &[u8], key: (usize, usize)) -> Option<Field> {
                #[allow(non_upper_case_globals)]
                struct Len;
                #[allow(non_upper_case_globals)]
                impl Len {
                    $(const $name: usize = json_name!($name $($json)?).len();)*
                    $(const $cname: usize = stringify!($cname).len();)*
                }
                struct Head;
                #[allow(non_upper_case_globals)]
                impl Head {
                    $(const $name: u64 = word(json_name!($name $($json)?).as_bytes());)*
                    $(const $cname: u64 = word(stringify!($cname).as_bytes());)*
                }
                struct Tail;
                #[allow(non_upper_case_globals)]
                impl Tail {
                    $(const $name: &'static [u8] = tail(json_name!($name $($json)?).as_bytes());)*
                    $(const $cname: &'static [u8] = tail(stringify!($cname).as_bytes());)*
                }
                let (len, head, rest) = split_key(b, key);
                match (len, head) {
                    $((Len::$name, Head::$name) if rest == Tail::$name => Some(Field::$name),)*
                    $((Len::$cname, Head::$cname) if rest == Tail::$cname => Some(Field::$cname),)*
                    _ => None,
                }
            }
        }

        /// Every known field, whichever path read it. Fields of kind `raw` hold their JSON
        /// text.
        #[derive(Default)]
        pub(super) struct Fields<'a> {
            $(pub $name: field_ty!('a $kind),)*
            $(pub $cname: field_ty!('a $ckind),)*
            /// Filled by the flat scan, which takes no string with an escape: every
            /// string's text is the bytes between its quotes.
            pub unescaped: bool,
        }

        /// The general path: serde over the union of every known field.
        #[derive(Deserialize, Default)]
        #[serde(default)]
        pub(super) struct Raw<'a> {
            $(#[serde(borrow $(, rename = $json)?)] $name: raw_ty!('a $kind),)*
            $(#[serde(borrow)] $cname: raw_ty!('a $ckind),)*
        }

        impl<'a> From<Raw<'a>> for Fields<'a> {
            fn from(r: Raw<'a>) -> Self {
                Fields {
                    $($name: FromRaw::from_raw(r.$name),)*
                    $($cname: FromRaw::from_raw(r.$cname),)*
                    unescaped: false,
                }
            }
        }

        impl<'a> Fields<'a> {
            /// Where the fast path stores `field`'s value.
            #[inline(always)]
            pub fn slot(&mut self, field: Field) -> Slot<'_, 'a> {
                match field {
                    $(Field::$name => IntoSlot::slot(&mut self.$name),)*
                    $(Field::$cname => IntoSlot::slot(&mut self.$cname),)*
                }
            }
        }

        /// What a call event may say beyond its lifecycle (key, tool, state, time, error,
        /// message, arguments, result): one type for the producers, which write it
        /// flattened into the event, and for the frame the decoder reads.
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct CallExtras {
            $(
                $(#[$doc])*
                #[serde(default, deserialize_with = "ExtraDe::de", skip_serializing_if = "Option::is_none")]
                pub $cname: $cty,
            )*
        }

        impl CallExtras {
            /// Takes the call's extras out of the fields.
            pub(super) fn take(fields: &mut Fields<'_>) -> CallExtras {
                CallExtras {
                    $($cname: Extra::read(fields.$cname.take()),)*
                }
            }

            /// Every field's name on the wire (for tests).
            #[doc(hidden)]
            pub const NAMES: &'static [&'static str] = &[$(stringify!($cname)),*];
        }
    };
}

/// `name`'s first eight bytes as one little-endian word (zero-padded).
const fn word(name: &[u8]) -> u64 {
    let mut v = 0u64;
    let mut i = 0;
    while i < name.len() && i < 8 {
        v |= (name[i] as u64) << (8 * i);
        i += 1;
    }
    v
}

/// `name` past its first eight bytes.
const fn tail(name: &[u8]) -> &[u8] {
    match name.split_at_checked(8) {
        Some((_, rest)) => rest,
        None => &[],
    }
}

/// A key's length, its first eight bytes as [`word`] reads them, and the rest. Reads one
/// whole word where the buffer has eight bytes from the key's start (a key is followed by
/// its closing quote and more), masking what is past the key.
#[inline(always)]
fn split_key(b: &[u8], key: (usize, usize)) -> (usize, u64, &[u8]) {
    let len = key.1 - key.0;
    let head = match b.get(key.0..).and_then(|s| s.first_chunk::<8>()) {
        Some(w) if len >= 8 => u64::from_le_bytes(*w),
        Some(w) => u64::from_le_bytes(*w) & ((1u64 << (8 * len)) - 1),
        None => b[key.0..key.1]
            .iter()
            .enumerate()
            .fold(0, |v, (i, &c)| v | u64::from(c) << (8 * i)),
    };
    let rest = b.get(key.0 + 8.min(len)..key.1).unwrap_or_default();
    (len, head, rest)
}

/// A known field's storage, by its kind.
pub(super) enum Slot<'f, 'a> {
    Raw(&'f mut Option<&'a str>),
    Text(&'f mut Option<Cow<'a, str>>),
    Num(&'f mut Option<f64>),
    Count(&'f mut Option<u64>),
    Flag(&'f mut Option<bool>),
}

trait IntoSlot<'a> {
    fn slot(&mut self) -> Slot<'_, 'a>;
}

impl<'a> IntoSlot<'a> for Option<&'a str> {
    #[inline(always)]
    fn slot(&mut self) -> Slot<'_, 'a> {
        Slot::Raw(self)
    }
}

impl<'a> IntoSlot<'a> for Option<Cow<'a, str>> {
    #[inline(always)]
    fn slot(&mut self) -> Slot<'_, 'a> {
        Slot::Text(self)
    }
}

impl<'a> IntoSlot<'a> for Option<f64> {
    #[inline(always)]
    fn slot(&mut self) -> Slot<'_, 'a> {
        Slot::Num(self)
    }
}

impl<'a> IntoSlot<'a> for Option<u64> {
    #[inline(always)]
    fn slot(&mut self) -> Slot<'_, 'a> {
        Slot::Count(self)
    }
}

impl<'a> IntoSlot<'a> for Option<bool> {
    #[inline(always)]
    fn slot(&mut self) -> Slot<'_, 'a> {
        Slot::Flag(self)
    }
}

/// The general path's value as [`Fields`] keeps it.
trait FromRaw<T> {
    fn from_raw(raw: T) -> Self;
}

impl<T> FromRaw<T> for T {
    fn from_raw(raw: T) -> T {
        raw
    }
}

impl<'a> FromRaw<Option<&'a RawValue>> for Option<&'a str> {
    fn from_raw(raw: Option<&'a RawValue>) -> Self {
        raw.map(RawValue::get)
    }
}

/// A type a [`CallExtras`] field may have: how the frame reads it from [`Fields`], and how
/// the producers' events are read back (a word this version does not know reads as none).
trait Extra<S>: Sized {
    fn read(field: S) -> Self;
}

impl<'a> Extra<Option<&'a str>> for Option<Token> {
    fn read(field: Option<&'a str>) -> Self {
        field.and_then(Token::from_json)
    }
}

impl<'a> Extra<Option<Cow<'a, str>>> for Option<String> {
    fn read(field: Option<Cow<'a, str>>) -> Self {
        field.map(Cow::into_owned)
    }
}

impl<'a, T: Word> Extra<Option<Cow<'a, str>>> for Option<T> {
    fn read(field: Option<Cow<'a, str>>) -> Self {
        field.as_deref().and_then(parse_word)
    }
}

impl Extra<Option<bool>> for Option<bool> {
    fn read(field: Option<bool>) -> Self {
        field
    }
}

/// How a producer's event is read back (the daemon reads what taps publish).
trait ExtraDe: Sized {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl<T: Word> ExtraDe for Option<T> {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d)
    }
}

macro_rules! plain_de {
    ($($ty:ty),*) => {$(
        impl ExtraDe for Option<$ty> {
            fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Option::<$ty>::deserialize(d)
            }
        }
    )*};
}

plain_de!(String, bool, Token);

wire_fields! {
    keys {
        token: raw,
        progress: num,
        total: num,
        message: raw,
        tool: text,
        timestamp: text,
        jsonrpc: text,
        method: text,
        params: raw,
        id: raw,
        result: raw,
        error: raw,
        state: text,
        detail: text,
        missed: count,
        session_id: text,
        kind: text = "type",
        data: raw,
        payload: raw,
        duration_ms: num,
        session: text,
        session_label: text,
        arguments: raw,
    }
    call {
        /// `false` when the caller asked for no progress (so none can come): taps say so.
        progress_requested: flag => Option<bool>,
        /// The progress token the agent gave the call, where the event's key is not it (a
        /// tap keys its calls by request id): what a person should see as the call's
        /// token. `""` when the agent gave none.
        progress_token: raw => Option<Token>,
        /// The id of the MCP task the call runs as.
        task: text => Option<String>,
        /// On `waiting`: `input` or `permission` (another word, from a newer producer,
        /// reads as none).
        waiting_for: text => Option<Wait>,
        /// Who saw the call when not a tap: `hook` for an agent's own tools (they report no
        /// progress), `otel` for its telemetry, `model` for its model turns.
        origin: text => Option<Origin>,
        /// On `started`: the W3C `traceparent` the agent sent in the request's `_meta` (the
        /// daemon's OpenTelemetry export makes the call's span a child of it).
        traceparent: text => Option<String>,
        /// The subagent that made the call, by its type (`Explore`, `worker`): an agent's
        /// hooks say so for the calls a subagent of it makes.
        subagent: text => Option<String>,
        /// That subagent's id, which tells two subagents of one type apart.
        subagent_id: text => Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::Field;

    /// The name looked up as the scan does, inside an object (`{"name":…`, with bytes after
    /// it) and alone (no byte after it, so no whole word can be read).
    fn lookups(name: &[u8]) -> [Option<Field>; 2] {
        let mut object = b"{\"".to_vec();
        object.extend_from_slice(name);
        object.extend_from_slice(b"\":12345678}");
        [
            Field::named(&object, (2, 2 + name.len())),
            Field::named(name, (0, name.len())),
        ]
    }

    #[test]
    fn every_known_name_and_no_near_miss_is_recognised() {
        let known = |name: &[u8]| {
            Field::ALL
                .iter()
                .find(|(n, _)| n.as_bytes() == name)
                .map(|&(_, f)| f)
        };
        for &(name, f) in Field::ALL {
            assert_eq!(lookups(name.as_bytes()), [Some(f); 2], "{name}");
            let name = name.as_bytes();
            let mut near: Vec<Vec<u8>> =
                vec![name[..name.len() - 1].to_vec(), [name, b"x"].concat()];
            for at in 0..name.len() {
                for other in [b'x', b'_', b'A'] {
                    let mut n = name.to_vec();
                    n[at] = other;
                    near.push(n);
                }
            }
            for n in near {
                assert_eq!(
                    lookups(&n),
                    [known(&n); 2],
                    "{}",
                    String::from_utf8_lossy(&n)
                );
            }
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, (a, _)) in Field::ALL.iter().enumerate() {
            assert!(Field::ALL[i + 1..].iter().all(|(b, _)| a != b), "{a} twice");
        }
    }
}
