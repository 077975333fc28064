"""The taps with more clients nobody here wrote, checked on the monitor's rows:
  - the official TypeScript SDK (npm `@modelcontextprotocol/sdk`) through `mcptop wrap`
    and `mcptop proxy` in front of server-everything: a call whose server asks the client
    (elicitation, sampling) is ONE row, waiting for input with what was asked while the
    client answers (slowly), running on with how it was answered, then done;
  - the conformance suite's client (`@modelcontextprotocol/conformance`) making MCP
    2026-07-28 multi-round-trip calls through `mcptop proxy` in front of a second
    `mcptop serve`: a call answered `input_required`, then retried with the answers and the
    request state, twice, is ONE row from the first request to the result, waiting between
    rounds.

Usage: python tap_clients.py MCPTOP NODE_BIN_DIR NODE_DIR EVERYTHING_JS

Run it in a loopback-only network namespace (`unshare -rn`). Exits non-zero with one line
saying what went wrong.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from tap_everything import Lines, call_where, free_port, one_row_wait, updates

HERE = os.path.dirname(os.path.abspath(__file__))


def rows_of(tail, session, tool):
    """The ids of the rows `tool` has in `session` so far."""
    ids = set()
    for line in tail.seen:
        try:
            c = json.loads(line).get("call") or {}
        except ValueError:
            continue
        if c.get("session") == session and c.get("tool") == tool:
            ids.add(c.get("id"))
    return ids


def ts_client(node_bin, node_dir, env, *args):
    out = subprocess.run([os.path.join(node_bin, "node"), os.path.join(HERE, "ts_client.mjs"), *args],
                         cwd=node_dir, env=env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"the TypeScript SDK client failed: {out.stderr.strip()[-500:]}")
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def check_waits(tail, label):
    for tool, asked, answered in [
        ("trigger-elicitation-request", "asks the user: ", "the user answered"),
        ("trigger-sampling-request", "sampling: asks the client's model", "sampling answered"),
    ]:
        waiting = one_row_wait(tail, label, tool, asked, answered)
        print(f"{label}: {tool} waited for the TypeScript client ({waiting['message']!r}), "
              f"then ran on ({answered!r}): one row")


def wait_port(port):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def main(mcptop, node_bin, node_dir, everything):
    home = tempfile.mkdtemp(prefix="mcptop-clients-")
    env = {"HOME": home, "PATH": f"{node_bin}:{os.environ.get('PATH', '')}"}
    procs = []
    try:
        serve = Lines([mcptop, "serve"], env)
        procs.append(serve)
        serve.wait_for("the discovery file", lambda l: l.startswith("discovery file: "))
        tail = Lines([mcptop, "tail", "--json"], env)
        procs.append(tail)
        tail.wait_for("connected", lambda l: '"connected"' in l)

        # The TypeScript SDK through wrap (stdio) and proxy (Streamable HTTP).
        results = ts_client(node_bin, node_dir, env, "stdio", mcptop, "ts stdio",
                            os.path.join(node_bin, "node"), everything)
        assert len(results) == 2, results
        check_waits(tail, "ts stdio")
        port = free_port()
        upstream = Lines([os.path.join(node_bin, "node"), everything, "streamableHttp"],
                         {**env, "PORT": str(port)})
        procs.append(upstream)
        wait_port(port)
        proxy = Lines([mcptop, "proxy", "--upstream", f"http://127.0.0.1:{port}/mcp",
                       "--label", "ts http"], env)
        procs.append(proxy)
        line = proxy.wait_for("the proxy's address", lambda l: l.startswith("point the agent at "))
        results = ts_client(node_bin, node_dir, env, "http", line.removeprefix("point the agent at "))
        assert len(results) == 2, results
        check_waits(tail, "ts http")

        # MCP 2026-07-28 multi-round-trip calls by the conformance suite's client, through
        # the proxy, to a second daemon (its own HOME: it is not the one watched).
        upstream_home = tempfile.mkdtemp(prefix="mcptop-upstream-")
        second = Lines([mcptop, "serve", "--no-discovery", "--port", "0"],
                       {**env, "HOME": upstream_home})
        procs.append(second)
        base = second.wait_for("the address", lambda l: l.startswith("listening on "))
        base = base.removeprefix("listening on ")
        proxy = Lines([mcptop, "proxy", "--upstream", f"{base}/mcp", "--label", "rounds"], env)
        procs.append(proxy)
        line = proxy.wait_for("the proxy's address", lambda l: l.startswith("point the agent at "))
        url = line.removeprefix("point the agent at ")
        tool = "test_input_required_result_multi_round"
        out = subprocess.run([os.path.join(node_bin, "conformance"), "server", "--url", url,
                              "--scenario", "input-required-result-multi-round",
                              "--spec-version", "2026-07-28"],
                             env=env, capture_output=True, text=True, timeout=120)
        assert "Passed: 4/4, 0 failed" in out.stdout, \
            f"the multi-round scenario through the proxy: {out.stdout[-800:]} {out.stderr[-400:]}"

        def this(state, text):
            return lambda c: (c.get("session") == "rounds" and c.get("tool") == tool
                              and c.get("state") == state
                              and (c.get("message") or "").startswith(text))

        step1 = call_where(tail, "rounds: waiting for step 1", this("waiting", "asks the user: Step 1"))
        step2 = call_where(tail, "rounds: waiting for step 2", this("waiting", "asks the user: Step 2"))
        round3 = call_where(tail, "rounds: round 3", this("running", "round 3: the client answered"))
        done = updates(tail, "rounds", tool, "done")
        rows = rows_of(tail, "rounds", tool)
        assert step1["waiting_for"] == "input", step1
        assert step1["id"] == step2["id"] == round3["id"] == done["id"] and len(rows) == 1, \
            f"rounds: not one row: {rows}"
        print(f"rounds: the conformance client's three requests of {tool} through the proxy were "
              f"one row: waiting for step 1, for step 2, then done in {done['elapsed_s']:.2f} s")
        shutil.rmtree(upstream_home, ignore_errors=True)
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    try:
        main(*sys.argv[1:5])
    except BaseException as e:  # noqa: BLE001 - one clear line for CI
        print(f"tap clients interop FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
