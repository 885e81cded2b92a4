"""Fuzzing the app's own OpenAPI document (FastAPI /openapi.json) with schemathesis, time-boxed.

Every documented operation gets generated and mutated requests (examples, boundary coverage,
random fuzzing); the run must find no 5xx, and every answer must match what the document says:
a documented status code, content type and response schema. The server runs in its own process
on its own clone of the demo database, so fuzzed writes (tasks, rules, hotlists) never reach the
other tests. `RTCC_FUZZ_SECONDS` sets the budget (default 100 s; the run takes ~2 min in all).

Run by hand with more time: RTCC_FUZZ_SECONDS=600 .venv/bin/python -m pytest tests/test_fuzz.py -s
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PURPOSE, TEMPLATE, _url_for, api_key, free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# /api/live is a stream that never ends (tests/test_live.py covers it).
EXCLUDE = ["/api/live"]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SECONDS = int(os.environ.get("RTCC_FUZZ_SECONDS", "100"))
OUT = ROOT / "test-output"


def failures(out: str) -> str:
    """The run's failure reports, long generated values cut, for the assertion message."""
    start = out.find("FAILURES")
    end = out.find("WARNINGS", start) if start >= 0 else -1
    text = out[start:end if end > 0 else None] if start >= 0 else out[-6000:]
    return "\n".join(line[:300] for line in text.splitlines())[:15000]


@pytest.fixture(scope="module")
def fuzz_server(database_url, admin_url, tmp_path_factory):
    """`rtcc serve` in a process of its own, on a fresh clone of the demo database, and an admin API
    key of that database: (url, key)."""
    name = f"rtcc_fuzz_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as a:
        a.execute("SELECT pg_advisory_lock(7419002)")  # the template is not being rebuilt meanwhile
        try:
            a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            a.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        finally:
            a.execute("SELECT pg_advisory_unlock(7419002)")
    fuzz_url = _url_for(admin_url, name)
    key = api_key(fuzz_url, "admin")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": fuzz_url, "RTCC_PORT": str(port),
           "RTCC_OUTBOX_WORKER": "false"}  # fuzzed channels must not send anything anywhere
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "fuzz-server.log"  # its tracebacks explain a 500 the run reports
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        def alive():
            assert proc.poll() is None, log.read_text()[-2000:]
        wait_healthy(url, 30, alive)
        yield url, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        with psycopg.connect(admin_url, autocommit=True) as a:
            a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.timeout(SECONDS + 240)  # server start, the run, its request timeouts, the summary
def test_openapi_fuzzing_finds_no_5xx_and_no_undocumented_answer(fuzz_server, tmp_path):
    url, key = fuzz_server
    # As admin (every permission) with a stated purpose (plate data), so every route is fuzzed past
    # its sign-in and permission checks (tests/test_roles.py covers those answers).
    headers = {"Authorization": f"Bearer {key}", **PURPOSE}
    cmd = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", CHECKS,
           "--max-time", str(SECONDS), "--request-timeout", "20", "--workers", "1",
           "--max-redirects", "0",  # each route's own answer is checked (a sign-in form answers 303)
           "--phases", "examples,coverage,fuzzing",
           "--generation-database", "none", "--seed", os.environ.get("RTCC_FUZZ_SEED", "12")]
    for name, value in headers.items():
        cmd += ["--header", f"{name}: {value}"]
    for path in EXCLUDE:
        cmd += ["--exclude-path", path]
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=SECONDS + 150)
    out = run.stdout + run.stderr
    (OUT / "fuzz-schemathesis.txt").write_text(out)
    summary = out[out.rfind("SUMMARY"):] if "SUMMARY" in out else out[-3000:]
    assert run.returncode == 0, failures(out) + "\n(test-output/fuzz-server.log has the server's tracebacks)"
    assert "Server error" not in out and "failures" not in summary, summary
