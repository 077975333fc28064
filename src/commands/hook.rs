//! `mcptop hook`: one hook event of a coding agent (Claude Code, Codex, Gemini CLI) from
//! standard input onto the monitor.

use std::io::IsTerminal;

use crate::cli::HookArgs;

/// Never fails and never writes to standard output: the agent reads it.
pub fn run(args: &HookArgs) {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "mcptop hook reads an agent's hook event on standard input; install it with \
             `mcptop setup {} --hooks`",
            args.agent
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
    let (rules, problem) = mcptop::config::load_redaction();
    let agent = mcptop::hook::HookAgent::parse(&args.agent).unwrap_or_default();
    mcptop::hook::run(agent, &input, &discovery_file, &rules, problem.as_deref());
}
