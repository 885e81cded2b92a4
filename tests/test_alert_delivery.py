"""Every alert reaches its channels through the outbox: Slack Block Kit (slack-sdk models), a Teams
Adaptive Card 1.4, CoT over TCP and UDP, CAP 1.2 against the official XSD, a signed webhook and
SMTP (aiosmtpd); retries with backoff, dead letters, and exactly once across a server kill."""
from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import uuid

import httpx
import pytest
import xmlschema
from slack_sdk.models.blocks import Block

from services.settings import get_settings
from tests.conftest import ROOT, free_port
from tests.receivers import CoTListener, HTTPReceiver, SMTPReceiver, wait
from tests.test_alerts import plate, read

XSD = ROOT / "services" / "alerts" / "schemas" / "CAP-v1.2.xsd"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def fast_outbox(client, monkeypatch):
    s = get_settings()
    monkeypatch.setattr(s, "outbox_backoff_s", 0.05)
    monkeypatch.setattr(s, "outbox_timeout_s", 1.0)
    monkeypatch.setattr(s, "outbox_max_attempts", 4)
    return s


@pytest.fixture
def rule(client):
    """A hotlist rule of its own, so the test's channels see only the test's alerts."""
    tag = uuid.uuid4().hex[:8]
    r = client.post("/api/rules", json={"name": f"delivery {tag}", "kind": "hotlist", "hotlists": [f"dl-{tag}"],
                                        "priority": 1, "throttle_s": 0})
    assert r.status_code == 201, r.text
    yield {"id": r.json()["id"], "name": r.json()["name"], "list": f"dl-{tag}"}
    client.delete(f"/api/rules/{r.json()['id']}")


def raise_alert(client, rule: dict, **kw) -> dict:
    p = plate()
    client.post(f"/api/hotlists/{rule['list']}?mode=append", json=[{"plate": p, "reason": "stolen vehicle"}])
    assert client.post("/api/ingest/alpr", json=[read(p, **kw)]).json()["accepted"] == 1
    mine = [a for a in client.get("/api/alerts?limit=200").json() if a["rule_id"] == rule["id"]]
    assert len(mine) == 1, mine
    return mine[0]


def channel(client, name: str, kind: str, url: str, rule: dict, **kw) -> dict:
    r = client.post("/api/channels", json={"name": name, "kind": kind, "url": url, "rules": [rule["name"]], **kw})
    assert r.status_code == 201, r.text
    return r.json()


def validate_adaptive_card(doc: dict) -> dict:
    """The Teams Workflows envelope and the Adaptive Card 1.4 elements we send, per the 1.4 schema."""
    assert doc["type"] == "message" and len(doc["attachments"]) == 1
    att = doc["attachments"][0]
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = att["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"], "a card needs a body"
    for el in card["body"]:
        assert el["type"] in ("TextBlock", "FactSet", "Image", "ColumnSet", "Container")
        if el["type"] == "TextBlock":
            assert isinstance(el["text"], str) and el["text"]
            assert el.get("color", "Default") in ("Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention")
            assert el.get("size", "Default") in ("Default", "Small", "Medium", "Large", "ExtraLarge")
            assert el.get("weight", "Default") in ("Default", "Lighter", "Bolder")
        if el["type"] == "FactSet":
            assert all(isinstance(f["title"], str) and isinstance(f["value"], str) for f in el["facts"])
    for a in card.get("actions", []):
        assert a["type"] == "Action.OpenUrl" and a["url"].startswith("http") and a["title"]
    return card


def test_one_alert_reaches_every_kind_of_channel(client, fast_outbox, rule, conn, monkeypatch):
    monkeypatch.setattr(fast_outbox, "alert_proximity_wait_s", 60)  # messages carry the cameras: wait for them
    # Every camera gets a snapshot for this test; the registry's own (the demo's) come back after it.
    saved = conn.execute("SELECT id, snapshot_url FROM cameras WHERE snapshot_url IS NOT NULL").fetchall()
    conn.execute("UPDATE cameras SET snapshot_url = "
                 "'https://cams.example/' || id || '.jpg'")
    http, tcp, udp, smtp = HTTPReceiver().start(), CoTListener(), CoTListener(udp=True), SMTPReceiver()
    tag = uuid.uuid4().hex[:6]
    try:
        channel(client, f"slack-{tag}", "slack", http.url("/slack"), rule)
        channel(client, f"teams-{tag}", "teams", http.url("/teams"), rule)
        channel(client, f"hook-{tag}", "webhook", http.url("/hook"), rule, secret="s3cret")
        channel(client, f"cap-{tag}", "cap", http.url("/cap"), rule)
        channel(client, f"tak-{tag}", "tak", f"tcp://127.0.0.1:{tcp.port}", rule)
        channel(client, f"takudp-{tag}", "tak", f"udp://127.0.0.1:{udp.port}", rule)
        channel(client, f"mail-{tag}", "email", f"smtp://127.0.0.1:{smtp.port}?to=watch@agency.example", rule)
        listed = {c["name"]: c for c in client.get("/api/channels").json()}
        assert listed[f"hook-{tag}"]["signed"] and "secret" not in listed[f"hook-{tag}"]

        a = raise_alert(client, rule)
        link = f"/#alert={a['id']}"
        assert wait(lambda: client.get(f"/api/alerts/{a['id']}").json()["proximity"], timeout=60), \
            "the proximity answer is attached to the alert"
        a = client.get(f"/api/alerts/{a['id']}").json()
        assert a["proximity"]["cameras"]
        assert wait(lambda: len(http.requests) >= 4 and tcp.events and udp.events and smtp.messages), \
            (http.requests, tcp.events, udp.events, smtp.messages)
        assert wait(lambda: all(d["status"] == "delivered" for d in
                                client.get(f"/api/deliveries?alert_id={a['id']}").json()))

        # Slack: every block parses back into slack-sdk's models and passes their validation
        slack = http.at("/slack")[0].json()
        blocks = [Block.parse(b) for b in slack["blocks"]]
        for b in blocks:
            b.validate_json()
        assert blocks[0].type == "header" and a["title"][:40] in slack["text"]
        urls = [e["url"] for b in slack["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert any(u.endswith(link) for u in urls)
        assert "snapshot" in str(slack["blocks"]) and "cams.example" in str(slack["blocks"])

        card = validate_adaptive_card(http.at("/teams")[0].json())
        assert any(x["url"].endswith(link) for x in card["actions"])

        hook = http.at("/hook")[0]
        want = "sha256=" + hmac.new(b"s3cret", hook.headers["x-rtcc-timestamp"].encode() + b"." + hook.body,
                                    hashlib.sha256).hexdigest()
        assert hook.headers["x-rtcc-signature"] == want
        assert hook.json()["alert"]["id"] == a["id"] and hook.json()["links"]["map"].endswith(link)
        assert hook.headers["idempotency-key"] == hook.json()["idempotency_key"]

        capdoc = http.at("/cap")[0].body
        xmlschema.XMLSchema(str(XSD)).validate(capdoc.decode())

        for ev in (tcp.events[0], udp.events[0]):
            assert ev.tag == "event" and ev.get("version") == "2.0" and ev.get("uid") == f"RTCC-ALERT-{a['id']}"
            pt = ev.find("point")
            assert abs(float(pt.get("lat")) - a["lat"]) < 1e-6 and abs(float(pt.get("lon")) - a["lon"]) < 1e-6
            assert a["title"] in ev.find("detail/remarks").text
            assert any(l.get("url").endswith(link) for l in ev.findall("detail/link"))

        rcpt, mail = smtp.messages[0]
        assert rcpt == ["watch@agency.example"] and a["title"][:30] in mail["Subject"]
        assert link in mail.get_content() and mail["Message-ID"].startswith("<")
    finally:
        for c in client.get("/api/channels").json():
            if c["name"].endswith(tag):
                client.delete(f"/api/channels/{c['name']}")
        http.stop(), tcp.close(), udp.close(), smtp.close()
        conn.execute("UPDATE cameras SET snapshot_url = NULL")
        with conn.cursor() as cur:
            cur.executemany("UPDATE cameras SET snapshot_url = %s WHERE id = %s", [(u, i) for i, u in saved])


def test_cap_feed_and_message_are_valid_cap_1_2(client, fast_outbox, rule):
    a = raise_alert(client, rule)
    schema = xmlschema.XMLSchema(str(XSD))
    one = client.get(f"/api/alerts/{a['id']}.cap")
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/cap+xml")
    schema.validate(one.text)
    feed = client.get("/api/cap.atom?limit=20")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    from xml.etree import ElementTree as ET
    root = ET.fromstring(feed.content)
    entries = root.findall(f"{ATOM}entry")
    assert entries and root.tag == f"{ATOM}feed"
    for e in entries:
        (cap,) = list(e.find(f"{ATOM}content"))
        schema.validate(ET.tostring(cap).decode())
    assert any(e.find(f"{ATOM}title").text == a["title"] for e in entries)


def test_receiver_failing_three_times_gets_exactly_one_success(client, fast_outbox, rule):
    http = HTTPReceiver(scripts={"/flaky": [500, 500, 500, 200]}).start()
    name = f"flaky-{uuid.uuid4().hex[:6]}"
    try:
        channel(client, name, "webhook", http.url("/flaky"), rule)
        a = raise_alert(client, rule)
        d = wait(lambda: [x for x in client.get(f"/api/deliveries?alert_id={a['id']}").json()
                          if x["status"] == "delivered"])
        assert d, client.get(f"/api/deliveries?alert_id={a['id']}").json()
        assert d[0]["attempts"] == 4 and d[0]["last_error"] is None
        import time
        time.sleep(0.5)
        reqs = http.at("/flaky")
        assert len(reqs) == 4 and len({r.headers["idempotency-key"] for r in reqs}) == 1
    finally:
        client.delete(f"/api/channels/{name}")
        http.stop()


def test_receiver_that_never_answers_is_dead_lettered(client, fast_outbox, rule):
    http = HTTPReceiver(scripts={"/silent": [0]}).start()
    name = f"silent-{uuid.uuid4().hex[:6]}"
    try:
        channel(client, name, "slack", http.url("/silent"), rule)
        a = raise_alert(client, rule)
        d = wait(lambda: [x for x in client.get(f"/api/deliveries?alert_id={a['id']}").json()
                          if x["status"] == "dead"], timeout=30)
        assert d, client.get(f"/api/deliveries?alert_id={a['id']}").json()
        assert d[0]["attempts"] == 4 and "no answer" in d[0]["last_error"]
        shown = client.get(f"/api/alerts/{a['id']}").json()["deliveries"]
        assert shown[0]["status"] == "dead" and "no answer" in shown[0]["last_error"]
        assert client.post(f"/api/deliveries/{d[0]['id']}/retry").status_code == 200
    finally:
        client.delete(f"/api/channels/{name}")
        http.stop()


def test_bad_channels_are_refused(client, rule):
    for kind, url in [("slack", "ftp://x"), ("tak", "http://x"), ("tak", "tcp://host"), ("email", "smtp://h:25"),
                      ("teams", "not a url")]:
        r = client.post("/api/channels", json={"name": "bad", "kind": kind, "url": url})
        assert r.status_code == 422, (kind, url, r.text)
    assert client.post("/api/channels", json={"name": "bad", "kind": "pager", "url": "http://x"}).status_code == 422
    r = client.post("/api/channels", json={"name": "bad", "kind": "slack", "url": "http://x", "rules": ["no such"]})
    assert r.status_code == 422 and "no such" in r.json()["detail"]
    assert client.delete("/api/channels/never-existed").status_code == 404


def _server(database_url: str, port: int, worker: bool) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "RTCC_OUTBOX_WORKER": "1" if worker else "0",
           "RTCC_OUTBOX_BACKOFF_S": "0.05", "RTCC_OUTBOX_TIMEOUT_S": "2"}
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.app:create_app", "--factory", "--host",
                          "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)
    ok = wait(lambda: _up(port), timeout=60, step=0.2)
    assert ok, "subprocess server did not start"
    return p


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_exactly_once_across_a_server_kill(client, database_url, rule):
    """Killed after the alert committed and before its delivery: the restarted server sends it once.
    Killed while the receiver holds the request: the resend carries the same idempotency key."""
    from services.alerts import outbox
    outbox.stop()  # only the subprocess servers deliver in this test
    http = HTTPReceiver(scripts={"/once": [200], "/held": [0, 200]}).start()
    tag = uuid.uuid4().hex[:6]
    procs = []
    try:
        port = free_port()
        procs.append(_server(database_url, port, worker=False))
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(base + "/api/channels", json={"name": f"once-{tag}", "kind": "webhook",
                          "url": http.url("/once"), "rules": [rule["name"]]}).status_code == 201
        p = plate()
        httpx.post(f"{base}/api/hotlists/{rule['list']}?mode=append", json=[{"plate": p, "reason": "BOLO"}])
        assert httpx.post(base + "/api/ingest/alpr", json=[read(p)]).json()["accepted"] == 1
        procs[-1].send_signal(signal.SIGKILL)  # committed, not sent
        procs[-1].wait()
        assert http.requests == []

        port = free_port()
        procs.append(_server(database_url, port, worker=True))
        assert wait(lambda: http.at("/once"))
        import time
        time.sleep(1.5)
        assert len(http.at("/once")) == 1

        # Second act: killed mid-send (the receiver holds the first request open).
        base = f"http://127.0.0.1:{port}"
        httpx.delete(f"{base}/api/channels/once-{tag}")
        httpx.post(base + "/api/channels", json={"name": f"held-{tag}", "kind": "webhook",
                                                 "url": http.url("/held"), "rules": [rule["name"]]})
        q = plate()
        httpx.post(f"{base}/api/hotlists/{rule['list']}?mode=append", json=[{"plate": q, "reason": "BOLO"}])
        httpx.post(base + "/api/ingest/alpr", json=[read(q)])
        assert wait(lambda: http.at("/held"))
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait()
        port = free_port()
        procs.append(_server(database_url, port, worker=True))
        assert wait(lambda: len(http.at("/held")) == 2)
        keys = {r.headers["idempotency-key"] for r in http.at("/held")}
        assert len(keys) == 1, "a resend carries the same idempotency key: the receiver keeps one copy"
        aid = http.at("/held")[1].json()["alert"]["id"]
        d = wait(lambda: [x for x in httpx.get(f"http://127.0.0.1:{port}/api/deliveries?alert_id={aid}").json()
                          if x["status"] == "delivered"])
        assert d and d[0]["attempts"] == 1  # the killed attempt never committed
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.terminate()
                pr.wait(10)
        for n in (f"once-{tag}", f"held-{tag}"):
            client.delete(f"/api/channels/{n}")
        http.stop()
        outbox.start()
