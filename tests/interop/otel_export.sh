#!/usr/bin/env bash
# `mcptop serve --otlp-endpoint` against a real collector from the npm registry
# (@elastic/mockotlpserver, on 127.0.0.1:4318 and 4317): for each protocol (http/protobuf,
# http/json, grpc) two calls published into a session (one with progress and the agent's
# traceparent, one failed) arrive as spans of the MCP conventions, checked span by span.
# Usage: otel_export.sh MCPTOP MOCKOTLPSERVER
set -euo pipefail
bin=$1 mock=$2
home=$(mktemp -d)
export HOME="$home" XDG_CONFIG_HOME="$home/.config"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$home"
}
trap cleanup EXIT
"$mock" -o trace-json --hostname 127.0.0.1 >"$home/mock.out" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q "OTLP/gRPC listening" "$home/mock.out" && break; sleep 0.1; done
grep -q "OTLP/gRPC listening" "$home/mock.out" || {
    echo "the collector did not start (are 4317/4318 taken?):"; cat "$home/mock.out"; exit 1; }
failed=0
for protocol in http/protobuf http/json grpc; do
    case $protocol in grpc) endpoint=http://127.0.0.1:4317 ;; *) endpoint=http://127.0.0.1:4318 ;; esac
    "$bin" serve --discovery-file "$home/mcp.json" --otlp-endpoint "$endpoint" --otlp-protocol "$protocol" >"$home/serve.out" 2>&1 &
    serve=$!
    for _ in $(seq 100); do grep -q "^discovery file" "$home/serve.out" && break; sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$home/serve.out")
    # The owner's session (the admin token): only those are exported.
    admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' "$home/mcp.json")
    session=$(curl -s -X POST -H "Authorization: Bearer $admin" -H 'content-type: application/json' -d "{\"label\":\"export $protocol\"}" "$url/session")
    id=$(echo "$session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])')
    token=$(echo "$session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl -sf -X POST -H "Authorization: Bearer $token" -H 'content-type: application/json' -d '[
      {"type":"call","token":"1","tool":"search","state":"started","timestamp":"2026-12-06T10:00:00Z",
       "traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
      {"type":"progress","token":"1","tool":"search","progress":1,"total":2,"message":"half","timestamp":"2026-12-06T10:00:01Z"},
      {"type":"call","token":"1","tool":"search","state":"finished","timestamp":"2026-12-06T10:00:02Z"},
      {"type":"call","token":"2","tool":"build","state":"started","timestamp":"2026-12-06T10:00:00Z"},
      {"type":"call","token":"2","tool":"build","state":"failed","error":"exit 2","timestamp":"2026-12-06T10:00:03Z"}
    ]' "$url/session/$id/publish" >/dev/null
    ok=0
    for _ in $(seq 100); do
        if python3 - "$home/mock.out" "export $protocol" <<'PY'
import json, sys
path, label = sys.argv[1:3]
spans = {}
for line in open(path):
    if not line.startswith('{"resourceSpans"'):
        continue
    for rs in json.loads(line)["resourceSpans"]:
        if rs["resource"]["attributes"].get("mcptop.session.label") != label:
            continue
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                spans[s["name"]] = s
search, build = spans.get("tools/call search"), spans.get("tools/call build")
if not (search and build):
    sys.exit(1)
def check(cond, what):
    if not cond:
        print(f"{label}: {what}: {json.dumps(spans)[:1500]}", file=sys.stderr)
        sys.exit(2)
check(search["traceId"] == "0af7651916cd43dd8448eb211c80319c", "the agent's trace")
check(search.get("parentSpanId") == "b7ad6b7169203331", "the agent's span as parent")
check(search["kind"] == "SPAN_KIND_CLIENT", "kind")
check(int(search["endTimeUnixNano"]) - int(search["startTimeUnixNano"]) == 2_000_000_000, "2 s")
check(search["attributes"]["mcp.method.name"] == "tools/call", "mcp.method.name")
check(search["attributes"]["gen_ai.tool.name"] == "search", "gen_ai.tool.name")
check(search["attributes"]["jsonrpc.request.id"] == "1", "jsonrpc.request.id")
check([e["name"] for e in search.get("events", [])] == ["progress"], "the progress event")
check(build["attributes"]["error.type"] == "tool_error", "error.type")
check(build["status"]["code"] == "STATUS_CODE_ERROR" and build["status"]["message"] == "exit 2", "status")
PY
        then ok=1; break; else [ $? = 2 ] && break; fi
        sleep 0.2
    done
    health=$(curl -s "$url/health")
    kill "$serve" 2>/dev/null || true
    wait "$serve" 2>/dev/null || true
    if [ $ok = 1 ]; then
        echo "export over $protocol: both spans in the collector, as the conventions say"
    else
        echo "export over $protocol FAILED; /health: $health"; failed=1
    fi
done
# `mcptop export REC`: a recording's calls, sent after the fact, land the same way.
cat >"$home/run.jsonl" <<'REC'
{"format":"mcptop-recording","version":1,"started_at":"2026-12-06T11:00:00Z","source":{"session_id":"r1","label":"recorded","transport":"sse"}}
[0.1,"e",{"event":"call","id":"1","data":"{\"token\":7,\"tool\":\"replayed\",\"state\":\"started\"}"}]
[0.6,"e",{"event":"progress","id":"2","data":"{\"token\":7,\"tool\":\"replayed\",\"progress\":1,\"total\":2}"}]
[1.1,"e",{"event":"call","id":"3","data":"{\"token\":7,\"tool\":\"replayed\",\"state\":\"finished\"}"}]
REC
if out=$("$bin" export "$home/run.jsonl" --otlp-endpoint http://127.0.0.1:4318 2>&1); then
    ok=0
    for _ in $(seq 50); do
        if python3 - "$home/mock.out" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.startswith('{"resourceSpans"'):
        continue
    for rs in json.loads(line)["resourceSpans"]:
        if rs["resource"]["attributes"].get("mcptop.session.label") != "recorded":
            continue
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                if s["name"] == "tools/call replayed" and \
                        int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"]) == 1_000_000_000 and \
                        [e["name"] for e in s.get("events", [])] == ["progress"]:
                    sys.exit(0)
sys.exit(1)
PY
        then ok=1; break; fi
        sleep 0.2
    done
    if [ $ok = 1 ]; then echo "export of a recording: its call in the collector ($out)"
    else echo "export of a recording FAILED: not in the collector ($out)"; failed=1; fi
else
    echo "export of a recording FAILED: $out"; failed=1
fi
exit $failed
