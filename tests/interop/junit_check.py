"""`mcptop check --junit` read by junitparser (PyPI), the reader of the widely used
publish-unit-test-result GitHub action: the suite's counts, one case per assertion and per
tool, and the failures naming the call and its reason; and the file valid against the
JUnit schema of Jenkins' xUnit plugin (junit-10.xsd, as pytest ships it to validate its
own JUnit output), checked by lxml.
Usage: junit_check.py MCPTOP JUNIT_XSD"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import junitparser
from lxml import etree

bin_, xsd = sys.argv[1], sys.argv[2]
events = [
    (0.1, "call", {"token": 1, "tool": "search", "state": "started"}),
    (0.2, "call", {"token": 2, "tool": "deploy", "state": "started"}),
    (0.8, "call", {"token": 2, "tool": "deploy", "state": "failed", "error": "boom <&> \u001b[31m"}),
    (1.0, "call", {"token": 1, "tool": "search", "state": "finished"}),
]
with tempfile.TemporaryDirectory() as tmp:
    rec = Path(tmp, "run.jsonl")
    lines = [json.dumps({"format": "mcptop-recording", "version": 1,
                         "started_at": "2026-12-06T10:00:00Z", "source": {"session_id": "s1"}})]
    for i, (at, kind, data) in enumerate(events):
        lines.append(json.dumps([at, "e", {"event": kind, "id": str(i + 1), "data": json.dumps(data)}]))
    rec.write_text("\n".join(lines) + "\n")
    xml = Path(tmp, "junit.xml")
    done = subprocess.run([bin_, "check", str(rec), "--max-failures", "0", "--expect-tool", "search",
                           "--junit", str(xml)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    schema = etree.XMLSchema(etree.parse(xsd))
    if not schema.validate(etree.parse(str(xml))):
        raise AssertionError("not valid against junit-10.xsd: %s" % schema.error_log)
    report = junitparser.JUnitXml.fromfile(str(xml))
    suites = list(report)
    assert len(suites) == 1, suites
    suite = suites[0]
    cases = {(c.classname, c.name): c for c in suite}
    assert (suite.tests, suite.failures, suite.errors) == (len(cases), 2, 0), (suite.tests, suite.failures)
    assert set(cases) == {("mcptop.check", "expect-tool search"), ("mcptop.check", "max-failures"),
                          ("mcptop.tools", "deploy"), ("mcptop.tools", "search")}, cases
    assert cases[("mcptop.check", "expect-tool search")].is_passed
    assert cases[("mcptop.tools", "search")].is_passed
    failure = cases[("mcptop.tools", "deploy")].result[0]
    assert isinstance(failure, junitparser.Failure), failure
    # The reason as written, its escape sequence made visible: nothing raw reaches a CI log.
    assert failure.message == "failed: deploy #2: boom <&> \\x1b[31m", failure.message
print("junit: check --junit valid against junit-10.xsd, read by junitparser: 4 cases, 2 failures naming the call and its reason")
