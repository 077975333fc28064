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

from messages_api import count_tokens, turn


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
            return count_tokens(self)
        tools = [t.get("name") for t in body.get("tools", [])]
        done = json.dumps(body.get("messages", [])).count('"tool_result"')
        if "Bash" not in tools:
            steps = []
        elif "cc_is_subagent=true" in json.dumps(body.get("system")):
            steps = SUBAGENT_STEPS
        else:
            steps = main_steps(tools)
        turn(self, body, steps[done] if done < len(steps) else None)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
