//! `mcptop hook`: one Claude Code hook event from standard input onto the monitor.

use std::io::IsTerminal;

use crate::cli::HookArgs;

/// Never fails and never writes to standard output: Claude Code reads it.
pub fn run(args: &HookArgs) {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "mcptop hook reads a Claude Code hook event on standard input; install it with \
             `mcptop setup claude-code --hooks`"
        );
        return;
    }
    // Any size: a large Write or tool response is cut, never dropped with its call.
    let input = mcptop::hook::input::read_cut(stdin.lock()).unwrap_or_default();
    let discovery_file = match &args.discovery_file {
        Some(p) => p.clone(),
        None => match mcptop::discovery::default_path() {
            Ok(p) => p,
            Err(_) => return,
        },
    };
    if args.skip_mcp {
        let is_mcp = serde_json::from_slice::<serde_json::Value>(&input)
            .ok()
            .and_then(|v| v["tool_name"].as_str().map(|t| t.starts_with("mcp__")))
            .unwrap_or(false);
        if is_mcp {
            return;
        }
    }
    let (rules, problem) = mcptop::config::load_redaction();
    mcptop::hook::run(&input, &discovery_file, &rules, problem.as_deref());
}
