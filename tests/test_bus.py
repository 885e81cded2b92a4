"""The bus: one LISTEN connection per process, notices in id order, nothing skipped across a reconnect."""
from __future__ import annotations

import threading
import time

import psycopg

from services import bus as bus_log
from services.bus import bus


def _wait(pred, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def _bus_backends(conn) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'rtcc-bus'")]


def test_one_listen_connection_per_process(server_url, client, conn):
    """Live hub, tile cache and proximity worker all run in this process: one LISTEN between them."""
    from services.tiles.cache import cache
    cache.start()
    assert _wait(bus.ready.is_set)
    names = [s.name for s in bus.subscribers]
    assert {"live", "tiles", "proximity"} <= set(names) and names.index("live") < names.index("tiles")
    listening = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND query ILIKE 'LISTEN %'").fetchone()[0]
    assert listening == 1


def test_notices_committed_while_reconnecting_are_delivered_in_order(client, conn):
    got: list[int] = []
    bus.subscribe("test-recorder", lambda c, ns: got.extend(n.id for n in ns))
    try:
        assert _wait(bus.ready.is_set)
        ids = [bus_log.publish(conn, "test", {"i": 0})]
        assert _wait(lambda: ids[0] in got)
        connects = bus.connects
        for pid in _bus_backends(conn):
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        ids += [bus_log.publish(conn, "test", {"i": i}) for i in range(1, 20)]  # while it reconnects
        assert _wait(lambda: bus.connects > connects and ids[-1] in got), "bus did not reconnect and catch up"
        mine = [i for i in got if i in set(ids)]
        assert mine == ids  # every notice, once, in order
    finally:
        bus.subscribers = [s for s in bus.subscribers if s.name != "test-recorder"]


def test_ids_become_visible_in_id_order(database_url):
    """A writer that drew id N commits before the next writer can draw N+1: a reader never sees N+1
    without N (so "after N+1" cannot skip N)."""
    with psycopg.connect(database_url, autocommit=True) as a, psycopg.connect(database_url, autocommit=True) as b, \
            psycopg.connect(database_url, autocommit=True) as reader:
        a.execute("BEGIN")
        first = bus_log.publish(a, "test", {"w": "a"})
        second: list[int] = []
        t = threading.Thread(target=lambda: second.append(bus_log.publish(b, "test", {"w": "b"})))
        t.start()
        t.join(0.5)
        assert t.is_alive() and not second   # b waits for a's commit before drawing its id
        assert not bus_log.read(reader, first - 1)  # nothing visible yet
        a.execute("COMMIT")
        t.join(5)
        assert second and second[0] > first
        assert [n.id for n in bus_log.read(reader, first - 1) if n.type == "test"][:2] == [first, second[0]]


def test_prune_keeps_the_newest_and_records_the_horizon(client, conn):
    # the proximity worker reads the log too: its cursor passes the head before rows go (moved here
    # as the worker moves it, since a worker busy with a backlog of answers moves it only when woken)
    from services.proximity.jobs import queue_new
    # the app's own writers (proximity answers, alerts) publish too: hold the bus's lock (the one
    # rtcc_live_publish takes) so that the log holds exactly what this test wrote
    conn.execute("SELECT pg_advisory_lock(74196)")
    try:
        head = bus_log.head(conn)
        assert _wait(lambda: queue_new(conn) >= 0 and conn.execute(
            "SELECT last_id FROM bus_cursors WHERE name = 'proximity'").fetchone()[0] >= head, 30)
        ids = [bus_log.publish(conn, "test", {"i": i}) for i in range(5)]
        conn.execute("SELECT rtcc_live_prune(interval '1 hour', 2)")
        left = [r[0] for r in conn.execute("SELECT id FROM live_log ORDER BY id")]
        assert left[-2:] == ids[-2:] and len(left) == 2
        assert bus_log.pruned_below(conn) == ids[-2]
        conn.execute("SELECT rtcc_live_prune(interval '0 hours', 100)")   # everything is old: the head stays
        assert [r[0] for r in conn.execute("SELECT id FROM live_log")] == [ids[-1]]
        assert bus_log.head(conn) == ids[-1]
    finally:
        conn.execute("SELECT pg_advisory_unlock(74196)")
