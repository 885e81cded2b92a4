"""The run path from a fresh clone: the shipped demo data loads and the server answers /healthz."""
from __future__ import annotations

import pytest

import os
import subprocess
import sys
import time

import httpx

from tests.conftest import ROOT, free_port


def test_fresh_clone_loads_demo_and_serves(tmp_path, empty_database):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = dict(os.environ, DATABASE_URL=empty_database, PYTHONPATH=str(clone), RTCC_ADMIN_PASSWORD="first-admin-pw",
               PYTHONUNBUFFERED="1")
    env.pop("RTCC_DATA_DIR", None)
    cli = [sys.executable, "-m", "services.cli"]
    load = subprocess.run(cli + ["load-demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert load.returncode == 0, load.stdout + load.stderr
    assert "streets 48" in load.stdout and "cad: accepted" in load.stdout
    port = free_port()
    proc = subprocess.Popen(cli + ["serve", "--port", str(port), "--no-simulate"], cwd=clone, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ok = False
        for _ in range(150):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if r.status_code == 200:
                    ok = True
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert ok, "server from the fresh clone did not answer /healthz"
        # the clone's own code is what answered; nothing but /healthz and /login without signing in
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/openapi.json").status_code == 401
        with httpx.Client(base_url=base, headers={"Authorization": ""}) as c:  # the session cookie, no test key
            assert c.post("/login", json={"name": "admin", "password": "first-admin-pw"}).status_code == 200
            assert c.get("/openapi.json").status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    # first start: admin (its password from RTCC_ADMIN_PASSWORD, never echoed) and demo accounts per role
    assert "admin" in out and "demo-analyst" in out and "first-admin-pw" not in out, out[-2000:]
    again = subprocess.run(cli + ["load-demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert "reference: already loaded" in again.stdout and "cad: accepted 0" in again.stdout


def test_healthz_503_without_database():
    code = ("from fastapi.testclient import TestClient\n"
            "from services.app import create_app\n"
            "c = TestClient(create_app())\n"
            "r = c.get('/healthz')\n"
            "print(r.status_code, r.json()['status'])\n")
    env = dict(os.environ, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.strip().endswith("503 unavailable"), out.stdout + out.stderr
