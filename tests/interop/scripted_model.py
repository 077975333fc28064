"""A scripted Messages API endpoint on loopback for the real Claude Code: with no account,
it answers each turn with a `tool_use` of Bash (first `echo`, then `sleep 2`), as a model
would, streaming the Messages API events, then ends the turn. Claude Code runs the tools
for real. Usage: scripted_model.py PORT_FILE (it picks a free port and writes it there)."""
import http.server
import json
import sys

from messages_api import count_tokens, turn

STEPS = [
    {"command": "echo hello-from-claude", "description": "say hello"},
    {"command": "sleep 2; echo second", "description": "wait a bit"},
]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if "count_tokens" in self.path:
            return count_tokens(self)
        text = json.dumps(body.get("messages", []))
        tools = [t.get("name") for t in body.get("tools", [])]
        done = text.count("tool_result")
        use = ("Bash", STEPS[done]) if "Bash" in tools and done < len(STEPS) else None
        turn(self, body, use)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
