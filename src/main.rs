mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match &cli.command {
        None => commands::watch::run(&cli.watch, &cli.screen),
        Some(command) => run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors can quote a server's words: never let them act on the terminal.
            // Never a password or token of a URL in it either.
            let message = format!("{e:#}");
            let message = mcptop::sanitize::redact_urls(&message);
            eprintln!("mcptop: {}", mcptop::sanitize::terminal(&message));
            match e.downcast_ref::<commands::Exit>() {
                Some(exit) => ExitCode::from(exit.code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn run(command: &cli::Command) -> anyhow::Result<()> {
    match command {
        cli::Command::Demo(args) => commands::demo::run(args),
        cli::Command::SseDump(args) => commands::sse_dump::run(args),
        cli::Command::Serve(args) => commands::serve::run(args),
        cli::Command::Tail(args) => commands::tail::run(args),
        cli::Command::Replay(args) => commands::replay::run(args),
        cli::Command::Sessions(args) => commands::sessions::list(args),
        cli::Command::Session(cli::SessionCommand::New(args)) => commands::sessions::new(args),
        cli::Command::Wrap(args) => commands::tap::wrap(args),
        cli::Command::Proxy(args) => commands::tap::proxy(args),
    }
}
