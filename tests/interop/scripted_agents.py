"""A scripted Messages API endpoint on loopback for the real Claude Code, with no account:
the main thread hands a task to a subagent (the Agent tool, or Task in older releases),
calls the wrapped MCP server's `echo`, then runs a Bash command the permission rules do
not allow (so it is denied), then ends its turn; the subagent runs `echo from-subagent`
and ends. Claude Code runs every tool for real. A subagent's requests say so in their
system prompt (`cc_is_subagent=true`); one without Bash is a side request (a title, a
summary) and gets text.
Usage: scripted_agents.py PORT_FILE (it picks a free port and writes it there)."""
import http.server
import json
import sys
import uuid


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def main_steps(tools):
    agent = "Agent" if "Agent" in tools else "Task"
    steps = [(agent, {"description": "look around", "subagent_type": "general-purpose",
                      "prompt": "Run `echo from-subagent` with Bash, then stop."})]
    if "mcp__everything__echo" in tools:
        steps.append(("mcp__everything__echo", {"message": "hello-through-the-tap"}))
    steps.append(("Bash", {"command": "touch denied-file", "description": "make a file"}))
    return steps


SUBAGENT_STEPS = [("Bash", {"command": "echo from-subagent", "description": "say hello"})]


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
        tools = [t.get("name") for t in body.get("tools", [])]
        done = json.dumps(body.get("messages", [])).count('"tool_result"')
        if "Bash" not in tools:
            steps = []
        elif "cc_is_subagent=true" in json.dumps(body.get("system")):
            steps = SUBAGENT_STEPS
        else:
            steps = main_steps(tools)
        use = steps[done] if done < len(steps) else None
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        w = self.wfile.write
        w(sse("message_start", {"type": "message_start", "message": {
            "id": "msg_" + uuid.uuid4().hex[:12], "type": "message", "role": "assistant",
            "model": body.get("model", "x"), "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}))
        if use:
            name, args = use
            w(sse("content_block_start", {"type": "content_block_start", "index": 0,
                  "content_block": {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:16],
                                    "name": name, "input": {}}}))
            w(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                  "delta": {"type": "input_json_delta", "partial_json": json.dumps(args)}}))
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
