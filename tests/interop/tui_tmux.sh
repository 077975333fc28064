#!/usr/bin/env bash
# End to end: `mcptop demo` in a real terminal (tmux), driven with keys, read back from
# the pane, at 120x30 and at 60x15. Usage: tui_tmux.sh /path/to/mcptop
set -euo pipefail
bin="$1"
sock="mcptop-e2e-$$"
t() { tmux -L "$sock" "$@"; }
cleanup() { t kill-server 2>/dev/null || true; }
trap cleanup EXIT

# Waits (10 s at most) until the pane shows $2; prints the pane and fails otherwise.
wait_for() {
    local what="$1" pattern="$2"
    for _ in $(seq 1 100); do
        if t capture-pane -p -t e2e | grep -q -- "$pattern"; then return 0; fi
        sleep 0.1
    done
    echo "tui e2e: no $what on screen:" >&2
    t capture-pane -p -t e2e >&2
    return 1
}

for size in 120x30 60x15; do
    cols=${size%x*}; rows=${size#*x}
    t new-session -d -s e2e -x "$cols" -y "$rows" "'$bin' demo --pace 4; echo EXITED \$?; sleep 60"
    wait_for "header ($size)" "CONNECTED"
    wait_for "a call row ($size)" "[▶✓✗] [a-z_]"
    wait_for "key hints ($size)" "q quit"
    # Rows whose progress advances: the table changes while we watch.
    before=$(t capture-pane -p -t e2e | grep -E "[▶✓✗] " || true)
    sleep 1.5
    after=$(t capture-pane -p -t e2e | grep -E "[▶✓✗] " || true)
    if [ "$before" = "$after" ]; then
        echo "tui e2e: nothing moved in 1.5 s ($size):" >&2
        t capture-pane -p -t e2e >&2
        exit 1
    fi
    t send-keys -t e2e p
    wait_for "the PAUSED banner ($size)" "PAUSED"
    t send-keys -t e2e p
    t send-keys -t e2e '?'
    wait_for "the help ($size)" "Glyphs"
    t send-keys -t e2e Escape
    t send-keys -t e2e Down Enter
    wait_for "the detail view ($size)" "messages, newest first"
    t send-keys -t e2e Escape q
    wait_for "a clean exit ($size)" "EXITED 0"
    # The terminal is restored: the monitor's screen is gone from the pane.
    if t capture-pane -p -t e2e | grep -q "q quit"; then
        echo "tui e2e: the screen was not restored ($size)" >&2
        t capture-pane -p -t e2e >&2
        exit 1
    fi
    t kill-session -t e2e
    echo "tui e2e: $size ok"
done

# A wrapped stdio server, watched with `mcptop` (all sessions): its calls appear live, a
# call without a progress token says so, and a second server gets its own session column.
home=$(mktemp -d)
server_pid=""
finish() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$home"; cleanup; }
trap finish EXIT
cat >"$home/server.sh" <<'SH'
#!/bin/sh
while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')
  case "$line" in
    *'"method":"initialize"'*)
      printf '%s\n' '{"jsonrpc":"2.0","id":'"$id"',"result":{"serverInfo":{"name":"notes","version":"1.0"}}}' ;;
    *'"method":"tools/call"'*)
      sleep 3
      printf '%s\n' '{"jsonrpc":"2.0","id":'"$id"',"result":{"content":[]}}' ;;
  esac
done
SH
HOME="$home" "$bin" serve >"$home/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q '^discovery file' "$home/serve.out" && break; sleep 0.1; done
agent() { # $1 label, $2 tool
    { printf '%s\n' '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}'
      sleep 0.5
      printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"'"$2"'"}}'
      sleep 8; } | HOME="$home" "$bin" wrap --label "$1" -- sh "$home/server.sh" >/dev/null
}
for size in 120x30 60x15; do
    cols=${size%x*}; rows=${size#*x}
    t new-session -d -s e2e -x "$cols" -y "$rows" "HOME='$home' '$bin'; echo EXITED \$?; sleep 60"
    wait_for "the all-sessions header ($size)" "all sess"
    agent "notes A" search_notes &
    agent_a=$!
    agent "notes B" list_notes &
    agent_b=$!
    wait_for "the first wrapped call ($size)" "▶ .*search_notes"
    wait_for "the second wrapped call ($size)" "list_notes"
    wait_for "why the bar is empty ($size)" "no progress token"
    if [ "$cols" -ge 100 ]; then
        wait_for "the session column ($size)" "notes A"
    fi
    wait_for "the calls finishing ($size)" "✓ .*search_notes"
    t send-keys -t e2e q
    wait_for "a clean exit ($size)" "EXITED 0"
    wait "$agent_a" "$agent_b"
    t kill-session -t e2e
    echo "tui e2e: wrapped servers at $size ok"
done

# Faults in a real terminal: the daemon dies (the header says why the link is down), comes
# back on the same port without the session (the monitor says it stopped, and why), and
# q leaves a sane terminal (canonical mode and echo back on).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_daemon() {
    HOME="$home" "$bin" serve --port "$port" >"$home/serve.out" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do grep -q '^discovery file' "$home/serve.out" && break; sleep 0.1; done
}
for size in 120x30 60x15; do
    cols=${size%x*}; rows=${size#*x}
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    start_daemon
    eval "$(HOME="$home" "$bin" session new --label faulty --url "http://127.0.0.1:$port")"
    t new-session -d -s e2e -x "$cols" -y "$rows" \
        "HOME='$home' '$bin' --url '$MCPTOP_URL' --session '$MCPTOP_SESSION' --token '$MCPTOP_TOKEN' --keepalive 1; echo EXITED \$?; stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e echo -e -icanon -e -echo | tr '\n' ' '; echo; sleep 60"
    wait_for "the header ($size)" "CONNECTED"
    curl -s -X POST -H "authorization: Bearer $MCPTOP_TOKEN" -H 'content-type: application/json' \
        "$MCPTOP_URL/session/$MCPTOP_SESSION/publish" \
        -d '{"type":"progress","token":1,"tool":"build","progress":1,"total":4}' >/dev/null
    wait_for "the call ($size)" "▶ build"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    wait_for "why the link is down ($size)" "link down: .*connection refused"
    wait_for "the retry countdown ($size)" "RECONNECTING"
    start_daemon
    wait_for "why it stopped ($size)" "stopped: session no longer exists"
    wait_for "the rows kept ($size)" "▶ build"
    t send-keys -t e2e q
    wait_for "a clean exit ($size)" "EXITED 0"
    wait_for "a sane terminal ($size)" "^icanon echo *$"
    if t capture-pane -p -t e2e | grep -q "q quit"; then
        echo "tui e2e: the screen was not restored after the fault ($size)" >&2
        t capture-pane -p -t e2e >&2
        exit 1
    fi
    t kill-session -t e2e
    echo "tui e2e: daemon loss and a vanished session at $size ok"
done
