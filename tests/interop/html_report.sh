#!/usr/bin/env bash
# The HTML report in a real browser (Debian's Chromium, driven by playwright-core), with
# no network: a recording of the real workload, a hostile one and one of 10,000 calls are
# exported, and html_report.mjs checks what a person sees in each. Screenshots are kept in
# SHOTS.
#   html_report.sh MCPTOP NODE_DIR CHROMIUM SHOTS
set -euo pipefail
bin=$1 node_dir=$2 chromium=$3 shots=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
mkdir -p "$shots"

# The real workload, recorded as a user would.
"$bin" serve --workload --pace 20 >"$home/serve.out" 2>&1 &
pids+=($!)
wait_for "$home/serve.out" '^listening on ' || { echo "serve did not start: $(cat "$home/serve.out")"; exit 1; }
"$bin" tail --for 8s --record "$home/workload.jsonl" >/dev/null
"$bin" export "$home/workload.jsonl" --format json -o "$home/workload.json"
"$bin" export "$home/workload.jsonl" -o "$home/workload.html"
calls=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["calls"])' "$home/workload.json")
[ "$calls" -gt 0 ] || { echo "the workload recording holds no call"; exit 1; }

python3 "$here/make_recordings.py" hostile "$home/hostile.jsonl"
"$bin" export "$home/hostile.jsonl" -o "$home/hostile.html"
python3 "$here/make_recordings.py" big 10000 "$home/big.jsonl"
"$bin" export "$home/big.jsonl" -o "$home/big.html"

# No network but loopback, and the page may not even ask (html_report.mjs fails on any
# request that is not the file itself).
cd "$node_dir"
unshare -rn bash -c 'ip link set lo up && exec "$@"' report \
    node "$here/html_report.mjs" "$chromium" "$shots" \
    "$home/workload.html" "$home/workload.json" "$home/hostile.html" "$home/big.html"
