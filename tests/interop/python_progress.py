"""A real MCP client nobody here wrote (the Python SDK) against `mcptop serve`.

Usage: python python_progress.py http://127.0.0.1:PORT/mcp

Calls `test_tool_with_progress` with a progress callback (the SDK sends its own
progress token) and checks that the progress notifications arrived in order and the
result came back; then a simulated tool with a string of messages; then the same
progress tool again in MCP 2026-07-28 mode (server/discover, stateless requests). Exits non-zero with
one line saying what went wrong.
"""

import sys

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url: str) -> None:
    async with streamable_http_client(url) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            print(f"initialized: {init.server_info.name} {init.server_info.version}, "
                  f"protocol {init.protocol_version}")
            names = [t.name for t in (await session.list_tools()).tools]
            assert "test_tool_with_progress" in names, f"tools/list lacks the tool: {names}"

            seen = []

            async def on_progress(progress, total, message):
                seen.append((progress, total, message))

            result = await session.call_tool(
                "test_tool_with_progress", {}, progress_callback=on_progress
            )
            assert not result.is_error, f"the tool failed: {result}"
            assert [p for p, _, _ in seen] == [0, 50, 100], f"progress: {seen}"
            assert all(t == 100 for _, t, _ in seen), f"totals: {seen}"
            print(f"test_tool_with_progress: {len(seen)} progress notifications, "
                  f"result {result.content[0].text!r}")

            steps = []

            async def on_steps(progress, total, message):
                steps.append((progress, total, message))

            result = await session.call_tool(
                "run_tests", {"tests": 5, "duration_ms": 100}, progress_callback=on_steps
            )
            assert not result.is_error, f"run_tests failed: {result}"
            assert [p for p, _, _ in steps] == [1, 2, 3, 4, 5], f"progress: {steps}"
            assert steps[-1][2].startswith("test 5/5: "), f"messages: {steps}"
            print(f"run_tests: {len(steps)} progress notifications with messages")

    # MCP 2026-07-28: no initialize, no session; server/discover, then stateless calls.
    async with streamable_http_client(url) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            found = await session.discover()
            assert "2026-07-28" in found.supported_versions, f"discover: {found}"
            print(f"discovered: protocol {session.protocol_version}, "
                  f"versions {found.supported_versions}")
            names = [t.name for t in (await session.list_tools()).tools]
            assert "test_tool_with_progress" in names, f"tools/list lacks the tool: {names}"
            seen = []

            async def on_modern_progress(progress, total, message):
                seen.append((progress, total, message))

            result = await session.call_tool(
                "test_tool_with_progress", {}, progress_callback=on_modern_progress
            )
            assert not result.is_error, f"the tool failed: {result}"
            assert [p for p, _, _ in seen] == [0, 50, 100], f"progress: {seen}"
            print(f"2026-07-28 test_tool_with_progress: {len(seen)} progress notifications")


if __name__ == "__main__":
    try:
        anyio.run(main, sys.argv[1])
    except BaseException as e:  # noqa: BLE001 - one clear line for CI
        print(f"python SDK interop FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        raise SystemExit(1)
    print("python SDK interop: ok")
