//! The link's news as a recording keeps it (`[offset,"s",{…}]`), typed both ways.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{LinkStatus, Stop, Transport};

/// The link's news as a recording keeps it (`[offset,"s",{…}]`), typed both ways: the
/// same names and units as `--json` says them (`retry_in_s`), and every field the live
/// status has, so a replay sees what the monitor saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
enum RecordedStatus {
    Connecting {
        #[serde(default = "first_attempt")]
        attempt: u32,
    },
    Connected {
        #[serde(default)]
        transport: String,
        #[serde(default)]
        session_id: String,
        #[serde(default)]
        resumed: bool,
    },
    Disconnected {
        #[serde(default)]
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_in_s: Option<f64>,
        /// How recordings said it before `retry_in_s` (read, never written).
        #[serde(default, skip_serializing)]
        retry_in_ms: Option<u64>,
    },
    Daemon {
        #[serde(default)]
        address: String,
        #[serde(default)]
        instance: String,
        #[serde(default)]
        quiet_hint: Option<String>,
    },
    DaemonCounts {
        #[serde(default)]
        spans_dropped: u64,
        #[serde(default)]
        export_error: Option<String>,
        #[serde(default)]
        otlp_refused: u64,
        #[serde(default)]
        otlp_strangers: u64,
    },
    Waiting {
        #[serde(default)]
        reason: String,
    },
    Stopped {
        #[serde(default)]
        reason: String,
    },
}

fn first_attempt() -> u32 {
    1
}

pub(super) fn status_json(status: &LinkStatus) -> Value {
    let recorded = match status {
        LinkStatus::Connecting { attempt } => RecordedStatus::Connecting { attempt: *attempt },
        LinkStatus::Connected {
            transport,
            session_id,
            resumed,
        } => RecordedStatus::Connected {
            transport: transport.as_str().to_owned(),
            session_id: session_id.clone(),
            resumed: *resumed,
        },
        LinkStatus::Disconnected { reason, retry_in } => RecordedStatus::Disconnected {
            reason: reason.clone(),
            retry_in_s: Some(retry_in.as_secs_f64()),
            retry_in_ms: None,
        },
        LinkStatus::Daemon {
            address,
            instance,
            quiet_hint,
        } => RecordedStatus::Daemon {
            address: address.clone(),
            instance: instance.clone(),
            quiet_hint: quiet_hint.clone(),
        },
        LinkStatus::DaemonCounts(c) => RecordedStatus::DaemonCounts {
            spans_dropped: c.spans_dropped,
            export_error: c.export_error.clone(),
            otlp_refused: c.otlp_refused,
            otlp_strangers: c.otlp_strangers,
        },
        LinkStatus::Waiting { reason } => RecordedStatus::Waiting {
            reason: reason.clone(),
        },
        LinkStatus::Stopped(stop) => RecordedStatus::Stopped {
            reason: stop.message(),
        },
    };
    // Strings, numbers and bools only: this cannot fail.
    serde_json::to_value(recorded).unwrap_or(Value::Null)
}

pub(super) fn status_from(value: &Value) -> Option<LinkStatus> {
    let recorded = RecordedStatus::deserialize(value).ok()?;
    Some(match recorded {
        RecordedStatus::Connecting { attempt } => LinkStatus::Connecting { attempt },
        RecordedStatus::Connected {
            transport,
            session_id,
            resumed,
        } => LinkStatus::Connected {
            transport: match transport.as_str() {
                "sse" => Transport::Sse,
                "ws" => Transport::Ws,
                "mcp" => Transport::Mcp,
                // Not read as one it is not: the line is said and skipped.
                _ => return None,
            },
            session_id,
            resumed,
        },
        RecordedStatus::Disconnected {
            reason,
            retry_in_s,
            retry_in_ms,
        } => LinkStatus::Disconnected {
            reason,
            retry_in: match (retry_in_s, retry_in_ms) {
                // A recording is from outside: a negative, endless or huge pause is none.
                (Some(s), _) => Duration::try_from_secs_f64(s).unwrap_or_default(),
                (None, Some(ms)) => Duration::from_millis(ms),
                (None, None) => Duration::ZERO,
            },
        },
        RecordedStatus::Stopped { reason } => LinkStatus::Stopped(Stop::Fatal(reason)),
        RecordedStatus::Waiting { reason } => LinkStatus::Waiting { reason },
        RecordedStatus::Daemon {
            address,
            instance,
            quiet_hint,
        } => LinkStatus::Daemon {
            address,
            instance,
            quiet_hint,
        },
        RecordedStatus::DaemonCounts {
            spans_dropped,
            export_error,
            otlp_refused,
            otlp_strangers,
        } => LinkStatus::DaemonCounts(crate::event::DaemonCounts {
            spans_dropped,
            // A recording is from outside: its text is cut and cleaned like a live one.
            export_error: export_error
                .map(|e| crate::sanitize::cut(&crate::sanitize::terminal(&e), 160).into_owned()),
            otlp_refused,
            otlp_strangers,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_link_status_reads_back_as_it_was_written() {
        let all = [
            LinkStatus::Connecting { attempt: 3 },
            LinkStatus::Connected {
                transport: Transport::Ws,
                session_id: "s1".into(),
                resumed: true,
            },
            LinkStatus::Disconnected {
                reason: "connection refused".into(),
                retry_in: Duration::from_millis(1250),
            },
            LinkStatus::Daemon {
                address: "127.0.0.1:9".into(),
                instance: "pid 7 · started 10:00".into(),
                quiet_hint: Some("no progress".into()),
            },
            LinkStatus::DaemonCounts(crate::event::DaemonCounts {
                spans_dropped: 4,
                export_error: Some("503".into()),
                otlp_refused: 1,
                otlp_strangers: 2,
            }),
            LinkStatus::Waiting {
                reason: "no daemon".into(),
            },
            LinkStatus::Stopped(Stop::Fatal("gone".into())),
        ];
        for status in all {
            let json = status_json(&status);
            assert_eq!(status_from(&json), Some(status.clone()), "{json}");
        }
        // The retry as `--json` says it; older recordings said milliseconds.
        let written = status_json(&LinkStatus::Disconnected {
            reason: String::new(),
            retry_in: Duration::from_millis(1500),
        });
        assert_eq!(written["retry_in_s"], 1.5);
        assert!(written.get("retry_in_ms").is_none());
        let old = json!({"state": "disconnected", "reason": "x", "retry_in_ms": 2500});
        assert_eq!(
            status_from(&old),
            Some(LinkStatus::Disconnected {
                reason: "x".into(),
                retry_in: Duration::from_millis(2500)
            })
        );
        // From outside: a pause that is no duration is none, a wrong type no status.
        let bad = json!({"state": "disconnected", "retry_in_s": -1.0});
        assert!(
            matches!(status_from(&bad), Some(LinkStatus::Disconnected { retry_in, .. }) if retry_in.is_zero())
        );
        assert_eq!(
            status_from(&json!({"state": "connecting", "attempt": "x"})),
            None
        );
        assert_eq!(status_from(&json!({"state": "paused"})), None);
    }
}
