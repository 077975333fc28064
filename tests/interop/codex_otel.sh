#!/usr/bin/env bash
# The real Codex CLI (@openai/codex), its model a scripted Responses API endpoint on
# loopback (scripted_responses.py), runs two real commands with its OpenTelemetry pointed
# at `mcptop serve` by `mcptop setup codex --otel`: each call shows on the monitor with the
# command it ran and the agent's own duration (`sleep 1` takes a second), its model turns
# as rows with their tokens, and `mcptop sessions` counts the turns.
# Usage: codex_otel.sh MCPTOP CODEX
set -euo pipefail
bin=$1 codex=$2
. "$(dirname "$0")/lib.sh"
mkdir -p "$home/.codex"
receive_otlp
python3 "$(dirname "$0")/scripted_responses.py" "$home/model.port" & pids+=($!)
wait_for "$home/model.port" . || true
cat >"$home/.codex/config.toml" <<TOML
model = "gpt-5.4"
model_provider = "scripted"

[model_providers.scripted]
name = "scripted"
base_url = "http://127.0.0.1:$(cat "$home/model.port")/v1"
env_key = "SCRIPTED_KEY"
wire_api = "responses"
TOML
"$bin" setup codex --otel >"$home/setup.out"
grep -q "127.0.0.1:$http_port" "$home/.codex/config.toml" || {
    echo "setup --otel did not point Codex at the receiver:"; cat "$home/.codex/config.toml"; exit 1; }
"$bin" serve >"$home/serve.out" 2>&1 & pids+=($!)
wait_for "$home/serve.out" "^discovery file" || true
grep -q "OTLP/HTTP on http://127.0.0.1:$http_port" "$home/serve.out" || {
    echo "mcptop serve does not receive OTLP:"; cat "$home/serve.out"; exit 1; }
"$bin" tail --json >"$home/tail.out" 2>&1 & pids+=($!)
wait_for "$home/tail.out" '"connected"' || true

(cd "$project" && SCRIPTED_KEY=not-a-key timeout 120 "$codex" exec --skip-git-repo-check \
    "run the two commands" >"$home/codex.out" 2>&1) || {
    echo "codex exec failed:"; tail -20 "$home/codex.out"; exit 1; }
ok=0
for _ in $(seq 100); do
    if python3 - "$home/tail.out" <<'PY'
import json, sys
calls = {}
for line in open(sys.argv[1]):
    try:
        u = json.loads(line)
    except ValueError:
        continue
    if u.get("type") == "call":
        calls[(u["call"]["tool"], u["call"]["token"])] = u["call"]
done = [c for c in calls.values() if c["state"] == "done"]
execs = sorted((c for c in done if c["tool"] == "exec_command"), key=lambda c: c["elapsed_s"])
turns = [c for c in done if c["tool"] == "gpt-5.4"]
if len(execs) < 2 or len(turns) < 3:
    sys.exit(1)
def check(cond, what):
    if not cond:
        print(f"{what}: {json.dumps(list(calls.values()))[:2000]}", file=sys.stderr)
        sys.exit(2)
check(all(c["session"].startswith("codex · ") for c in execs + turns), "the session label")
check(execs[0]["message"] == "echo hello-from-codex", "what the first command was")
check(execs[1]["message"] == "sleep 1; echo second", "what the second command was")
check(execs[1]["elapsed_s"] >= 1.0, "the agent's own duration of `sleep 1`")
check(all(c["token"].startswith("turn ") and " in · " in c["message"] for c in turns),
      "model turns with their tokens")
check(any("session: 3 turns · 300 in · 21 out" in (c.get("message") or "") for c in turns),
      "the session's turns and tokens so far")
PY
    then ok=1; break; else [ $? = 2 ] && break; fi
    sleep 0.2
done
if [ $ok != 1 ]; then
    echo "Codex's calls did not show as they should; tail:"; tail -30 "$home/tail.out"
    tail -5 "$home/codex.out"
    exit 1
fi
grep -q "3 turns" <<<"$("$bin" sessions)" || { echo "mcptop sessions does not count the turns:"; "$bin" sessions; exit 1; }
echo "codex: two exec_command calls with their commands and real durations, three model turns, one session"
