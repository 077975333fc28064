#!/usr/bin/env bash
# CPU used by the monitor, idle and busy, against a headless `mcptop tail` on the same
# stream in the same run (the baseline). Needs tmux (the monitor wants a terminal).
#
#   benches/tui_cpu.sh [IDLE_SECONDS] [BUSY_SECONDS]      (defaults 60 and 10)
#
# Idle: both attached to a quiet session (keep-alives every 15 s) for IDLE_SECONDS.
# Busy: both attached to a session fed 10,000 events/s by `mcptop serve --replay`.
# Prints CPU seconds and wake-ups (context switches, all threads) per process.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-60}
busy=${2:-10}
cargo build --release --quiet --bin mcptop
bin="$PWD/target/release/mcptop"
work=$(mktemp -d)
sock="mcptop-cpu-$$"
pids=()
cleanup() {
    tmux -L "$sock" kill-server 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

hz=$(getconf CLK_TCK)
cpu() { awk -v hz="$hz" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
wakeups() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ { n += $2 } END { print n }'; }

# start_pair URL SESSION TOKEN: the monitor in tmux and tail in the background.
start_pair() {
    tmux -L "$sock" new-session -d -s m -x 120 -y 30 \
        "'$bin' --url '$1' --session '$2' --token '$3'"
    "$bin" tail --url "$1" --session "$2" --token "$3" --json >/dev/null 2>&1 &
    tail_pid=$!
    pids+=("$tail_pid")
    for _ in $(seq 1 50); do
        tui_pid=$(pgrep -f -n -- "$bin --url $1" || true)
        [ -n "$tui_pid" ] && break
        sleep 0.1
    done
    [ -n "$tui_pid" ] || { echo "the monitor did not start" >&2; exit 1; }
}

measure() { # SECONDS LABEL
    sleep 3
    local t0 tt0 w0 tw0
    t0=$(cpu "$tui_pid"); tt0=$(cpu "$tail_pid"); w0=$(wakeups "$tui_pid"); tw0=$(wakeups "$tail_pid")
    sleep "$1"
    local t1 tt1 w1 tw1
    t1=$(cpu "$tui_pid"); tt1=$(cpu "$tail_pid"); w1=$(wakeups "$tui_pid"); tw1=$(wakeups "$tail_pid")
    awk -v l="$2" -v s="$1" -v a="$t0" -v b="$t1" -v c="$tt0" -v d="$tt1" -v e="$w0" -v f="$w1" -v g="$tw0" -v h="$tw1" 'BEGIN {
        printf "%-6s %3d s  monitor: %.3f CPU s (%.2f %% of a core), %d wake-ups   tail --json: %.3f CPU s (%.2f %%), %d wake-ups\n",
            l, s, b - a, 100 * (b - a) / s, f - e, d - c, 100 * (d - c) / s, h - g }'
}

# Idle: a session nobody calls tools in.
"$bin" serve --no-discovery >"$work/idle.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q "^listening on" "$work/idle.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/idle.out")
eval "$("$bin" session new --url "$url" --label quiet)"
start_pair "$url" "$MCPTOP_SESSION" "$MCPTOP_TOKEN"
measure "$idle" idle
tmux -L "$sock" kill-server
kill "$tail_pid"

# Busy: 10,000 events/s from a generated recording (10 calls, 1,000 events/s each).
python3 - "$work/busy.jsonl" "$busy" <<'PY'
import json, sys
path, seconds = sys.argv[1], int(sys.argv[2]) + 10
with open(path, "w") as f:
    f.write(json.dumps({"format": "mcptop-recording", "version": 1,
                        "started_at": "2026-01-01T00:00:00+00:00", "source": {}}) + "\n")
    n = 0
    for i in range(seconds * 10_000):
        t = i / 10_000
        call, step = i % 10, i // 10
        data = json.dumps({"token": call, "progress": step, "total": seconds * 1000,
                           "message": f"step {step}", "tool": f"tool_{call}",
                           "timestamp": "2026-01-01T00:00:00Z"})
        f.write(json.dumps([round(t, 6), "e", {"event": "message", "id": "", "data": data}]) + "\n")
PY
"$bin" serve --discovery-file "$work/d.json" --replay "$work/busy.jsonl" \
    --broadcast-capacity 4096 >"$work/busy.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q "^session " "$work/busy.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/busy.out")
session=$(sed -n 's/^session \([^ ]*\) .*/\1/p' "$work/busy.out")
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' "$work/d.json")
start_pair "$url" "$session" "$admin"
measure "$busy" busy
