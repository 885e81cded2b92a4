"""The outbox worker: deliveries written in the alert's transaction are sent from here.

A worker claims one due delivery with FOR UPDATE SKIP LOCKED and keeps the row locked while it
sends, so no other worker of any process sends it at the same time; success marks it delivered in the
same transaction. A process killed before the commit leaves the row pending (its lock goes with the
connection) and the next worker sends it again with the same idempotency key. Failures are retried
with exponential backoff and dead-lettered with the last error after RTCC_OUTBOX_MAX_ATTEMPTS.
The bus (services/bus.py) wakes the workers: an "alert" or "outbox" notice at the alert's commit;
they also poll once a second.
"""
from __future__ import annotations

import logging
import threading

import psycopg

from services import db
from services.bus import Notice, bus
from services.alerts import channels, message
from services.alerts.records import get_alert
from services.settings import get_settings

log = logging.getLogger("rtcc.alerts.outbox")

_threads: list[threading.Thread] = []
_stop = threading.Event()
_wake = threading.Condition()

# Due, and the alert's proximity answer is attached (cameras and units go into every message) or
# has been waited for long enough (RTCC_ALERT_PROXIMITY_WAIT_S).
CLAIM = """
    SELECT d.id, d.alert_id, d.idem_key::text, d.attempts, c.id, c.name, c.kind, c.url, c.secret
    FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id JOIN alerts a ON a.id = d.alert_id
    WHERE d.status = 'pending' AND d.next_at <= now()
      AND (a.proximity IS NOT NULL OR d.created_at < now() - make_interval(secs => %(wait)s))
    ORDER BY d.next_at, d.id
    FOR UPDATE OF d SKIP LOCKED LIMIT 1"""
NEXT_DUE = """
    SELECT extract(epoch FROM min(GREATEST(d.next_at, CASE WHEN a.proximity IS NULL
                  THEN d.created_at + make_interval(secs => %(wait)s) ELSE d.next_at END)) - now())
    FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE d.status = 'pending'"""


def backoff_s(attempts: int) -> float:
    s = get_settings()
    return min(s.outbox_backoff_s * 2 ** max(attempts - 1, 0), s.outbox_backoff_max_s)


def send_one(conn: psycopg.Connection) -> bool:
    """Claim, send and settle one due delivery; False when none is due."""
    with conn.transaction():
        row = conn.execute(CLAIM, {"wait": get_settings().alert_proximity_wait_s}).fetchone()
        if row is None:
            return False
        did, alert_id, key, attempts, cid, name, kind, url, secret = row
        channel = {"id": cid, "name": name, "kind": kind, "url": url, "secret": secret}
        attempts += 1
        try:
            msg = message.build(conn, get_alert(conn, alert_id))
            channels.KINDS[kind](channel, msg, key)
        except Exception as e:  # every failure is the delivery's, kept as its last error
            err = str(e) if isinstance(e, channels.DeliveryError) else f"{type(e).__name__}: {e}"
            dead = attempts >= get_settings().outbox_max_attempts
            conn.execute("UPDATE alert_deliveries SET attempts = %s, last_error = %s, status = %s, "
                         "next_at = now() + make_interval(secs => %s) WHERE id = %s",
                         (attempts, err[:1000], "dead" if dead else "pending", backoff_s(attempts), did))
            (log.error if dead else log.warning)("delivery %s of alert %s to %s (%s) failed, attempt %s%s: %s",
                                                  did, alert_id, name, kind, attempts, " (dead-lettered)" if dead else "", err)
            return True
        conn.execute("UPDATE alert_deliveries SET attempts = %s, status = 'delivered', delivered_at = now(), "
                     "last_error = NULL WHERE id = %s", (attempts, did))
    return True


def _seconds_to_next(conn: psycopg.Connection) -> float:
    row = conn.execute(NEXT_DUE, {"wait": get_settings().alert_proximity_wait_s}).fetchone()
    return 1.0 if row[0] is None else max(0.0, min(float(row[0]), 1.0))


def _work() -> None:
    conn: psycopg.Connection | None = None
    while not _stop.is_set():
        try:
            if conn is None or conn.closed:
                conn = db.connect(autocommit=True)
            while not _stop.is_set() and send_one(conn):
                pass
            wait = _seconds_to_next(conn)
            with _wake:
                if wait > 0 and not _stop.is_set():
                    _wake.wait(wait)
        except psycopg.OperationalError as e:  # database restart: the deliveries wait in the table
            log.warning("outbox worker lost its connection (%s)", e)
            conn = None
            _stop.wait(1.0)
        except Exception:
            log.exception("outbox worker error")
            _stop.wait(1.0)
    if conn is not None:
        conn.close()


def on_notices(conn: psycopg.Connection, notices: list[Notice]) -> None:
    """Bus subscriber: an alert committed (or a delivery was retried): wake the sending threads."""
    if any(n.type in ("alert", "outbox") for n in notices):
        with _wake:
            _wake.notify_all()


bus.subscribe("alerts-outbox", on_notices)


def start() -> None:
    """Start this process's sending threads (RTCC_OUTBOX_WORKERS); the bus wakes them."""
    if _threads or not get_settings().outbox_worker:
        return
    _stop.clear()
    for i in range(max(1, get_settings().outbox_workers)):
        _threads.append(threading.Thread(target=_work, name=f"rtcc-outbox-{i}", daemon=True))
    for t in _threads:
        t.start()
    bus.start()


def stop() -> None:
    _stop.set()
    with _wake:
        _wake.notify_all()
    for t in _threads:
        t.join(timeout=10)
    _threads.clear()
