//! `mcptop sessions` and `mcptop session new`.

use std::io::{IsTerminal, Write};

use anyhow::Result;

use super::{find_daemon, Exit};
use crate::cli::{SessionNewArgs, SessionsArgs};
use mcptop::sanitize;
use mcptop::source::select::{create, list as list_sessions};

pub fn list(args: &SessionsArgs) -> Result<()> {
    super::runtime()?.block_on(async {
        let daemon = find_daemon(&args.daemon).await?;
        let sessions = list_sessions(&daemon).await.map_err(|e| Exit::new(1, e))?;
        let mut out = std::io::stdout().lock();
        if args.json {
            let rows: Vec<serde_json::Value> = sessions
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "session_id": s.session_id, "label": s.label, "cwd": s.cwd,
                        "created_at": s.created_at, "events": s.events,
                        "subscribers": s.subscribers, "running_calls": s.running_calls,
                        "last_event_at": s.last_event_at,
                        "anonymous": s.anonymous,
                        "model_turns": s.model_turns, "input_tokens": s.input_tokens,
                        "output_tokens": s.output_tokens, "cost_usd": s.cost_usd,
                    })
                })
                .collect();
            writeln!(out, "{}", sanitize::json_string(&rows))?;
            return Ok(());
        }
        if sessions.is_empty() {
            writeln!(out, "no sessions on {}", daemon.base_url)?;
            return Ok(());
        }
        let (anonymous, owned): (Vec<_>, Vec<_>) =
            sessions.into_iter().partition(|s| s.anonymous);
        if owned.is_empty() {
            writeln!(out, "no sessions of yours on {}", daemon.base_url)?;
        } else {
            table(&mut out, &owned)?;
        }
        if !anonymous.is_empty() {
            writeln!(
                out,
                "\nanonymous sessions: made without the admin token, by any local user \
                 (not shown by the monitor or tail; --include-anonymous, or --session ID, shows them)"
            )?;
            table(&mut out, &anonymous)?;
        }
        Ok(())
    })
}

fn table(
    out: &mut impl Write,
    sessions: &[mcptop::source::select::SessionInfo],
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<36}  {:<24} {:>8} {:>7} {:>5} {:>9}  {:<20}  cwd",
        "session", "label", "events", "running", "subs", "cost", "last event"
    )?;
    for s in sessions {
        let last = s
            .last_event_at
            .as_deref()
            .and_then(mcptop::wire::parse_timestamp)
            .map(|t| t.to_datetime().format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into());
        // An agent session's model turns so far, from its OpenTelemetry.
        let cost = match (s.cost_usd, s.model_turns) {
            (Some(c), _) if c.is_finite() => format!("${c:.2}"),
            (_, 0) => "-".to_owned(),
            (_, n) => format!("{n} turns"),
        };
        writeln!(
            out,
            "{:<36}  {:<24} {:>8} {:>7} {:>5} {:>9}  {:<20}  {}",
            sanitize::terminal(&s.session_id),
            sanitize::terminal(s.label.as_deref().unwrap_or("-")),
            s.events,
            s.running_calls,
            s.subscribers,
            cost,
            last,
            sanitize::terminal(&s.cwd)
        )?;
    }
    Ok(())
}

pub fn new(args: &SessionNewArgs) -> Result<()> {
    super::runtime()?.block_on(async {
        let daemon = find_daemon(&args.daemon).await?;
        let (id, token) = create(&daemon, args.label.as_deref(), args.cwd.as_deref())
            .await
            .map_err(|e| Exit::new(1, e))?;
        let mut out = std::io::stdout().lock();
        // Shell-quoted: a daemon's answer must never run as a command under `eval`.
        writeln!(out, "export MCPTOP_URL={}", shell_quote(&daemon.base_url))?;
        writeln!(out, "export MCPTOP_SESSION={}", shell_quote(&id))?;
        if out.is_terminal() {
            // Tokens never appear on screen: `eval "$(mcptop session new)"` gets it.
            writeln!(
                out,
                "# MCPTOP_TOKEN not shown on a terminal: run  eval \"$(mcptop session new)\""
            )?;
        } else {
            writeln!(out, "export MCPTOP_TOKEN={}", shell_quote(&token))?;
        }
        Ok(())
    })
}

/// `value` as one POSIX shell word: single-quoted, each `'` as `'\''`.
fn shell_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_every_value_for_the_shell() {
        assert_eq!(shell_quote("abc"), "'abc'");
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(
            shell_quote("$(touch /tmp/x);`id`"),
            "'$(touch /tmp/x);`id`'"
        );
        assert_eq!(shell_quote(""), "''");
    }
}
