"""What real OpenTelemetry exporters nobody here wrote send, into `mcptop serve --otlp`.

Usage: python otel_python.py MCPTOP

Starts `mcptop serve` receiving OTLP on free ports, then, once per protocol (OTLP/HTTP
protobuf, OTLP/gRPC), in a child process of its own (the SDK's providers are global):
the Python MCP SDK, traced by the OpenTelemetry SDK with the official OTLP span
exporter, calls the daemon's own `test_tool_with_progress` (its client span, `MCP send
tools/call …`, is a call of the MCP conventions), and the official OTLP log exporter sends
a Codex-style `codex.tool_result` event. `mcptop tail --json` must show each as a finished
row of its service's session. Exits non-zero with one line saying what went wrong.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def child(protocol: str, endpoint: str, mcp_url: str) -> None:
    import anyio
    from opentelemetry import trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        spans = OTLPSpanExporter(endpoint=endpoint, insecure=True)
        logs = OTLPLogExporter(endpoint=endpoint, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        spans = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
        logs = OTLPLogExporter(endpoint=f"{endpoint}/v1/logs")
    service = f"py-agent-{protocol}"
    resource = Resource.create({"service.name": service})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=Resource.create({"service.name": "codex-cli"}))
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs))
    set_logger_provider(logger_provider)

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def call() -> None:
        async with streamable_http_client(mcp_url) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                await session.call_tool("test_tool_with_progress", {})

    anyio.run(call)
    logger_provider.get_logger("codex_otel").emit(
        event_name="codex.tool_result",
        attributes={
            "conversation.id": f"conv-{protocol}",
            "tool_name": "shell",
            "call_id": f"call-{protocol}",
            "arguments": json.dumps({"command": ["cargo", "test"]}),
            "duration_ms": 1234,
            "success": "true",
        },
    )
    tracer_provider.force_flush()
    logger_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(mcptop: str) -> None:
    home = tempfile.mkdtemp()
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"))
    http_port, grpc_port = free_port(), free_port()
    discovery = os.path.join(home, "mcp.json")
    serve = subprocess.Popen(
        [mcptop, "serve", "--otlp-http", str(http_port), "--otlp-grpc", str(grpc_port),
         "--discovery-file", discovery],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    tail = None
    try:
        base = None
        deadline = time.time() + 10
        while time.time() < deadline:
            line = serve.stdout.readline()
            if line.startswith("listening on "):
                base = line.split()[-1]
            if line.startswith("discovery file"):
                break
        if base is None:
            sys.exit("mcptop serve did not start")
        tail = subprocess.Popen([mcptop, "tail", "--json", "--discovery-file", discovery],
                                stdout=subprocess.PIPE, text=True, env=env)
        for line in tail.stdout:
            if '"connected"' in line:
                break
        for protocol, endpoint in [("http/protobuf", f"http://127.0.0.1:{http_port}"),
                                   ("grpc", f"http://127.0.0.1:{grpc_port}")]:
            done = subprocess.run(
                [sys.executable, __file__, "--child", protocol, endpoint, f"{base}/mcp"],
                capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                sys.exit(f"{protocol}: the exporting client failed: {done.stderr.strip()[-400:]}")
        wanted = {
            ("py-agent-http/protobuf", "test_tool_with_progress"),
            ("py-agent-grpc", "test_tool_with_progress"),
            ("codex · conv-htt", "shell"),
            ("codex · conv-grp", "shell"),
        }
        seen = {}
        deadline = time.time() + 20
        while wanted - seen.keys() and time.time() < deadline:
            line = tail.stdout.readline()
            try:
                update = json.loads(line)
            except ValueError:
                continue
            call = update.get("call")
            if update.get("type") == "call" and call["state"] == "done":
                seen[(call["session"], call["tool"])] = call["elapsed_s"]
        missing = wanted - seen.keys()
        if missing:
            sys.exit(f"not on the monitor: {sorted(missing)}; seen {sorted(seen)}")
        for session in ("codex · conv-htt", "codex · conv-grp"):
            if abs(seen[(session, "shell")] - 1.234) > 0.001:
                sys.exit(f"{session}: the agent's duration was not kept: {seen[(session, 'shell')]}")
        print("python OTLP exporters (http/protobuf, grpc): MCP SDK client spans and "
              f"log events are rows on the monitor: {sorted(seen)}")
    finally:
        if tail:
            tail.kill()
        serve.terminate()
        serve.wait(timeout=10)


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        main(sys.argv[1])
