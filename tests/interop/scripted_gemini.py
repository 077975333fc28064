"""A scripted Gemini API endpoint on loopback for the real Gemini CLI: with no account,
it answers each turn with a `run_shell_command` function call (first `echo`, then
`sleep 1`), as a model would, streaming `streamGenerateContent?alt=sse`, then ends with
text. Requests that want JSON (the CLI's model router) get an object of the schema they
give. Gemini CLI runs the commands for real.
Usage: scripted_gemini.py PORT_FILE (it picks a free port and writes it there)."""
import http.server
import json
import sys

STEPS = ["echo hello-from-gemini", "sleep 1; echo second"]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, value):
        out = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if "countTokens" in self.path:
            return self.answer({"totalTokens": 10})
        config = body.get("generationConfig") or {}
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        if config.get("responseMimeType") == "application/json" and schema:
            def fill(name, prop):
                kind = (prop.get("type") or "STRING").upper()
                if name == "next_speaker":
                    return "user"
                return {"STRING": "simple", "INTEGER": 10, "NUMBER": 1, "BOOLEAN": False}.get(kind, "x")
            value = {k: fill(k, v) for k, v in (schema.get("properties") or {}).items()}
            return self.answer({"candidates": [{"content": {"role": "model", "parts": [
                {"text": json.dumps(value)}]}, "finishReason": "STOP", "index": 0}]})
        done = json.dumps(body.get("contents", [])).count('"functionResponse"')
        tools = [d.get("name") for t in body.get("tools", []) for d in t.get("functionDeclarations", [])]
        if "run_shell_command" in tools and done < len(STEPS):
            parts = [{"functionCall": {"name": "run_shell_command",
                                       "args": {"command": STEPS[done], "description": "a step"}}}]
        else:
            parts = [{"text": "done"}]
        chunk = {"candidates": [{"content": {"role": "model", "parts": parts},
                                 "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 7,
                                   "totalTokenCount": 107},
                 "modelVersion": "gemini-2.5-pro"}
        if "alt=sse" in self.path:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            self.wfile.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
        else:
            self.answer(chunk)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
