//! `mcptop setup` on real files under a temporary HOME: the diff, the edit, its backup,
//! running twice, `--undo` byte for byte (and after other edits), Claude Code's hooks, and a
//! file that does not parse.

use crate::common;

use std::path::Path;

use common::process::{run, temp_dir};
use serde_json::Value;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/setup")
            .join(name),
    )
    .unwrap()
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn setup_wraps_undo_restores_and_hooks_install_beside_the_users_own() {
    let home = temp_dir("setup");
    let project = home.join("shop");
    std::fs::create_dir_all(&project).unwrap();
    let project = std::fs::canonicalize(&project).unwrap();
    let p = project.to_str().unwrap();
    let mcp_json = project.join(".mcp.json");
    let claude_json = home.join(".claude.json");
    let codex = home.join(".codex/config.toml");
    std::fs::write(&mcp_json, fixture("claude-code.mcp.json")).unwrap();
    let claude = fixture("claude.json").replace("/home/me/shop", p);
    std::fs::write(&claude_json, &claude).unwrap();
    std::fs::create_dir_all(codex.parent().unwrap()).unwrap();
    std::fs::write(&codex, fixture("codex.config.toml")).unwrap();

    // With no agent: what is there.
    let survey = run(&home, &["setup", "--project", p]);
    let said = text(&survey);
    assert!(survey.status.success(), "{said}");
    for expected in [
        "filesystem: wrapped",
        "memory: wrapped",
        "postgres: wrapped",
        "docs: wrapped",
        "linear: an HTTP server",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }
    // --dry-run: a diff, and nothing written.
    let dry = run(
        &home,
        &["setup", "claude-code", "--project", p, "--dry-run"],
    );
    let said = text(&dry);
    assert!(
        said.contains("+      \"command\": \"")
            && said.contains("\"wrap\", \"--label=filesystem\""),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(&mcp_json).unwrap(),
        fixture("claude-code.mcp.json")
    );

    let real = run(&home, &["setup", "claude-code", "--project", p]);
    assert!(real.status.success(), "{}", text(&real));
    let wrapped: Value =
        serde_json::from_str(&std::fs::read_to_string(&mcp_json).unwrap()).unwrap();
    assert_eq!(wrapped["mcpServers"]["filesystem"]["args"][0], "wrap");
    assert!(wrapped["mcpServers"]["filesystem"]["command"]
        .as_str()
        .unwrap()
        .ends_with("mcptop"));
    let user: Value =
        serde_json::from_str(&std::fs::read_to_string(&claude_json).unwrap()).unwrap();
    assert_eq!(user["mcpServers"]["memory"]["args"][0], "wrap");
    assert_eq!(
        user["projects"][p]["mcpServers"]["postgres"]["args"][0],
        "wrap"
    );
    assert_eq!(user["numStartups"], 12);
    assert_eq!(
        std::fs::read_to_string(project.join(".mcp.json.mcptop-backup")).unwrap(),
        fixture("claude-code.mcp.json")
    );
    // Twice: nothing more.
    let again = run(&home, &["setup", "claude-code", "--project", p]);
    assert!(
        text(&again).contains("nothing to change"),
        "{}",
        text(&again)
    );

    // The user edits another entry of .mcp.json; undo keeps that and unwraps the rest.
    let edited = std::fs::read_to_string(&mcp_json)
        .unwrap()
        .replace("https://mcp.linear.app/mcp", "https://mcp.linear.app/v2");
    std::fs::write(&mcp_json, &edited).unwrap();
    let undo = run(&home, &["setup", "claude-code", "--project", p, "--undo"]);
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(
        std::fs::read_to_string(&mcp_json).unwrap(),
        fixture("claude-code.mcp.json")
            .replace("https://mcp.linear.app/mcp", "https://mcp.linear.app/v2")
    );
    assert_eq!(
        std::fs::read_to_string(&claude_json).unwrap(),
        claude,
        "byte for byte"
    );

    // Codex: its comments stay; undo gives the same bytes.
    assert!(run(&home, &["setup", "codex", "--project", p])
        .status
        .success());
    let toml = std::fs::read_to_string(&codex).unwrap();
    assert!(
        toml.contains("# The docs server, kept up to date by hand.") && toml.contains("\"wrap\""),
        "{toml}"
    );
    assert!(run(&home, &["setup", "codex", "--project", p, "--undo"])
        .status
        .success());
    assert_eq!(
        std::fs::read_to_string(&codex).unwrap(),
        fixture("codex.config.toml")
    );

    // Hooks, beside a hook of the user's own; undo takes out only mcptop's.
    let settings = project.join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let own = "{\n  \"hooks\": {\n    \"PostToolUse\": [\n      { \"matcher\": \"Edit\", \"hooks\": [{ \"type\": \"command\", \"command\": \"npx prettier --write\" }] }\n    ]\n  }\n}\n";
    std::fs::write(&settings, own).unwrap();
    let hooks = run(&home, &["setup", "claude-code", "--project", p, "--hooks"]);
    assert!(hooks.status.success(), "{}", text(&hooks));
    let installed: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    let pre = installed["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    // MCP tools are published too: the monitor shows one row where a tap sees the call.
    assert!(pre.ends_with("mcptop hook"), "{pre}");
    assert_eq!(
        installed["hooks"]["PostToolUse"].as_array().unwrap().len(),
        2
    );
    let undo = run(
        &home,
        &["setup", "claude-code", "--project", p, "--hooks", "--undo"],
    );
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        own,
        "byte for byte"
    );

    // Codex's hooks go into its user config with their trust; undo gives the file back.
    let before = std::fs::read_to_string(&codex).unwrap();
    let hooks = run(&home, &["setup", "codex", "--project", p, "--hooks"]);
    let said = text(&hooks);
    assert!(hooks.status.success(), "{said}");
    assert!(said.contains("setup trusted them"), "{said}");
    let toml = std::fs::read_to_string(&codex).unwrap();
    assert!(
        toml.contains("[[hooks.PreToolUse]]")
            && toml.contains("hook --agent codex")
            && toml.contains("trusted_hash = \"sha256:"),
        "{toml}"
    );
    let undo = run(
        &home,
        &["setup", "codex", "--project", p, "--hooks", "--undo"],
    );
    assert!(undo.status.success(), "{}", text(&undo));
    assert_eq!(std::fs::read_to_string(&codex).unwrap(), before);
    // Gemini CLI's, in the project's settings.
    let hooks = run(&home, &["setup", "gemini", "--project", p, "--hooks"]);
    assert!(hooks.status.success(), "{}", text(&hooks));
    let gemini: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join(".gemini/settings.json")).unwrap(),
    )
    .unwrap();
    let before_tool = gemini["hooks"]["BeforeTool"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(
        before_tool.ends_with("mcptop hook --agent gemini"),
        "{before_tool}"
    );
    // An agent without hooks: said so, in one line.
    let cursor = run(&home, &["setup", "cursor", "--project", p, "--hooks"]);
    assert_eq!(cursor.status.code(), Some(1));
    assert!(
        text(&cursor).contains("no hooks mcptop can use"),
        "{}",
        text(&cursor)
    );

    // A file that does not parse: one line, exit 1, untouched.
    std::fs::write(&mcp_json, "{ \"mcpServers\": ").unwrap();
    let broken = run(&home, &["setup", "claude-code", "--project", p]);
    let said = text(&broken);
    assert_eq!(broken.status.code(), Some(1), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(
        said.contains("not valid JSON, so it was not touched"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(&mcp_json).unwrap(),
        "{ \"mcpServers\": "
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn setup_never_writes_through_a_link_a_repository_ships_nor_reads_a_huge_file() {
    let home = temp_dir("setup-link");
    let project = home.join("cloned");
    std::fs::create_dir_all(&project).unwrap();
    let project = std::fs::canonicalize(&project).unwrap();
    let p = project.to_str().unwrap();
    // The user's own file, with a secret in a server's env.
    let claude_json = home.join(".claude.json");
    let secret =
        r#"{"mcpServers":{"db":{"command":"db-server","env":{"DB_TOKEN":"s3cr3t-value"}}}}"#;
    std::fs::write(&claude_json, secret).unwrap();
    // The repository's .mcp.json is a link to it.
    let mcp_json = project.join(".mcp.json");
    std::os::unix::fs::symlink(&claude_json, &mcp_json).unwrap();
    let out = run(&home, &["setup", "claude-code", "--project", p]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("symbolic link"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
    // The link is still a link, no copy of the secret landed in the project.
    assert!(std::fs::symlink_metadata(&mcp_json)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&claude_json).unwrap(), secret);
    for entry in std::fs::read_dir(&project).unwrap() {
        let path = entry.unwrap().path();
        if path != mcp_json {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(!text.contains("s3cr3t"), "{}", path.display());
        }
    }
    // A directory link on the way (.claude -> elsewhere) is refused the same way.
    std::fs::remove_file(&mcp_json).unwrap();
    let elsewhere = home.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("settings.json"), "{}").unwrap();
    std::os::unix::fs::symlink(&elsewhere, project.join(".claude")).unwrap();
    let out = run(&home, &["setup", "claude-code", "--hooks", "--project", p]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("symbolic link"), "{said}");
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("settings.json")).unwrap(),
        "{}"
    );
    // A file past the cap is refused before it is read.
    std::fs::remove_file(project.join(".claude")).unwrap();
    let huge = std::fs::File::create(&mcp_json).unwrap();
    huge.set_len(mcptop::setup::MAX_CONFIG + 1).unwrap();
    let out = run(&home, &["setup", "claude-code", "--project", p]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("over the"), "{said}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// `setup AGENT --otel`: the agent's telemetry points at the receiver, the daemon's config
/// says to receive, a value of the user's that it replaces is named, and `--undo` takes
/// exactly that out (a file setup made goes away).
#[test]
fn otel_points_the_agent_at_the_receiver_and_the_daemon_receives() {
    let home = temp_dir("setup-otel");
    let project = home.join("shop");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    let project = std::fs::canonicalize(&project).unwrap();
    // Claude Code reads telemetry settings from the user's settings only.
    let settings = home.join(".claude/settings.json");
    let theirs = "{\n  \"env\": {\n    \"OTEL_LOGS_EXPORTER\": \"console\"\n  }\n}\n";
    std::fs::write(&settings, theirs).unwrap();
    let dir = project.to_str().unwrap();
    let out = run(&home, &["setup", "claude-code", "--otel", "--project", dir]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("OTEL_LOGS_EXPORTER was console"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("may hold secrets"), "{}", text(&out));
    let env: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(env["env"]["OTEL_LOGS_EXPORTER"], "otlp");
    assert_eq!(
        env["env"]["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"],
        "http://127.0.0.1:4318/v1/logs"
    );
    let config = home.join(".config/mcptop/config.toml");
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("receive = true"));
    // The monitor still reads the config file with its new section.
    let out = run(&home, &["config"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = run(
        &home,
        &["setup", "claude-code", "--otel", "--undo", "--project", dir],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), theirs);

    // Gemini's settings did not exist: setup makes them, undo takes the file away.
    let gemini = project.join(".gemini/settings.json");
    let out = run(&home, &["setup", "gemini", "--otel", "--project", dir]);
    assert!(out.status.success(), "{}", text(&out));
    let parsed: Value = serde_json::from_str(&std::fs::read_to_string(&gemini).unwrap()).unwrap();
    assert_eq!(parsed["telemetry"]["otlpProtocol"], "grpc");
    let out = run(
        &home,
        &["setup", "gemini", "--otel", "--undo", "--project", dir],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!gemini.exists());

    // An agent without OpenTelemetry of its own says so.
    let out = run(&home, &["setup", "cursor", "--otel", "--project", dir]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no OpenTelemetry of its own"),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&home).unwrap();
}

/// Hooks and telemetry in one file (`--hooks --otel --user`): undoing one leaves the other.
#[test]
fn undoing_the_telemetry_keeps_the_hooks_in_the_same_file() {
    let home = temp_dir("setup-otel-hooks");
    let project = home.join("shop");
    std::fs::create_dir_all(&project).unwrap();
    let dir = project.to_str().unwrap();
    let settings = home.join(".claude/settings.json");
    let out = run(
        &home,
        &[
            "setup",
            "claude-code",
            "--hooks",
            "--otel",
            "--user",
            "--project",
            dir,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run(
        &home,
        &["setup", "claude-code", "--otel", "--undo", "--project", dir],
    );
    assert!(out.status.success(), "{}", text(&out));
    let left: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert!(left["hooks"]["PreToolUse"].is_array(), "{left}");
    assert!(left["env"].get("OTEL_LOGS_EXPORTER").is_none(), "{left}");
    let out = run(
        &home,
        &[
            "setup",
            "claude-code",
            "--hooks",
            "--undo",
            "--user",
            "--project",
            dir,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let left: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert!(
        left.get("hooks").is_none_or(|h| h
            .as_object()
            .is_some_and(|o| o.values().all(|v| v.as_array().is_some_and(Vec::is_empty)))),
        "{left}"
    );
    std::fs::remove_dir_all(&home).unwrap();
}

/// Codex keeps its configuration in `$CODEX_HOME` when that is set: setup edits that file,
/// and keys the hooks' trust by its path as Codex resolves it.
#[test]
fn setup_codex_follows_codex_home() {
    let home = temp_dir("setup-codex-home");
    let codex_home = home.join("elsewhere");
    std::fs::create_dir_all(&codex_home).unwrap();
    let config = codex_home.join("config.toml");
    std::fs::write(&config, "model = \"gpt-5.4\"\n").unwrap();
    let out = common::process::command(&home, &["setup", "codex", "--hooks"])
        .env("CODEX_HOME", &codex_home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let toml = std::fs::read_to_string(&config).unwrap();
    let resolved = std::fs::canonicalize(&config).unwrap();
    assert!(
        toml.contains("[[hooks.PreToolUse]]")
            && toml.contains(&format!("{}:pre_tool_use:0:0", resolved.display())),
        "{toml}"
    );
    assert!(!home.join(".codex/config.toml").exists());
    std::fs::remove_dir_all(&home).unwrap();
}
