//! `mcptop setup [AGENT]`: wrap a coding agent's MCP servers with `mcptop wrap`, install
//! Claude Code's hook, or (`--undo`) take it all out again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::SetupArgs;
use mcptop::setup::{self, Agent, Location};

pub fn run(args: &SetupArgs) -> Result<()> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("$HOME is not set: mcptop setup edits files under it")?;
    let project = match &args.project {
        Some(p) => p.clone(),
        None => std::env::current_dir()
            .context("cannot tell the current directory; give --project DIR")?,
    };
    let project = std::fs::canonicalize(&project).unwrap_or(project);
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot find mcptop itself")?;
    let exe = exe.to_string_lossy().into_owned();
    let Some(name) = &args.agent else {
        return survey(&home, &project, &exe);
    };
    let Some(agent) = Agent::parse(name) else {
        bail!(
            "unknown agent {name:?}: say one of {}",
            Agent::ALL.map(Agent::name).join(", ")
        );
    };
    let hooks_location = match args.hooks {
        true => Some(
            setup::hooks_location(agent, &home, &project, args.user).with_context(|| {
                format!(
                    "{} has no hooks mcptop can use: --hooks is for claude-code, codex and \
                     gemini (`mcptop setup {}` wraps its MCP servers)",
                    agent.name(),
                    agent.name()
                )
            })?,
        ),
        false => None,
    };
    if args.user && !args.hooks && !args.otel {
        bail!("--user goes with --hooks or --otel (whose settings to change)");
    }
    let otel_location = match args.otel {
        true => Some(
            setup::otel::location(agent, &home, &project, args.user).with_context(|| {
                format!(
                    "{} has no OpenTelemetry of its own: --otel is for claude-code, codex and \
                     gemini (`mcptop setup {}` wraps its MCP servers)",
                    agent.name(),
                    agent.name()
                )
            })?,
        ),
        false => None,
    };
    let locations = setup::locations(agent, &home, &project);
    let mut changed_any = false;
    // Locations that share a file are applied one after the other to its text.
    let mut by_path: BTreeMap<PathBuf, Vec<&Location>> = BTreeMap::new();
    for location in &locations {
        by_path
            .entry(location.path.clone())
            .or_default()
            .push(location);
    }
    // Every file is planned first: one that does not parse stops the run before any is
    // written.
    let mut edits = Vec::new();
    let mut reports = Vec::new();
    for (path, locations) in &by_path {
        let Some(before) = setup::read_config(path, base_of(path, &home, &project))? else {
            continue;
        };
        let mut text = before.clone();
        let mut entries = BTreeMap::new();
        let record = setup::read_record(&home, path);
        if args.undo {
            text = match &record {
                Some(r) if r.written == before => r.original.clone(),
                _ => {
                    for location in locations {
                        text = setup::undo(location, &text, record.as_ref())?;
                    }
                    text
                }
            };
        } else {
            for location in locations {
                let plan = setup::plan(location, &text, &exe)?;
                entries.extend(
                    plan.entries
                        .iter()
                        .map(|(k, v)| (format!("{}:{k}", location.scope), v.clone())),
                );
                text = plan.after.clone();
                reports.push(((*location).clone(), plan));
            }
        }
        edits.push((path.clone(), before, text, entries));
    }
    let mut found = edits.len();
    for (location, plan) in &reports {
        report(location, plan);
    }
    for (path, before, after, entries) in edits {
        changed_any |= apply(&home, &path, &before, &after, entries, args)?;
    }
    if let Some(location) = &hooks_location {
        let before = setup::read_config(&location.path, base_of(&location.path, &home, &project))?
            .unwrap_or_default();
        // Every call shows, MCP ones too: where a wrapped server's tap sees the same call,
        // the monitor shows one row.
        let command = match agent {
            Agent::ClaudeCode => format!("{} hook", shell_word(&exe)),
            other => format!("{} hook --agent {}", shell_word(&exe), other.name()),
        };
        let after = if args.undo {
            // As for --otel: the original only when nothing else was written since.
            // (`--skip-mcp`: what earlier setups installed.)
            let earlier = format!("{} hook --skip-mcp", shell_word(&exe));
            match setup::read_record(&home, &location.path) {
                Some(r)
                    if [&command, &earlier].iter().any(|command| {
                        setup::install_hooks(location, &r.original, command)
                            .is_ok_and(|t| t == before)
                    }) =>
                {
                    r.original
                }
                _ => setup::remove_hooks(location, &before)?,
            }
        } else {
            setup::install_hooks(location, &before, &command)?
        };
        let changed = apply(
            &home,
            &location.path,
            &before,
            &after,
            BTreeMap::new(),
            args,
        )?;
        changed_any |= changed;
        if changed && !args.undo && !args.dry_run && agent == Agent::Codex {
            println!(
                "note: Codex runs a hook only once you trust it; you asked for these, so \
                 setup trusted them in {} ([hooks.state]): see them in Codex's /hooks.",
                mcptop::sanitize::terminal(&location.path.display().to_string())
            );
        }
        found += 1;
    }
    if let Some(location) = &otel_location {
        changed_any |= otel(&home, &project, location, args)?;
        found += 1;
    }
    if found == 0 {
        let looked: Vec<String> = locations
            .iter()
            .map(|l| l.path.display().to_string())
            .collect();
        println!(
            "no {} configuration found (looked at {}); nothing to do",
            agent.name(),
            looked.join(", ")
        );
    } else if !changed_any {
        println!("nothing to change");
    }
    Ok(())
}

/// The directory a configuration file belongs to (the project's or the user's): no link
/// below it is followed.
fn base_of<'a>(path: &Path, home: &'a Path, project: &'a Path) -> &'a Path {
    if path.starts_with(project) {
        project
    } else {
        home
    }
}

/// A path as one shell word (Claude Code runs hook commands with a shell).
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Writes `after` over `path` (a backup of `before` beside it first), or prints the diff
/// with `--dry-run`; true when something changed.
fn apply(
    home: &Path,
    path: &Path,
    before: &str,
    after: &str,
    entries: BTreeMap<String, (String, String)>,
    args: &SetupArgs,
) -> Result<bool> {
    if before == after {
        return Ok(false);
    }
    if args.dry_run {
        print!("{}", setup::diff(path, before, after));
        return Ok(true);
    }
    if path.exists() {
        // A new file renamed into place, never a write through a link planted there.
        let backup = backup_path(path);
        setup::write_atomically(&backup, before)
            .with_context(|| format!("cannot write the backup {}", backup.display()))?;
    }
    if args.undo && after.is_empty() {
        // Setup made the file: undo takes it away (an agent may refuse an empty one).
        std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    } else {
        setup::write_atomically(path, after)?;
    }
    if args.undo {
        setup::forget_record(home, path);
        println!(
            "{}: restored (backup of what it was: {})",
            path.display(),
            backup_path(path).display()
        );
    } else {
        setup::save_record(home, path, before, after, entries)?;
        println!(
            "{}: updated (backup: {}; `mcptop setup … --undo` takes it out)",
            path.display(),
            backup_path(path).display()
        );
    }
    Ok(true)
}

/// `--otel`: the agent's telemetry settings, and the daemon's `[otlp] receive`.
fn otel(home: &Path, project: &Path, location: &Location, args: &SetupArgs) -> Result<bool> {
    let safe = |s: &str| mcptop::sanitize::terminal(s).into_owned();
    let before = setup::read_config(&location.path, base_of(&location.path, home, project))?
        .unwrap_or_default();
    let configured = mcptop::config::load_otlp().map_err(|e| anyhow::anyhow!("{e}"))?;
    let endpoints = setup::otel::Endpoints::configured(configured.as_ref());
    let after = if args.undo {
        // The recorded original, when putting the settings back into it gives the file as
        // it is (nothing else, such as the hooks, was written since); else just ours out.
        match setup::read_record(home, &location.path) {
            Some(r)
                if setup::otel::install(location, &r.original, &endpoints)
                    .is_ok_and(|i| i.text == before) =>
            {
                r.original
            }
            _ => setup::otel::remove(location, &before)?,
        }
    } else {
        let installed = setup::otel::install(location, &before, &endpoints)?;
        for (key, old) in &installed.replaced {
            println!(
                "{}: {} was {}; it now points at mcptop (`--undo` gives it back)",
                safe(&location.path.display().to_string()),
                safe(key),
                safe(&mcptop::sanitize::redact_urls(old))
            );
        }
        installed.text
    };
    let mut changed = apply(home, &location.path, &before, &after, BTreeMap::new(), args)?;
    if args.undo {
        return Ok(changed);
    }
    // The daemon receives: `[otlp] receive = true` in mcptop's own config file.
    let config = mcptop::config::default_path()
        .context("cannot tell where mcptop's config file goes (no home directory?)")?;
    let before = setup::read_config(&config, home)?.unwrap_or_default();
    let mut doc: toml_edit::DocumentMut = before.parse().map_err(|e: toml_edit::TomlError| {
        anyhow::anyhow!(
            "{}: not valid TOML, so it was not touched ({})",
            config.display(),
            e.message().trim()
        )
    })?;
    let otlp = doc
        .entry("otlp")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .with_context(|| format!("{}: its [otlp] is not a table", config.display()))?;
    if otlp.get("receive").and_then(|v| v.as_bool()) != Some(true) {
        otlp.insert("receive", toml_edit::value(true));
    }
    changed |= apply(
        home,
        &config,
        &before,
        &doc.to_string(),
        BTreeMap::new(),
        args,
    )?;
    if !args.dry_run {
        println!(
            "{} now sends its tool calls to mcptop's OTLP receiver ({}): a daemon started \
             from now on receives them; restart one that runs already (`mcptop serve` reads \
             [otlp] of {}).",
            location.agent.name(),
            match location.agent {
                Agent::Gemini => endpoints.grpc.clone(),
                _ => endpoints.http.clone(),
            },
            config.display()
        );
        println!(
            "note: tool details (arguments) may hold secrets; mcptop redacts them like its \
             taps do, but the agent sends them to whatever listens on those ports."
        );
        if location.agent == Agent::Gemini {
            println!(
                "note: Gemini CLI sends tool arguments only with `logPrompts` on, which also \
                 sends your prompts; mcptop reads neither prompt nor answer and keeps none."
            );
        }
    }
    Ok(changed)
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".mcptop-backup");
    path.with_file_name(name)
}

fn report(location: &Location, plan: &setup::Plan) {
    let safe = |s: &str| mcptop::sanitize::terminal(s).into_owned();
    let where_ = format!(
        "{} ({}, {})",
        safe(&location.path.display().to_string()),
        location.agent.name(),
        location.scope
    );
    for name in plan.wrapped.iter().map(|n| safe(n)) {
        println!("{where_}: {name}: wrapped with `mcptop wrap`");
    }
    for name in plan.already.iter().map(|n| safe(n)) {
        println!("{where_}: {name}: already wrapped");
    }
    for (name, url) in &plan.http {
        let name = safe(name);
        println!(
            "{where_}: {name}: an HTTP server, not rewritten: run `mcptop proxy --upstream {}` and point the agent at the address it prints",
            safe(&mcptop::sanitize::redact_urls(url))
        );
    }
}

/// `mcptop setup` with no agent: what each agent's configuration holds, and what setup
/// would change.
fn survey(home: &Path, project: &Path, exe: &str) -> Result<()> {
    let mut any = false;
    for agent in Agent::ALL {
        for location in setup::locations(agent, home, project) {
            let text =
                match setup::read_config(&location.path, base_of(&location.path, home, project)) {
                    Ok(Some(text)) => text,
                    Ok(None) => continue,
                    Err(e) => {
                        any = true;
                        println!("{}", mcptop::sanitize::terminal(&e.to_string()));
                        continue;
                    }
                };
            any = true;
            match setup::plan(&location, &text, exe) {
                Ok(plan)
                    if plan.wrapped.is_empty()
                        && plan.already.is_empty()
                        && plan.http.is_empty() => {}
                Ok(plan) => report(&location, &plan),
                Err(e) => println!("{e}"),
            }
        }
    }
    if any {
        println!("`mcptop setup AGENT` makes these changes (--dry-run shows the diff first)");
    } else {
        println!(
            "no agent configuration found here or in {} (agents: {})",
            home.display(),
            Agent::ALL.map(Agent::name).join(", ")
        );
    }
    Ok(())
}
