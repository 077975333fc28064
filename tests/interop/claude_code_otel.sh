#!/usr/bin/env bash
# The real Claude Code (@anthropic-ai/claude-code), its model a scripted endpoint on
# loopback (scripted_model.py), runs two real Bash calls with its OpenTelemetry pointed at
# `mcptop serve` by `mcptop setup claude-code --otel`, once per OTLP protocol
# (http/protobuf, http/json, grpc): each call shows on the monitor with the agent's own
# duration (`sleep 2` takes 2 s), and its model turns as rows of their own. Then the
# same with the hooks on too: each call is still ONE row.
# Usage: claude_code_otel.sh MCPTOP CLAUDE
set -euo pipefail
bin=$1 claude=$2
. "$(dirname "$0")/lib.sh"
receive_otlp
(cd "$project" && "$bin" setup claude-code --otel --project "$project") >"$home/setup.out"
grep -q "127.0.0.1:$http_port" "$home/.claude/settings.json" || {
    echo "setup --otel did not point Claude Code at the receiver:"; cat "$home/.claude/settings.json"; exit 1; }
"$bin" serve >"$home/serve.out" 2>&1 & pids+=($!)
python3 "$(dirname "$0")/scripted_model.py" "$home/model.port" & pids+=($!)
for _ in $(seq 100); do
    [ -s "$home/model.port" ] && grep -q "^receiving OpenTelemetry" "$home/serve.out" && break
    sleep 0.1
done
grep -q "OTLP/gRPC on http://127.0.0.1:$grpc_port" "$home/serve.out" || {
    echo "mcptop serve does not receive OTLP:"; cat "$home/serve.out"; exit 1; }
model="http://127.0.0.1:$(cat "$home/model.port")"
"$bin" tail --json >"$home/tail.out" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q '"connected"' "$home/tail.out" && break; sleep 0.1; done

# Sets one env key of Claude Code's user settings.
set_env() {
    python3 - "$home/.claude/settings.json" "$1" "$2" <<'PY'
import json, sys
path, key, value = sys.argv[1:4]
settings = json.load(open(path))
settings["env"][key] = value
json.dump(settings, open(path, "w"), indent=2)
PY
}

# Runs Claude Code once; then the rows of its session, as `id tool state duration`.
run_claude() {
    (cd "$project" && IS_SANDBOX=1 ANTHROPIC_BASE_URL="$model" ANTHROPIC_API_KEY=scripted \
        timeout 120 "$claude" -p "run the two commands" --permission-mode bypassPermissions) \
        >"$home/claude.out" 2>&1 || { echo "claude failed:"; cat "$home/claude.out"; return 1; }
}

# The final state of every row of the sessions labelled $1*, once `sleep 2` is done and the
# last model turn shows (the exporter flushes at exit; bounded wait).
rows() {
    python3 - "$home/tail.out" "$1" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    try:
        v = json.loads(line)
    except ValueError:
        continue
    c = v.get("call")
    if v.get("type") != "call" or not c["session"].startswith(sys.argv[2]):
        continue
    rows[c["id"]] = (c["tool"], c["state"], c["elapsed_s"], c.get("message") or "")
for i, (tool, state, elapsed, message) in sorted(rows.items()):
    print(i, tool, state, elapsed, message, sep="\t")
PY
}

check_run() { # label-prefix, what
    local deadline=$((SECONDS + 20)) out
    while :; do
        out=$(rows "$1")
        if grep -qP '\tBash\tdone\t2\.\d+\tsleep 2; echo second$' <<<"$out" \
            && grep -qP '\tBash\tdone\t[0-9.]+\techo hello-from-claude$' <<<"$out" \
            && grep -qP '\tdone\t[0-9.]+\t\d+ in · \d+ out' <<<"$out"; then
            break
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "$2: the calls did not show as expected:"; echo "$out" | sed 's/^/    /'
            echo "  mcptop serve's /health: $(curl -s "$(sed -n 's/^listening on //p' "$home/serve.out")/health")"
            return 1
        fi
        sleep 0.2
    done
    local bash_rows
    bash_rows=$(echo "$out" | grep -cP '\tBash\t')
    [ "$bash_rows" = 2 ] || { echo "$2: $bash_rows Bash rows, not 2:"; echo "$out" | sed 's/^/    /'; return 1; }
    echo "claude-code $2: both Bash calls on the monitor, sleep 2 took $(echo "$out" | grep -P 'sleep 2' | cut -f4) s; model turns shown"
}

session_of_last_run() { # the label of the session the newest row belongs to
    python3 - "$home/tail.out" <<'PY'
import json, sys
last = None
for line in open(sys.argv[1]):
    try:
        v = json.loads(line)
    except ValueError:
        continue
    if v.get("type") == "call":
        last = v["call"]["session"]
print(last or "")
PY
}

failed=0
for protocol in http/protobuf http/json grpc; do
    case $protocol in
        grpc) endpoint="http://127.0.0.1:$grpc_port" ;;
        *) endpoint="http://127.0.0.1:$http_port/v1/logs" ;;
    esac
    set_env OTEL_EXPORTER_OTLP_LOGS_PROTOCOL "$protocol"
    set_env OTEL_EXPORTER_OTLP_LOGS_ENDPOINT "$endpoint"
    run_claude || { failed=1; continue; }
    # Each run is an agent session of its own: its rows are those of the newest session.
    for _ in $(seq 100); do label=$(session_of_last_run); [ -n "$label" ] && break; sleep 0.1; done
    check_run "$label" "over $protocol" || failed=1
done

# With the hooks as well: the hook and the telemetry report each call; one row each.
(cd "$project" && "$bin" setup claude-code --hooks --project "$project") >/dev/null
set_env OTEL_EXPORTER_OTLP_LOGS_PROTOCOL http/protobuf
set_env OTEL_EXPORTER_OTLP_LOGS_ENDPOINT "http://127.0.0.1:$http_port/v1/logs"
run_claude || failed=1
check_run "claude-code · project" "with hooks and telemetry" || failed=1
health=$(curl -s "$(sed -n 's/^listening on //p' "$home/serve.out")/health")
python3 - "$health" <<'PY' || failed=1
import json, sys
otlp = json.loads(sys.argv[1])["otlp"]
if otlp["refused"] or not otlp["calls"]:
    sys.exit(f"the receiver refused exports or took no calls: {otlp}")
print(f"receiver: {otlp['exports']} exports, {otlp['records']} records, {otlp['calls']} call events, none refused")
PY
(cd "$project" && "$bin" setup claude-code --otel --undo --project "$project") >/dev/null
if grep -q OTEL_ "$home/.claude/settings.json" 2>/dev/null; then
    echo "--undo left telemetry settings behind"; failed=1
fi
exit $failed
