mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let monitor = cli.command.is_none();
    if let Err(e) = start_log(cli.log.as_deref(), monitor) {
        eprintln!("mcptop: {}", mcptop::sanitize::terminal(&format!("{e:#}")));
        return ExitCode::FAILURE;
    }
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
            // An exit that said everything already (on standard output) says no more.
            if !message.is_empty() {
                eprintln!("mcptop: {}", mcptop::sanitize::terminal(&message));
            }
            match e.downcast_ref::<commands::Exit>() {
                Some(exit) => ExitCode::from(exit.code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// `--log FILE`: tracing output appended to FILE (private to this user), at the level
/// `$RUST_LOG` names. Without it, `$RUST_LOG` alone logs to standard error, except for the
/// monitor, whose screen a log line would break.
fn start_log(path: Option<&std::path::Path>, monitor: bool) -> anyhow::Result<()> {
    use anyhow::Context;
    use tracing_subscriber::EnvFilter;
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match path {
        Some(path) => {
            let file = mcptop::discovery::open_private_append(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        None if !monitor && std::env::var_os("RUST_LOG").is_some() => {
            tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_writer(std::io::stderr)
                .init();
        }
        None => {}
    }
    Ok(())
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
        cli::Command::Setup(args) => commands::setup::run(args),
        cli::Command::Check(args) => commands::check::run(args),
        cli::Command::Export(args) => commands::export::run(args),
        cli::Command::Baseline(args) => commands::check::baseline(args),
        cli::Command::Diff(args) => commands::check::diff(args),
        cli::Command::Hook(args) => {
            commands::hook::run(args);
            Ok(())
        }
        cli::Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = cli::Cli::command();
            clap_complete::generate(*shell, &mut command, "mcptop", &mut std::io::stdout());
            Ok(())
        }
        cli::Command::Config { default, config } => {
            if *default {
                print!("{}", mcptop::ui::config::default_text());
                return Ok(());
            }
            let (path, explicit) = match config {
                Some(p) => (Some(p.clone()), true),
                None => (mcptop::ui::config::default_path(), false),
            };
            let Some(path) = path else {
                anyhow::bail!("no config directory: $HOME is not set; give --config PATH");
            };
            match mcptop::ui::config::load(&path, explicit)? {
                Some(_) => println!("{}: ok", path.display()),
                None => println!(
                    "{}: none (the defaults are in force; `mcptop config --default > {}` writes one)",
                    path.display(),
                    path.display()
                ),
            }
            Ok(())
        }
        cli::Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(cli::Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}
