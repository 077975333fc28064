#!/usr/bin/env bash
# The real Claude Code (@anthropic-ai/claude-code) reads what `mcptop setup claude-code`
# wrote: a user-scope stdio server (server-everything) wrapped with `mcptop wrap` is listed
# by `claude mcp list` as connected (it starts the wrapped server and speaks MCP to it,
# without an account); `--undo` gives the server its own command back (Claude Code
# rewrites ~/.claude.json meanwhile, in its own layout and with keys of its own, which
# stay).
# Usage: claude_code_setup.sh MCPTOP NODE EVERYTHING_JS CLAUDE
set -euo pipefail
bin=$1 node=$2 everything=$3 claude=$4
home=$(mktemp -d)
project="$home/project"
mkdir -p "$project"
cleanup() {
    pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$home/.mcptop/mcp.json" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$home"
}
trap cleanup EXIT
cat >"$home/.claude.json" <<JSON
{
  "mcpServers": {
    "everything": { "command": "$node", "args": ["$everything", "stdio"] }
  }
}
JSON
cp "$home/.claude.json" "$home/original.json"
(cd "$project" && HOME="$home" "$bin" setup claude-code --project "$project") >"$home/setup.out"
grep -q "everything: wrapped" "$home/setup.out" || { echo "setup did not wrap: $(cat "$home/setup.out")"; exit 1; }
listed=$(cd "$project" && HOME="$home" timeout 120 "$claude" mcp list 2>&1 || true)
echo "$listed" | grep -E "^everything: .*mcptop wrap --label[ =]everything -- .* (✔|✓) Connected" >/dev/null || {
    echo "claude mcp list does not show the wrapped server connected:"; echo "$listed" | sed 's/^/    /'; exit 1; }
echo "claude-code: claude mcp list shows the wrapped server connected"
(cd "$project" && HOME="$home" "$bin" setup claude-code --project "$project" --undo) >/dev/null
python3 - "$home/original.json" "$home/.claude.json" <<'PY' || exit 1
import json, sys
before, after = (json.load(open(p))["mcpServers"]["everything"] for p in sys.argv[1:3])
if before != after:
    sys.exit(f"--undo did not give the server back: {after} != {before}")
PY
echo "claude-code: --undo gave the server its own command back"
