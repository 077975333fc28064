"""Recordings for the HTML report's browser test, written as `mcptop --record` writes them.

    python3 make_recordings.py hostile OUT     markup and control bytes in every text field
    python3 make_recordings.py big N OUT       N calls over a minute: progress, messages,
                                               arguments, results, some failed
"""
import json
import random
import sys

HEADER = {
    "format": "mcptop-recording",
    "version": 1,
    "started_at": "2026-12-06T11:00:00Z",
    "source": {"session_id": "*", "label": "all sessions", "transport": "sse"},
}


def stamp(t):
    whole = int(t)
    minute, sec = divmod(whole, 60)
    return "2026-12-06T11:%02d:%02d.%06dZ" % (minute % 60, sec, int((t - whole) * 1e6))


def writer(path):
    out = open(path, "w")
    out.write(json.dumps(HEADER) + "\n")
    seq = [0]

    def event(t, kind, data):
        seq[0] += 1
        data = dict(data, timestamp=stamp(t))
        line = [round(t, 6), "e", {"event": kind, "id": str(seq[0]), "data": json.dumps(data)}]
        out.write(json.dumps(line) + "\n")

    return out, event


def hostile(path):
    out, event = writer(path)
    bad = '</script><img src=x onerror="window.pwned=true"><!--'
    for i, tool in enumerate(['<img src=x onerror="window.pwned=true">', "plain\x1b]52;c;ZXZpbA==\x07tool"]):
        base = {"session": "s%d" % i, "session_label": bad, "token": i + 1, "tool": tool}
        event(0.1 + i, "call", dict(base, state="started", arguments={"path": bad, "q": "\u2028</style>"}))
        event(0.5 + i, "progress", dict(base, progress=1, total=2, message=bad + "\x1b[2J"))
        event(0.9 + i, "call", dict(base, state="failed", error=bad, result={"text": bad}))
    out.close()


def big(n, path):
    rng = random.Random(7)
    out, event = writer(path)
    tools = ["read_file", "run_tests", "search_code", "fetch_url", "build_project", "query_db",
             "list_dir", "write_file"]
    pending = []
    for i in range(n):
        t = 60.0 * i / n
        tool = tools[i % len(tools)]
        base = {"session": "s%d" % (i % 4), "session_label": "agent %d" % (i % 4),
                "token": i + 1, "tool": tool}
        pending.append((t, "call", dict(base, state="started", arguments={"path": "/src/file_%d.rs" % i, "n": i})))
        d = rng.uniform(0.05, 3.0)
        for k in (1, 2, 3):
            pending.append((t + d * k / 4, "progress", dict(base, progress=k, total=4, message="step %d of 4" % k)))
        failed = i % 37 == 0
        end = dict(base, state="failed", error="exit status 1") if failed else \
            dict(base, state="finished", result={"content": [{"type": "text", "text": "ok %d" % i}]})
        pending.append((t + d, "call", end))
    pending.sort(key=lambda p: p[0])  # stable: a call's start stays before its end
    for t, kind, data in pending:
        event(t, kind, data)
    out.close()


if __name__ == "__main__":
    if sys.argv[1] == "hostile":
        hostile(sys.argv[2])
    else:
        big(int(sys.argv[2]), sys.argv[3])
