use super::*;

const EXE: &str = "/opt/mcptop/bin/mcptop";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/setup")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn location(agent: Agent, scope: &str) -> Location {
    locations(agent, Path::new("/home/me"), Path::new("/home/me/shop"))
        .into_iter()
        .find(|l| l.scope == scope)
        .unwrap()
}

fn scoped(location: &Location, plan: &Plan) -> BTreeMap<String, (String, String)> {
    plan.entries
        .iter()
        .map(|(k, v)| (format!("{}:{k}", location.scope), v.clone()))
        .collect()
}

/// setup, setup again (nothing more), undo (the same bytes), for one file.
fn round_trip(location: &Location, text: &str) -> Plan {
    let first = plan(location, text, EXE).unwrap();
    assert_ne!(
        first.after, text,
        "{:?}: nothing was wrapped",
        location.path
    );
    let again = plan(location, &first.after, EXE).unwrap();
    assert_eq!(again.after, first.after, "never wraps twice");
    assert!(again.wrapped.is_empty());
    assert_eq!(again.already, first.wrapped);
    let record = Record {
        path: location.path.display().to_string(),
        original: text.to_owned(),
        written: first.after.clone(),
        entries: scoped(location, &first),
    };
    assert_eq!(
        undo(location, &first.after, Some(&record)).unwrap(),
        text,
        "byte for byte"
    );
    // Without the record too, each entry comes back.
    let unwrapped = undo(location, &first.after, None).unwrap();
    let reparsed = plan(location, &unwrapped, EXE).unwrap();
    assert_eq!(
        reparsed.wrapped, first.wrapped,
        "all unwrapped: {unwrapped}"
    );
    first
}

fn server<'a>(after: &'a Value, path: &[&str], name: &str) -> &'a Value {
    let mut v = after;
    for k in path {
        v = &v[*k];
    }
    &v[name]
}

#[test]
fn every_agent_format_round_trips() {
    let cases = [
        (
            Agent::ClaudeCode,
            "project",
            "claude-code.mcp.json",
            vec!["mcpServers"],
        ),
        (Agent::ClaudeCode, "user", "claude.json", vec!["mcpServers"]),
        (
            Agent::ClaudeCode,
            "local",
            "claude.json",
            vec!["projects", "/home/me/shop", "mcpServers"],
        ),
        (
            Agent::ClaudeDesktop,
            "user",
            "claude_desktop_config.json",
            vec!["mcpServers"],
        ),
        (
            Agent::Cursor,
            "project",
            "cursor.mcp.json",
            vec!["mcpServers"],
        ),
        (Agent::VsCode, "project", "vscode.mcp.json", vec!["servers"]),
        (
            Agent::Gemini,
            "user",
            "gemini.settings.json",
            vec!["mcpServers"],
        ),
    ];
    for (agent, scope, file, path) in cases {
        let text = fixture(file);
        let loc = location(agent, scope);
        let done = round_trip(&loc, &text);
        let after: Value = serde_json::from_str(&done.after).unwrap();
        for name in &done.wrapped {
            let entry = server(&after, &path, name);
            assert_eq!(entry["command"], EXE, "{file} {name}");
            let args: Vec<&str> = entry["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert_eq!(
                &args[..3],
                ["wrap", format!("--label={name}").as_str(), "--"],
                "{file}"
            );
        }
        // Everything else in the entry and the file is kept.
        let before: Value = serde_json::from_str(&text).unwrap();
        for name in &done.wrapped {
            let (b, a) = (server(&before, &path, name), server(&after, &path, name));
            for key in ["env", "cwd", "type", "timeout"] {
                assert_eq!(b.get(key), a.get(key), "{file} {name} {key}");
            }
            let args: Vec<Value> = a["args"].as_array().unwrap()[3..].to_vec();
            let mut expected = vec![b["command"].clone()];
            expected.extend(b["args"].as_array().cloned().unwrap_or_default());
            assert_eq!(
                args, expected,
                "{file} {name}: the original command and args follow --"
            );
        }
    }
}

#[test]
fn key_order_and_layout_survive_and_http_servers_are_listed_not_rewritten() {
    let text = fixture("claude-code.mcp.json");
    let done = plan(&location(Agent::ClaudeCode, "project"), &text, EXE).unwrap();
    assert_eq!(done.wrapped, ["filesystem", "github"]);
    assert_eq!(
        done.http,
        [("linear".to_owned(), "https://mcp.linear.app/mcp".to_owned())]
    );
    // The order of servers, and of each server's keys, is the order before.
    let order = |t: &str, path: &[&str]| -> Vec<String> {
        let at = jsonedit::find(t, jsonedit::root(t).unwrap(), path).unwrap();
        jsonedit::members(t, at)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(
        order(&text, &["mcpServers"]),
        order(&done.after, &["mcpServers"])
    );
    for name in ["filesystem", "github"] {
        assert_eq!(
            order(&text, &["mcpServers", name]),
            order(&done.after, &["mcpServers", name]),
            "{name}"
        );
    }
    // Untouched lines stay byte for byte.
    assert!(done
        .after
        .contains("      \"env\": { \"GITHUB_PERSONAL_ACCESS_TOKEN\": \"${GITHUB_TOKEN}\" }\n"));
    assert!(done.after.contains("    \"linear\": {\n      \"type\": \"http\",\n      \"url\": \"https://mcp.linear.app/mcp\"\n    }"));
}

#[test]
fn codex_toml_keeps_its_comments_and_round_trips() {
    let text = fixture("codex.config.toml");
    let loc = location(Agent::Codex, "user");
    let done = round_trip(&loc, &text);
    assert_eq!(done.wrapped, ["docs"]);
    assert_eq!(
        done.http,
        [("figma".to_owned(), "https://mcp.figma.com/mcp".to_owned())]
    );
    assert!(done
        .after
        .contains("# The docs server, kept up to date by hand."));
    assert!(done.after.contains("# Codex configuration"));
    let doc: toml::Table = done.after.parse().unwrap();
    let docs = &doc["mcp_servers"]["docs"];
    assert_eq!(docs["command"].as_str(), Some(EXE));
    let args: Vec<&str> = docs["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "wrap",
            "--label=docs",
            "--",
            "docs-server",
            "--port",
            "4000"
        ]
    );
    assert!(docs.get("env").is_some());
}

#[test]
fn undo_after_other_edits_unwraps_only_what_setup_wrapped() {
    let loc = location(Agent::Cursor, "project");
    let text = fixture("cursor.mcp.json");
    let done = plan(&loc, &text, EXE).unwrap();
    let record = Record {
        original: text.clone(),
        written: done.after.clone(),
        entries: scoped(&loc, &done),
        ..Record::default()
    };
    // The user adds a server and changes the remote one's URL since.
    let edited = done
        .after
        .replace("http://localhost:3000/mcp", "http://localhost:4000/mcp");
    let undone = undo(&loc, &edited, Some(&record)).unwrap();
    assert_eq!(
        undone,
        text.replace("http://localhost:3000/mcp", "http://localhost:4000/mcp")
    );
}

#[test]
fn a_file_that_does_not_parse_is_not_touched() {
    let loc = location(Agent::ClaudeCode, "project");
    let e = plan(&loc, "{ \"mcpServers\": { ", EXE)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid JSON, so it was not touched"), "{e}");
    let e = plan(&location(Agent::Codex, "user"), "[mcp_servers\n", EXE)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid TOML"), "{e}");
}

#[test]
fn hooks_merge_with_what_is_there_and_come_out_alone() {
    let loc = hooks_location(
        Agent::ClaudeCode,
        Path::new("/home/me"),
        Path::new("/home/me/shop"),
        false,
    )
    .unwrap();
    let text = r#"{
  "permissions": { "allow": ["Bash(npm test)"] },
  "hooks": {
    "PostToolUse": [
      { "matcher": "Edit|Write", "hooks": [{ "type": "command", "command": "npx prettier --write" }] }
    ]
  }
}
"#;
    let command = format!("{EXE} hook");
    let installed = install_hooks(&loc, text, &command).unwrap();
    let v: Value = serde_json::from_str(&installed).unwrap();
    for (event, tool) in hooks::hook_events(Agent::ClaudeCode) {
        let groups = v["hooks"][event].as_array().unwrap();
        let ours = groups
            .iter()
            .find(|g| g["hooks"][0]["command"] == command.as_str())
            .unwrap_or_else(|| panic!("{event}: {installed}"));
        assert_eq!(ours.get("matcher").is_some(), *tool, "{event}");
    }
    assert_eq!(
        v["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
        "npx prettier --write"
    );
    assert_eq!(
        install_hooks(&loc, &installed, &command).unwrap(),
        installed,
        "once only"
    );
    // Removing leaves the user's own hook, and empty lists for the events it added.
    let mut expected: Value = serde_json::from_str(text).unwrap();
    for (event, _) in hooks::hook_events(Agent::ClaudeCode) {
        if *event != "PostToolUse" {
            expected["hooks"][event] = serde_json::json!([]);
        }
    }
    let removed_text = remove_hooks(&loc, &installed).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&removed_text).unwrap(),
        expected
    );
    let removed: Value = serde_json::from_str(&remove_hooks(&loc, &installed).unwrap()).unwrap();
    assert_eq!(removed["hooks"]["PostToolUse"].as_array().unwrap().len(), 1);
    assert_eq!(removed["permissions"]["allow"][0], "Bash(npm test)");
    for (event, _) in hooks::hook_events(Agent::ClaudeCode) {
        let groups = removed["hooks"][event].as_array().map_or(0, Vec::len);
        assert!(groups <= 1, "{event}");
    }
    // An empty or missing settings file gets the hooks too.
    let fresh: Value = serde_json::from_str(&install_hooks(&loc, "", &command).unwrap()).unwrap();
    assert!(fresh["hooks"]["PreToolUse"].is_array());
}

#[test]
fn codex_trusts_a_hook_by_the_hash_it_computes() {
    // The hash the real Codex 0.169.0 accepted for this hook (its /hooks would write the
    // same): its hooks ran with this trust and without --dangerously-bypass-hook-trust.
    assert_eq!(
        hooks::codex_trust_hash("PreToolUse", "/tmp/cx/dump.sh"),
        "sha256:3b0bb895644b922d8a307703fd16ee36fd22f722b70551a78590aafa4d45a3aa"
    );
    assert_eq!(
        hooks::codex_trust_hash("Stop", "/tmp/cx/dump.sh"),
        "sha256:0ba074da447c34e01b59900ce6731e69ac65e97311ce9eaf761c17c347f7a605"
    );
}

#[test]
fn codex_hooks_go_in_with_their_trust_and_come_out_moving_later_trust_down() {
    let loc = hooks_location(
        Agent::Codex,
        Path::new("/home/me"),
        Path::new("/home/me/shop"),
        false,
    )
    .unwrap();
    let file = "/home/me/.codex/config.toml";
    let text = format!(
        r#"model = "gpt-5.4"

# my own check
[[hooks.PreToolUse]]
matcher = "^Bash$"
[[hooks.PreToolUse.hooks]]
type = "command"
command = "my-check"

[hooks.state."{file}:pre_tool_use:0:0"]
trusted_hash = "sha256:mine"
"#
    );
    let command = format!("{EXE} hook --agent codex");
    let installed = install_hooks(&loc, &text, &command).unwrap();
    let v: toml::Value = toml::from_str(&installed).unwrap();
    let hooks = &v["hooks"];
    for (event, _) in hooks::hook_events(Agent::Codex) {
        let groups = hooks[event].as_array().unwrap();
        let at = groups
            .iter()
            .position(|g| g["hooks"][0]["command"].as_str() == Some(command.as_str()))
            .unwrap_or_else(|| panic!("{event}: {installed}"));
        assert_eq!(at, usize::from(*event == "PreToolUse"), "{event}");
        let key = installed
            .lines()
            .find(|l| l.contains(&format!(":{at}:0\"]")) && l.contains(file))
            .is_some();
        assert!(key, "{event}");
    }
    let state = hooks["state"].as_table().unwrap();
    assert_eq!(
        state[&format!("{file}:pre_tool_use:1:0")]["trusted_hash"].as_str(),
        Some(hooks::codex_trust_hash("PreToolUse", &command).as_str())
    );
    assert_eq!(
        state[&format!("{file}:pre_tool_use:0:0")]["trusted_hash"].as_str(),
        Some("sha256:mine")
    );
    assert_eq!(
        install_hooks(&loc, &installed, &command).unwrap(),
        installed
    );
    // Out again: the file as it was, comment and all.
    assert_eq!(remove_hooks(&loc, &installed).unwrap(), text);
    // A hook the user added after ours keeps its trust, one place down.
    let later = format!(
        "{installed}\n[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = \"command\"\ncommand = \"notify\"\n\n\
         [hooks.state.\"{file}:stop:1:0\"]\ntrusted_hash = \"sha256:later\"\n"
    );
    let v: toml::Value = toml::from_str(&remove_hooks(&loc, &later).unwrap()).unwrap();
    assert_eq!(
        v["hooks"]["Stop"][0]["hooks"][0]["command"].as_str(),
        Some("notify")
    );
    let state = v["hooks"]["state"].as_table().unwrap();
    assert_eq!(
        state[&format!("{file}:stop:0:0")]["trusted_hash"].as_str(),
        Some("sha256:later")
    );
    assert_eq!(state.len(), 2, "{state:?}");
    // Not a list of groups: refused, untouched.
    let e = install_hooks(&loc, "[hooks]\nStop = 3\n", &command)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a list of hook groups"), "{e}");
}

#[test]
fn gemini_hooks_take_no_matcher_and_come_out_alone() {
    let loc = hooks_location(
        Agent::Gemini,
        Path::new("/home/me"),
        Path::new("/home/me/shop"),
        false,
    )
    .unwrap();
    assert_eq!(loc.path, Path::new("/home/me/shop/.gemini/settings.json"));
    let text = "{\n  \"mcpServers\": {}\n}\n";
    let command = format!("{EXE} hook --agent gemini");
    let installed = install_hooks(&loc, text, &command).unwrap();
    let v: Value = serde_json::from_str(&installed).unwrap();
    for (event, _) in hooks::hook_events(Agent::Gemini) {
        let group = &v["hooks"][event][0];
        assert_eq!(group["hooks"][0]["command"], command.as_str(), "{event}");
        assert!(group.get("matcher").is_none(), "{event}");
    }
    let removed: Value = serde_json::from_str(&remove_hooks(&loc, &installed).unwrap()).unwrap();
    for (event, _) in hooks::hook_events(Agent::Gemini) {
        assert_eq!(removed["hooks"][event], serde_json::json!([]), "{event}");
    }
    assert!(hooks_location(Agent::Cursor, Path::new("/h"), Path::new("/p"), false).is_none());
}
