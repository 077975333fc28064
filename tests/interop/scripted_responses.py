"""A scripted Responses API endpoint on loopback for the real Codex CLI: with no account,
it answers each turn with an `exec_command` function call (first `echo`, then `sleep 1`),
as a model would, streaming the Responses API events, then ends with a message. Codex
runs the commands for real. Usage: scripted_responses.py PORT_FILE (it picks a free port
and writes it there)."""
import http.server
import json
import sys
import uuid

STEPS = ["echo hello-from-codex", "sleep 1; echo second"]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        out = json.dumps({"models": []}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        done = json.dumps(body.get("input", [])).count('"function_call_output"')
        tools = [t.get("name") for t in body.get("tools", [])]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()

        def event(data):
            self.wfile.write(f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode())

        rid = "resp_" + uuid.uuid4().hex[:12]
        event({"type": "response.created", "response": {"id": rid}})
        if "exec_command" in tools and done < len(STEPS):
            item = {"type": "function_call", "name": "exec_command",
                    "arguments": json.dumps({"cmd": STEPS[done]}),
                    "call_id": "call_" + uuid.uuid4().hex[:12]}
        else:
            item = {"type": "message", "role": "assistant",
                    "content": [{"type": "output_text", "text": "done"}]}
        event({"type": "response.output_item.done", "item": item})
        event({"type": "response.completed", "response": {"id": rid, "usage": {
            "input_tokens": 100, "output_tokens": 7, "total_tokens": 107}}})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
