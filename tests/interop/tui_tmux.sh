#!/usr/bin/env bash
# End to end: `mcptop demo` in a real terminal (tmux), driven with keys, read back from
# the pane, at 120x30, 80x24, 60x15 and 40x12. Usage: tui_tmux.sh /path/to/mcptop
set -euo pipefail
# A command that fails ends the script: say which, so that no failure is silent.
trap 'echo "tui e2e: a command failed at line $LINENO: $BASH_COMMAND" >&2' ERR
bin="$1"
sock="mcptop-e2e-$$"
t() { tmux -L "$sock" "$@"; }
# A fresh tmux server for the next session: a killed last session takes its server down,
# and a new session must not race a server on its way out.
fresh() { t kill-server 2>/dev/null || true; for _ in $(seq 1 50); do t ls >/dev/null 2>&1 || break; sleep 0.1; done; sleep 0.2; }
cleanup() { t kill-server 2>/dev/null || true; }
trap cleanup EXIT

# Polls the pane (10 s at most) until: $1 is `shows` or `lacks`, $2 `pane` or `head` (its
# first line), $4 the pattern; $3 says what was awaited. Prints the pane and fails otherwise.
await_pane() {
    local want="$1" where="$2" what="$3" pattern="$4" text
    for _ in $(seq 1 100); do
        text=$(t capture-pane -p -t e2e)
        # Its first line, cut in the shell: a pipe into `head` could end the writer with
        # SIGPIPE, which pipefail would take for a failure.
        [ "$where" = head ] && text=${text%%$'\n'*}
        if grep -q -- "$pattern" <<<"$text"; then
            [ "$want" = shows ] && return 0
        else
            [ "$want" = lacks ] && return 0
        fi
        sleep 0.1
    done
    echo "tui e2e: the $where $( [ "$want" = shows ] && echo "shows no" || echo "still shows") $what:" >&2
    t capture-pane -p -t e2e >&2
    return 1
}
wait_for() { await_pane shows pane "$1" "$2"; }
# (A key sent right after Escape would reach the monitor as Alt and that key: the next
# key waits for the screen Escape left to go.)
wait_gone() { await_pane lacks pane "$1" "$2"; }
wait_head() { await_pane shows head "$1" "$2"; }
wait_head_without() { await_pane lacks head "$1" "$2"; }
# Fails at once when the pane shows $2 now ($1 says what that would mean).
refuse() {
    if grep -q -- "$2" <<<"$(t capture-pane -p -t e2e)"; then
        echo "tui e2e: $1:" >&2
        t capture-pane -p -t e2e >&2
        exit 1
    fi
}
# When the header counts running calls, one is in view (running ▶, stalled ‼, waiting for
# input ? or permission ⚑) or counted above or below.
running_in_view() {
    local pane
    pane=$(t capture-pane -p -t e2e)
    if grep -q "[0-9] running" <<<"${pane%%$'\n'*}" \
        && ! grep -q -e "^[▶‼?⚑] " -e "running)" -e "running above" <<<"$pane"; then
        echo "tui e2e: the header counts running calls, but none is in view ($1):" >&2
        printf '%s\n' "$pane" >&2
        return 1
    fi
}

for size in 120x30 80x24 60x15 40x12; do
    cols=${size%x*}; rows=${size#*x}
    fresh
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
    # The counts come first in the header, at every width.
    wait_head "the running count first ($size)" "CONNECTED  [0-9][0-9]* running"
    t send-keys -t e2e p
    wait_for "the PAUSED banner ($size)" "PAUSED"
    t send-keys -t e2e p
    t send-keys -t e2e '?'
    wait_for "the help ($size)" "Glyphs"
    t send-keys -t e2e Escape
    wait_gone "the help ($size)" "Glyphs"
    # A filter hides rows, so the header says so at every width; Esc takes it away.
    t send-keys -t e2e / && t send-keys -t e2e -l state:running && t send-keys -t e2e Enter
    wait_head "the filter ($size)" "\[filter"
    refuse "a finished row passed the filter state:running ($size)" "^✓ "
    t send-keys -t e2e Escape
    wait_head_without "the cleared filter ($size)" "\[filter"
    # The column chooser: an enabled column a narrow pane cannot draw says why.
    t send-keys -t e2e C
    wait_for "the column chooser ($size)" "Columns (Space"
    if [ "$cols" -le 60 ]; then
        wait_for "a column without room ($size)" "(no room)"
    fi
    t send-keys -t e2e Escape
    wait_gone "the column chooser ($size)" "Columns (Space"
    # A call's detail, left open while calls finish: back on the table, the running
    # calls are in view or counted.
    t send-keys -t e2e Down Enter
    wait_for "the detail view ($size)" "messages, newest first"
    sleep 3
    t send-keys -t e2e Escape
    wait_gone "the detail view ($size)" "messages, newest first"
    running_in_view "after the detail, $size"
    t send-keys -t e2e q
    wait_for "a clean exit ($size)" "EXITED 0"
    # The terminal is restored: the monitor's screen is gone from the pane.
    refuse "the screen was not restored ($size)" "q quit"
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
    *'"method":"tools/list"'*)
      printf '%s\n' '{"jsonrpc":"2.0","id":'"$id"',"result":{"tools":[{"name":"search_notes","description":"Searches the notes"},{"name":"list_notes","description":"Lists the notes","execution":{"taskSupport":"optional"}}]}}' ;;
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
      printf '%s\n' '{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{}}'
      sleep 0.5
      printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"'"$2"'"}}'
      sleep 8; } | HOME="$home" "$bin" wrap --label "$1" -- sh "$home/server.sh" >/dev/null
}
for size in 120x30 80x24 60x15 40x12; do
    cols=${size%x*}; rows=${size#*x}
    fresh
    t new-session -d -s e2e -x "$cols" -y "$rows" "HOME='$home' '$bin'; echo EXITED \$?; sleep 60"
    wait_for "the header ($size)" "CONNECTED"
    agent "notes A" search_notes &
    agent_a=$!
    agent "notes B" list_notes &
    agent_b=$!
    wait_for "the first wrapped call ($size)" "▶ .*search_notes"
    wait_for "the second wrapped call ($size)" "list_notes"
    wait_for "why the bar is empty ($size)" "no progress tok"
    if [ "$cols" -ge 100 ]; then
        wait_for "the session column ($size)" "notes A"
    fi
    wait_for "the calls finishing ($size)" "✓ .*search_notes"
    wait_for "both calls finished ($size)" "✓ .*list_notes"
    # Nothing else arrives: the header's counts still catch up with the calls' ends.
    wait_head_without "a running call once both ended ($size)" "[0-9] running"
    # The other views: the servers and their tools, the statistics, the timeline.
    t send-keys -t e2e I
    wait_for "the servers view ($size)" "Servers and their tools"
    wait_for "the wrapped server's name ($size)" "notes 1.0"
    wait_for "a listed tool ($size)" "search_notes *Searches the notes"
    t send-keys -t e2e T
    wait_for "the statistics ($size)" "Per tool"
    wait_for "a tool's row in the statistics ($size)" "search_notes"
    t send-keys -t e2e W
    wait_for "the timeline ($size)" "Timeline"
    wait_for "a bar on the timeline ($size)" "█"
    t send-keys -t e2e Escape
    wait_for "back on the table ($size)" "✓ .*search_notes"
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
for size in 120x30 80x24 60x15 40x12; do
    cols=${size%x*}; rows=${size#*x}
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    start_daemon
    eval "$(HOME="$home" "$bin" session new --label faulty --url "http://127.0.0.1:$port")"
    fresh
    t new-session -d -s e2e -x "$cols" -y "$rows" \
        "HOME='$home' MCPTOP_TOKEN='$MCPTOP_TOKEN' '$bin' --url '$MCPTOP_URL' --session '$MCPTOP_SESSION' --keepalive 1; echo EXITED \$?; stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e echo -e -icanon -e -echo | tr '\n' ' '; echo; sleep 60"
    wait_for "the header ($size)" "CONNECTED"
    curl -s -X POST -H "authorization: Bearer $MCPTOP_TOKEN" -H 'content-type: application/json' \
        "$MCPTOP_URL/session/$MCPTOP_SESSION/publish" \
        -d '{"type":"progress","token":1,"tool":"build","progress":1,"total":4}' >/dev/null
    wait_for "the call ($size)" "▶ build"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    wait_for "why the link is down ($size)" "link down: .*connection refused"
    wait_for "the retry countdown ($size)" "RECONNECTING"
    start_daemon
    wait_for "why it stopped ($size)" "stopped: session no"
    # The call of the daemon that died is lost, not running or stalled for ever.
    wait_for "the lost call ($size)" "◌ build"
    t send-keys -t e2e q
    # The reason stays after the screen closes, with tail's exit status for it.
    wait_for "the reason after the screen ($size)" "mcptop: session no longer exists"
    wait_for "its exit status ($size)" "EXITED 5"
    wait_for "a sane terminal ($size)" "^icanon echo *$"
    refuse "the screen was not restored after the fault ($size)" "q quit"
    t kill-session -t e2e
    echo "tui e2e: daemon loss and a vanished session at $size ok"
done

# All day at 80x24: for 90 s of `mcptop demo --pace 10 --no-bursts`, whenever the header
# counts running calls, a running row or the `↓ N more (M running)` line is on screen.
fresh
t new-session -d -s e2e -x 80 -y 24 "'$bin' demo --pace 10 --no-bursts; echo EXITED \$?; sleep 60"
wait_for "the demo's header" "CONNECTED"
checks=0
for _ in $(seq 1 45); do
    sleep 2
    running_in_view "the demo at 80x24"
    pane=$(t capture-pane -p -t e2e)
    if grep -q "[0-9] running" <<<"${pane%%$'\n'*}"; then
        checks=$((checks + 1))
    fi
done
[ "$checks" -gt 10 ] || { echo "tui e2e: the demo ran almost nothing ($checks checks)" >&2; exit 1; }
t send-keys -t e2e q
wait_for "a clean exit after 90 s" "EXITED 0"
t kill-session -t e2e
echo "tui e2e: 90 s of the demo at 80x24 kept running calls in view ($checks checks)"

# The session of the fault test is not this one's.
unset MCPTOP_URL MCPTOP_SESSION MCPTOP_TOKEN

# A daemon killed (-9) and started again under the monitor: the old run's running calls
# become lost (no stalled ghosts of them), the header names the new address.
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
rm -f "$home/.mcptop/mcp.json"
HOME="$home" "$bin" serve --workload --pace 4 --no-bursts >"$home/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q '^discovery file' "$home/serve.out" && break; sleep 0.1; done
old=$(sed -n 's/^listening on http:\/\/\(.*\)$/\1/p' "$home/serve.out")
fresh
t new-session -d -s e2e -x 120 -y 30 "HOME='$home' '$bin'; echo EXITED \$?; sleep 60"
wait_for "the first daemon" "CONNECTED.*$old"
wait_for "a running call" "^▶ "
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
HOME="$home" "$bin" serve --workload --pace 4 --no-bursts >"$home/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q '^discovery file' "$home/serve.out" && break; sleep 0.1; done
new=$(sed -n 's/^listening on http:\/\/\(.*\)$/\1/p' "$home/serve.out")
wait_for "the new daemon in the header" "CONNECTED.*$new"
wait_for "the old run's calls, lost" "^◌ "
wait_for "the lost count" "[0-9] lost"
refuse "the header still names the old daemon" "$old"
t send-keys -t e2e c
wait_gone "the lost calls after c" "^◌ "
t send-keys -t e2e q
wait_for "a clean exit after the restart" "EXITED 0"
t kill-session -t e2e
echo "tui e2e: a daemon restarted under the monitor left lost calls, no ghosts"

# A wrong token: the monitor says STOPPED, and after q the reason and status 4 remain.
fresh
t new-session -d -s e2e -x 80 -y 24 "HOME='$home' MCPTOP_TOKEN=wrong '$bin' --session nope; echo EXITED \$?; sleep 60"
wait_for "the stop on screen" "stopped: token rejected"
t send-keys -t e2e q
wait_for "the reason after the screen" "mcptop: token rejected"
wait_for "exit status 4" "EXITED 4"
t kill-session -t e2e
echo "tui e2e: a wrong token left its reason and status 4"
