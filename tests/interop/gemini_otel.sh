#!/usr/bin/env bash
# The real Gemini CLI (@google/gemini-cli), its model a scripted Gemini API endpoint on
# loopback (scripted_gemini.py), runs two real shell commands with its OpenTelemetry
# (OTLP/gRPC, its default) pointed at `mcptop serve` by `mcptop setup gemini --otel`:
# each call shows on the monitor with the command it ran and the agent's own duration
# (`sleep 1` takes a second), and its model turns with their tokens.
# Usage: gemini_otel.sh MCPTOP GEMINI
set -euo pipefail
bin=$1 gemini=$2
. "$(dirname "$0")/lib.sh"
mkdir -p "$home/.gemini"
receive_otlp
# An API key from the environment, and no trust prompt for the project.
echo '{"security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}}}' \
    >"$home/.gemini/settings.json"
python3 "$(dirname "$0")/scripted_gemini.py" "$home/model.port" & pids+=($!)
wait_for "$home/model.port" . || true
(cd "$project" && "$bin" setup gemini --otel) >"$home/setup.out"
grep -q "127.0.0.1:$grpc_port" "$project/.gemini/settings.json" || {
    echo "setup --otel did not point Gemini CLI at the receiver:"; cat "$project/.gemini/settings.json"; exit 1; }
"$bin" serve >"$home/serve.out" 2>&1 & pids+=($!)
wait_for "$home/serve.out" "^discovery file" || true
grep -q "OTLP/gRPC on http://127.0.0.1:$grpc_port" "$home/serve.out" || {
    echo "mcptop serve does not receive OTLP:"; cat "$home/serve.out"; exit 1; }
"$bin" tail --json >"$home/tail.out" 2>&1 & pids+=($!)
wait_for "$home/tail.out" '"connected"' || true

(cd "$project" && GEMINI_API_KEY=not-a-key GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$(cat "$home/model.port")" \
    timeout 120 "$gemini" -p "run the two commands" --yolo >"$home/gemini.out" 2>&1) || {
    echo "gemini failed:"; tail -20 "$home/gemini.out"; exit 1; }
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
shells = sorted((c for c in done if c["tool"] == "run_shell_command"), key=lambda c: c["elapsed_s"])
turns = [c for c in done if c["token"].startswith("turn ")]
if len(shells) < 2 or len(turns) < 3:
    sys.exit(1)
def check(cond, what):
    if not cond:
        print(f"{what}: {json.dumps(list(calls.values()))[:2000]}", file=sys.stderr)
        sys.exit(2)
check(all(c["session"].startswith("gemini-cli · ") for c in shells + turns), "the session label")
check(shells[0]["message"] == "echo hello-from-gemini", "what the first command was")
check(shells[1]["message"] == "sleep 1; echo second", "what the second command was")
check(shells[1]["elapsed_s"] >= 1.0, "the agent's own duration of `sleep 1`")
check(any(" 100 in · 7 out" in " " + (c.get("message") or "") for c in turns), "a turn's tokens")
PY
    then ok=1; break; else [ $? = 2 ] && break; fi
    sleep 0.2
done
if [ $ok != 1 ]; then
    echo "Gemini CLI's calls did not show as they should; tail:"; tail -30 "$home/tail.out"
    tail -5 "$home/gemini.out"
    exit 1
fi
echo "gemini: two run_shell_command calls with their commands and real durations, its model turns, one session"
