"""The taps with peers nobody here wrote: the official `server-everything` (npm) behind
`mcptop wrap` (stdio) and `mcptop proxy` (Streamable HTTP), driven by the Python MCP SDK.

Usage: python tap_everything.py MCPTOP NODE EVERYTHING_JS

Run it in a loopback-only network namespace (`unshare -rn`): server-everything binds
every interface. It starts its own `mcptop serve` (in a temporary HOME) and `mcptop tail
--json` on every session, then checks, for each tap:
  - the client gets every progress notification and the result, unchanged (compared with
    the same call made directly to the server);
  - the monitor shows the call start, every progress step and its finish with a duration;
  - a call without a progress token shows as running, then done with its duration;
  - with --request-progress the monitor shows progress the client never sees;
  - a task-backed call (MCP 2025-11-25 tasks: `simulate-research-query` with `task`)
    shows running until its task completes, with the task's duration; a cancelled task
    shows cancelled; a task waiting on the client shows waiting for input;
  - a call whose server asks the client (`elicitation/create`, `sampling/createMessage`)
    is ONE row: waiting for input with what was asked while the client answers (slowly),
    then running on with how it was answered (a declined elicitation says so), then done.
Exits non-zero with one line saying what went wrong.
"""

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import anyio
from mcp import ClientSession, types
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

TOOL = "trigger-long-running-operation"
ARGS = {"duration": 1, "steps": 4}


class Lines:
    """A process whose stdout lines are read on a thread."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.queue = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.queue.put(line.rstrip("\n"))

    def wait_for(self, what, pred, timeout=20):
        deadline = time.time() + timeout
        for line in self.seen:
            if pred(line):
                return line
        while time.time() < deadline:
            try:
                line = self.queue.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            self.seen.append(line)
            if pred(line):
                return line
        raise AssertionError(f"no line with {what} within {timeout} s (last: {self.seen[-5:]})")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def updates(tail, session, tool, state, timeout=20):
    """The `tail --json` update of `tool` in `session` reaching `state`."""
    def match(line):
        try:
            v = json.loads(line)
        except ValueError:
            return False
        c = v.get("call") or {}
        return c.get("session") == session and c.get("tool") == tool and c.get("state") == state
    return json.loads(tail.wait_for(f"{session}/{tool} {state}", match, timeout))["call"]


def call_where(tail, what, pred, timeout=20):
    """The first `tail --json` call update that `pred` accepts."""
    def match(line):
        try:
            c = json.loads(line).get("call")
        except ValueError:
            return False
        return bool(c) and pred(c)
    return json.loads(tail.wait_for(what, match, timeout))["call"]


def progress_seen(tail, session, tool):
    values = []
    for line in tail.seen:
        try:
            c = json.loads(line).get("call") or {}
        except ValueError:
            continue
        if c.get("session") == session and c.get("tool") == tool and c.get("progress") is not None:
            if not values or values[-1] != c["progress"]:
                values.append(c["progress"])
    return values


async def exercise(session, label, tail, expect_result):
    """The checks every tap must pass, through an initialized client session."""
    names = [t.name for t in (await session.list_tools()).tools]
    assert TOOL in names, f"{label}: tools/list lacks {TOOL}: {names}"
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    result = await session.call_tool(TOOL, ARGS, progress_callback=on_progress)
    text = result.content[0].text
    assert not result.is_error, f"{label}: the tool failed: {result}"
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)], f"{label}: progress through the tap: {seen}"
    if expect_result is not None:
        assert text == expect_result, f"{label}: result {text!r} != direct {expect_result!r}"
    done = updates(tail, label, TOOL, "done")
    steps = progress_seen(tail, label, TOOL)
    assert steps == [1.0, 2.0, 3.0, 4.0], f"{label}: the monitor saw progress {steps}"
    assert done["elapsed_s"] >= 0.9, f"{label}: duration {done['elapsed_s']}"
    print(f"{label}: {len(seen)} progress notifications through the tap; monitor: "
          f"progress {steps}, done in {done['elapsed_s']} s")

    # No progress token: a running row, then its duration.
    result = await session.call_tool(TOOL, {"duration": 0.5, "steps": 2})
    assert not result.is_error, f"{label}: {result}"
    def tokenless(state):
        def match(line):
            try:
                c = json.loads(line).get("call") or {}
            except ValueError:
                return False
            return (c.get("session") == label and c.get("state") == state
                    and c.get("progress_requested") is False)
        return json.loads(tail.wait_for(f"{label} tokenless {state}", match))["call"]

    tokenless("running")
    done = tokenless("done")
    assert done["elapsed_s"] >= 0.4, f"{label}: tokenless duration {done['elapsed_s']}"
    print(f"{label}: a call without a progress token ran, then done in {done['elapsed_s']} s")
    return text


RESEARCH = "simulate-research-query"


async def raw(session, method, params):
    """A request the SDK has no typed call for (2025-11-25 tasks), answered raw."""
    return await session._dispatcher.send_raw_request(method, params, {})  # noqa: SLF001


async def poll_task(session, task_id, until, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = await raw(session, "tasks/get", {"taskId": task_id})
        if task.get("status") in until:
            return task
        await anyio.sleep(0.2)
    raise AssertionError(f"task {task_id} never reached {until}")


async def exercise_tasks(session, label, tail):
    """Task-backed calls through a tap: the row follows the task, not its creation."""
    names = [t.name for t in (await session.list_tools()).tools]
    assert RESEARCH in names, f"{label}: tools/list lacks {RESEARCH}: {names}"
    created = await raw(session, "tools/call", {
        "name": RESEARCH, "arguments": {"topic": "tides"}, "task": {"ttl": 60000}})
    task_id = created["task"]["taskId"]
    started = time.time()
    def this_task(state):
        return lambda c: (c.get("session") == label and c.get("task") == task_id
                          and c.get("state") == state)

    call_where(tail, f"{label}: {RESEARCH} running as task {task_id}", this_task("running"))
    await poll_task(session, task_id, {"completed"})
    await raw(session, "tasks/result", {"taskId": task_id})
    done = call_where(tail, f"{label}: task {task_id} done", this_task("done"))
    assert done["elapsed_s"] >= 3.0, f"{label}: the task ran {time.time() - started:.1f} s, the row says {done['elapsed_s']}"
    print(f"{label}: a task-backed call ran {done['elapsed_s']} s on the monitor (the task's time)")

    created = await raw(session, "tools/call", {
        "name": RESEARCH, "arguments": {"topic": "cancel me"}, "task": {"ttl": 60000}})
    task_id = created["task"]["taskId"]
    await anyio.sleep(0.5)
    await raw(session, "tasks/cancel", {"taskId": task_id})
    cancelled = call_where(tail, f"{label}: task {task_id} cancelled", this_task("cancelled"))
    print(f"{label}: a cancelled task shows cancelled ({cancelled.get('error')!r})")

    created = await raw(session, "tools/call", {
        "name": RESEARCH, "arguments": {"topic": "python", "ambiguous": True},
        "task": {"ttl": 60000}})
    task_id = created["task"]["taskId"]
    await poll_task(session, task_id, {"input_required"})
    waiting = call_where(tail, f"{label}: task {task_id} waiting", this_task("waiting"))
    assert waiting.get("waiting_for") == "input", f"{label}: {waiting}"
    await raw(session, "tasks/cancel", {"taskId": task_id})
    call_where(tail, f"{label}: task {task_id} cancelled", this_task("cancelled"))
    print(f"{label}: a task waiting on the client shows waiting for input")


async def decline(context, params):
    """Declares the elicitation capability (server-everything asks only clients that do);
    a person takes a moment to answer."""
    await anyio.sleep(1.0)
    return types.ElicitResult(action="decline")


async def sample(context, params):
    """Declares the sampling capability; the client's model takes a moment."""
    await anyio.sleep(1.0)
    return types.CreateMessageResult(role="assistant", model="scripted", stopReason="endTurn",
                                     content=types.TextContent(type="text", text="a reply"))


async def exercise_waits(session, label, tail):
    """A call whose server asks the client waits while the client answers: one row."""
    names = [t.name for t in (await session.list_tools()).tools]
    for tool, args, asked, answered in [
        ("trigger-elicitation-request", {}, "asks the user: Please provide inputs",
         "the user declined"),
        ("trigger-sampling-request", {"prompt": "hi", "maxTokens": 10},
         "sampling: asks the client's model", "sampling answered"),
    ]:
        assert tool in names, f"{label}: tools/list lacks {tool}: {names}"
        await session.call_tool(tool, args)
        one_row_wait(tail, label, tool, asked, answered)
        print(f"{label}: {tool} waited for the client ({asked!r}), then ran on ({answered!r}): one row")


def one_row_wait(tail, label, tool, asked, answered):
    """The monitor's row of `tool` in `label` for a call whose server asked its client (a
    slow one): waiting for input with what was asked, running on with how it was answered,
    then done after a second or more, all one row. Returns the waiting update."""
    def this(state, text):
        return lambda c: (c.get("session") == label and c.get("tool") == tool
                          and c.get("state") == state
                          and (c.get("message") or "").startswith(text))

    waiting = call_where(tail, f"{label}: {tool} waiting", this("waiting", asked))
    assert waiting.get("waiting_for") == "input", f"{label}: {waiting}"
    on = call_where(tail, f"{label}: {tool} running on", this("running", answered))
    done = updates(tail, label, tool, "done")
    assert waiting["id"] == on["id"] == done["id"], f"{label}: not one row: {waiting} {on} {done}"
    assert done["elapsed_s"] >= 1.0, f"{label}: {done}"
    return waiting


async def direct_stdio(node, everything, env):
    params = StdioServerParameters(command=node, args=[everything, "stdio"], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool(TOOL, ARGS)
            return result.content[0].text


async def through_wrap(mcptop, node, everything, env, tail, label, extra, notifications):
    args = ["wrap", "--label", label, *extra, "--", node, everything, "stdio"]
    params = StdioServerParameters(command=mcptop, args=args, env=env)

    async def on_message(message):
        notifications.append(message)

    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, message_handler=on_message,
                                 elicitation_callback=decline,
                                 sampling_callback=sample) as session:
            await session.initialize()
            if not extra:
                text = await exercise(session, label, tail, await direct_stdio(node, everything, env))
                await exercise_tasks(session, label, tail)
                await exercise_waits(session, label, tail)
                return text
            # --request-progress: a call without a token.
            result = await session.call_tool(TOOL, ARGS)
            assert not result.is_error, f"{label}: {result}"
            updates(tail, label, TOOL, "done")
            steps = progress_seen(tail, label, TOOL)
            assert steps == [1.0, 2.0, 3.0, 4.0], f"{label}: the monitor saw {steps}"
            leaked = [n for n in notifications if isinstance(n, types.ProgressNotification)]
            assert not leaked, f"{label}: the client got progress it never asked for: {leaked}"
            print(f"{label}: the monitor saw progress {steps}; the client saw none")


async def through_proxy(url, tail, label, direct_url):
    async with streamable_http_client(direct_url) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            direct = (await session.call_tool(TOOL, ARGS)).content[0].text
    async with streamable_http_client(url) as streams:
        async with ClientSession(streams[0], streams[1], elicitation_callback=decline,
                                 sampling_callback=sample) as session:
            await session.initialize()
            await exercise(session, label, tail, direct)
            await exercise_tasks(session, label, tail)
            await exercise_waits(session, label, tail)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(mcptop, node, everything):
    home = tempfile.mkdtemp(prefix="mcptop-tap-")
    env = {"HOME": home, "PATH": os.environ.get("PATH", "")}
    procs = []
    try:
        serve = Lines([mcptop, "serve"], env)
        procs.append(serve)
        serve.wait_for("the discovery file", lambda l: l.startswith("discovery file: "))
        tail = Lines([mcptop, "tail", "--json"], env)
        procs.append(tail)
        tail.wait_for("connected", lambda l: '"connected"' in l)

        anyio.run(through_wrap, mcptop, node, everything, env, tail, "everything stdio", [], [])
        anyio.run(through_wrap, mcptop, node, everything, env, tail, "everything rp",
                  ["--request-progress"], [])

        port = free_port()
        upstream = Lines([node, everything, "streamableHttp"], {**env, "PORT": str(port)})
        procs.append(upstream)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        direct_url = f"http://127.0.0.1:{port}/mcp"
        proxy = Lines([mcptop, "proxy", "--upstream", direct_url, "--label", "everything http"], env)
        procs.append(proxy)
        line = proxy.wait_for("the proxy's address", lambda l: l.startswith("point the agent at "))
        url = line.removeprefix("point the agent at ")
        anyio.run(through_proxy, url, tail, "everything http", direct_url)
    finally:
        for p in reversed(procs):
            p.stop()
        # The daemon of this HOME, if a tap started one.
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except BaseException as e:  # noqa: BLE001 - one clear line for CI
        while isinstance(e, BaseExceptionGroup) and e.exceptions:
            e = e.exceptions[0]
        print(f"tap interop FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
