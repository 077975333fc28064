"""A scripted Messages API endpoint on loopback for the real Claude Code: with no account,
it answers each turn with a `tool_use` of Bash (first `echo`, then `sleep 2`), as a model
would, streaming the Messages API events, then ends the turn. Claude Code runs the tools
for real. Usage: scripted_model.py PORT_FILE (it picks a free port and writes it there)."""
import http.server
import json
import sys
import uuid

STEPS = [
    {"command": "echo hello-from-claude", "description": "say hello"},
    {"command": "sleep 2; echo second", "description": "wait a bit"},
]


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if "count_tokens" in self.path:
            out = json.dumps({"input_tokens": 10}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        text = json.dumps(body.get("messages", []))
        tools = [t.get("name") for t in body.get("tools", [])]
        done = text.count("tool_result")
        use = STEPS[done] if "Bash" in tools and done < len(STEPS) else None
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        w = self.wfile.write
        w(sse("message_start", {"type": "message_start", "message": {
            "id": "msg_" + uuid.uuid4().hex[:12], "type": "message", "role": "assistant",
            "model": body.get("model", "x"), "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}))
        if use:
            w(sse("content_block_start", {"type": "content_block_start", "index": 0,
                  "content_block": {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:16],
                                    "name": "Bash", "input": {}}}))
            w(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                  "delta": {"type": "input_json_delta", "partial_json": json.dumps(use)}}))
            stop = "tool_use"
        else:
            w(sse("content_block_start", {"type": "content_block_start", "index": 0,
                  "content_block": {"type": "text", "text": ""}}))
            w(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                  "delta": {"type": "text_delta", "text": "done"}}))
            stop = "end_turn"
        w(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        w(sse("message_delta", {"type": "message_delta",
              "delta": {"stop_reason": stop, "stop_sequence": None},
              "usage": {"output_tokens": 5}}))
        w(sse("message_stop", {"type": "message_stop"}))


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
