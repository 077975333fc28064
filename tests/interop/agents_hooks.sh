#!/usr/bin/env bash
# Every agent through its hooks, each installed by `mcptop setup AGENT --hooks`, its model
# a scripted endpoint on loopback, the monitor (`mcptop`, in tmux) open from the start:
#   - the real Claude Code (scripted_agents.py): a subagent's Bash call carries the
#     subagent; its MCP call of the wrapped server-everything is ONE row (the hook's
#     report says `same_as` the tap's call); a Bash call the permission rules deny ends
#     (it never stays "waiting for permission");
#   - the real Codex CLI (scripted_responses.py) and Gemini CLI (scripted_gemini.py): their
#     built-in tool calls with the commands they ran, and the agents view, which opens by
#     itself, shows both agents at once;
#   - an MCP call the hook reports (Claude Code's documented PreToolUse payload) that its
#     wrapped server never sees: the header says the agent is stuck before the wire.
# Codex's hooks run without --dangerously-bypass-hook-trust: setup trusted them.
# Usage: agents_hooks.sh MCPTOP NODE EVERYTHING_JS CLAUDE CODEX GEMINI
set -euo pipefail
# A command that fails ends the script: say which, so that no failure is silent.
trap 'echo "agents: a command failed at line $LINENO: $BASH_COMMAND" >&2' ERR
bin=$1 node=$2 everything=$3 claude=$4 codex=$5 gemini=$6
. "$(dirname "$0")/lib.sh"
sock="mcptop-agents-$$"
t() { tmux -L "$sock" "$@"; }
cleanup_tmux() { t kill-server 2>/dev/null || true; cleanup; }
trap cleanup_tmux EXIT
failed=0

# The servers and settings: server-everything wrapped for Claude Code (user scope); the
# models; Gemini CLI with an API key from the environment and no trust prompt.
mkdir -p "$home/.codex" "$home/.gemini"
cat >"$home/.claude.json" <<JSON
{ "mcpServers": { "everything": { "command": "$node", "args": ["$everything", "stdio"] } } }
JSON
echo '{"security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}}}' \
    >"$home/.gemini/settings.json"
for model in agents responses gemini; do
    python3 "$(dirname "$0")/scripted_$model.py" "$home/$model.port" & pids+=($!)
done
for model in agents responses gemini; do wait_for "$home/$model.port" . || true; done
cat >"$home/.codex/config.toml" <<TOML
model = "gpt-5.4"
model_provider = "scripted"

[model_providers.scripted]
name = "scripted"
base_url = "http://127.0.0.1:$(cat "$home/responses.port")/v1"
env_key = "SCRIPTED_KEY"
wire_api = "responses"
TOML
cp "$home/.codex/config.toml" "$home/codex.before"
cd "$project"
"$bin" setup claude-code >/dev/null
"$bin" setup claude-code --hooks >/dev/null
"$bin" setup codex --hooks >"$home/setup-codex.out"
"$bin" setup gemini --hooks >/dev/null
grep -q "setup trusted them" "$home/setup-codex.out" || { echo "setup codex --hooks said:"; cat "$home/setup-codex.out"; exit 1; }

"$bin" serve >"$home/serve.out" 2>&1 & pids+=($!)
wait_for "$home/serve.out" "^discovery file" || true
"$bin" tail --json >"$home/tail.out" 2>&1 & pids+=($!)
wait_for "$home/tail.out" '"connected"' || true
t new-session -d -s agents -x 120 -y 30 "HOME='$home' XDG_CONFIG_HOME='$home/.config' '$bin'"

# The final state of every call in tail's output: `session tool state message subagent
# same_as error`, one per line.
rows() {
    python3 - "$home/tail.out" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    try:
        v = json.loads(line)
    except ValueError:
        continue
    if v.get("type") == "call":
        c = v["call"]
        rows[c["id"]] = c
for i, c in sorted(rows.items()):
    print(i, c.get("session"), c["tool"], c["state"], c.get("message") or "", c.get("subagent") or "",
          c.get("same_as") or "", c.get("error") or "", sep="\t")
PY
}
# await_rows WHAT PATTERN...: up to 20 s for every pattern (grep -P) to match a row.
await_rows() {
    local what=$1 deadline=$((SECONDS + 20)) out ok
    shift
    while :; do
        out=$(rows) ok=1
        for pattern in "$@"; do grep -qP -- "$pattern" <<<"$out" || ok=0; done
        [ $ok = 1 ] && { echo "$what"; return 0; }
        if [ $SECONDS -ge $deadline ]; then
            echo "$what: FAILED, the rows:"; echo "$out" | sed 's/^/    /'
            for pattern in "$@"; do grep -qP -- "$pattern" <<<"$out" || echo "  no row matches $pattern"; done
            return 1
        fi
        sleep 0.2
    done
}
# await_pane WHAT PATTERN: up to 15 s for the monitor's pane to show PATTERN (grep -E).
await_pane() {
    for _ in $(seq 150); do
        grep -qE -- "$2" <<<"$(t capture-pane -p -t agents)" && { echo "$1"; return 0; }
        sleep 0.1
    done
    echo "$1: FAILED, the monitor shows:"; t capture-pane -p -t agents | sed 's/^/    /'
    return 1
}

# Claude Code: a subagent, an MCP call through the tap, a denied command. (Tool search
# off, so that the MCP tool is offered to the model by name.)
(ENABLE_TOOL_SEARCH=false IS_SANDBOX=1 ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$home/agents.port")" \
    ANTHROPIC_API_KEY=scripted timeout 180 "$claude" -p "go" \
    --allowedTools "Bash(echo:*)" "mcp__everything__echo" "Agent" "Task" >"$home/claude.out" 2>&1) \
    || { echo "claude failed:"; tail -20 "$home/claude.out"; failed=1; }
await_rows "claude-code: the subagent's call, one row for the MCP call, the denied command ended" \
    '^\d+\tclaude-code · project\t(Agent|Task)\tdone\tlook around\t' \
    '^\d+\tclaude-code · project\tBash\tdone\techo from-subagent\tgeneral-purpose\t' \
    '^\d+\tclaude-code · project\tmcp__everything__echo\tdone\t[^\t]*\t\t\d+\t' \
    '^\d+\teverything\techo\tdone\t' \
    '^\d+\tclaude-code · project\tBash\tlost\ttouch denied-file\t\t\tno end came: the agent moved on while this call waited for permission' \
    || failed=1
# The MCP call's hook report names the tap's call, of server everything and tool echo.
rows | python3 -c '
import sys
rows = [l.rstrip("\n").split("\t") for l in sys.stdin]
ids = {r[0]: r for r in rows}
mcp = [r for r in rows if r[2] == "mcp__everything__echo"]
ok = len(mcp) == 1 and ids.get(mcp[0][6], [None, None, None])[1:3] == ["everything", "echo"]
sys.exit(0 if ok else f"the MCP call is not one row with its tap call: {mcp}")
' || failed=1

# Codex and Gemini CLI, one after the other: both show in the agents view.
(SCRIPTED_KEY=not-a-key timeout 120 "$codex" exec --skip-git-repo-check "run the two commands" \
    >"$home/codex.out" 2>&1) || { echo "codex failed:"; tail -20 "$home/codex.out"; failed=1; }
(GEMINI_API_KEY=not-a-key GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$(cat "$home/gemini.port")" \
    timeout 120 "$gemini" -p "run the two commands" --yolo >"$home/gemini.out" 2>&1) \
    || { echo "gemini failed:"; tail -20 "$home/gemini.out"; failed=1; }
await_rows "codex and gemini: their built-in calls with the commands they ran" \
    '^\d+\tcodex · project\tBash\tdone\techo hello-from-codex\t' \
    '^\d+\tcodex · project\tBash\tdone\tsleep 1; echo second\t' \
    '^\d+\tgemini · project\trun_shell_command\tdone\techo hello-from-gemini\t' \
    '^\d+\tgemini · project\trun_shell_command\tdone\tsleep 1; echo second\t' \
    '^\d+\tgemini · project\tsession\tdone\tended' \
    || failed=1
await_pane "the agents view opened by itself and shows the agents" 'Agents \(A\)' || failed=1
for agent in "claude-code · project" "codex · project" "gemini · project"; do
    await_pane "  $agent on it" " $agent +(waiting|permission|input|working|idle|ended)" || failed=1
done

# The call that never reached its server: the hook reports an MCP call of `everything`
# (Claude Code's documented PreToolUse payload), and its tap sees none.
echo '{"hook_event_name":"PreToolUse","session_id":"stuck-1","transcript_path":"/dev/null","cwd":"'"$project"'","permission_mode":"default","tool_name":"mcp__everything__get-sum","tool_input":{"a":1,"b":2},"tool_use_id":"toolu_stuck"}' \
    | "$bin" hook
t send-keys -t agents Escape
await_pane "the monitor says the agent is stuck before the wire" \
    'mcp__everything__get-sum: the agent started it .* never saw it' || failed=1

# Undo: Codex's config as it was.
"$bin" setup codex --hooks --undo >/dev/null
cmp -s "$home/codex.before" "$home/.codex/config.toml" || {
    echo "setup codex --hooks --undo did not give the file back:"; diff "$home/codex.before" "$home/.codex/config.toml"; failed=1; }
t send-keys -t agents q
exit $failed
