"""Issue 19's queue-library evaluation: what each candidate adds to the webhook's path.

The webhook must store each event (deduplicated by ``webhookEventId``) and what makes a worker
pick it up in one transaction. Our inbox does both with one row (``webhook_events``, pending).
A queue library keeps its jobs in its own table, and neither can stand in for the
de-duplication table (procrastinate's ``queueing_lock`` and pgqueuer's ``dedupe_key`` hold
only while a job waits: a redelivery after the job ran would run it again), so adopting one
adds its enqueue to our INSERT, in the same transaction. This measures that, per delivery
(one event, one transaction, sequential on one connection): wall time, the client's CPU and
the PostgreSQL backend's CPU (from /proc), for

- ``inbox``: our INSERT ... ON CONFLICT DO NOTHING (the NOTIFY trigger included);
- ``procrastinate``: the same plus ``procrastinate_defer_jobs_v1`` (what ``defer`` runs),
  the job locked by the LINE user (its per-key ordering);
- ``pgqueuer``: the same plus pgqueuer's ``SyncQueries.enqueue``.

Run it in a virtualenv with the libraries (they are not the project's dependencies)::

    python -m venv /tmp/q && /tmp/q/bin/pip install procrastinate pgqueuer 'psycopg[binary]'
    /tmp/q/bin/python tests/bench/bench_queue_libs.py postgresql://…/empty_database

against an empty database on a PostgreSQL server of its own (it installs both schemas).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import statistics
import sys
import time
from typing import Any

import psycopg

INBOX_DDL = """
CREATE TABLE webhook_events (
    webhook_event_id varchar(64) PRIMARY KEY, event_type varchar(32) NOT NULL,
    received_at timestamptz NOT NULL, line_user_id varchar(64), event_ts bigint,
    payload bytea, status varchar(8) NOT NULL DEFAULT 'applied',
    attempts smallint NOT NULL DEFAULT 0, next_attempt_at timestamptz, last_error varchar(200));
CREATE INDEX ix_webhook_events_inbox ON webhook_events (status, line_user_id);
CREATE FUNCTION authencode_notify_work() RETURNS trigger AS $$
BEGIN PERFORM pg_notify('authencode_work', ''); RETURN NULL; END; $$ LANGUAGE plpgsql;
CREATE TRIGGER trg_webhook_events_work AFTER INSERT ON webhook_events
    FOR EACH STATEMENT EXECUTE FUNCTION authencode_notify_work();
"""
INSERT = (
    "INSERT INTO webhook_events (webhook_event_id, event_type, received_at, line_user_id, "
    "event_ts, payload, status, attempts, next_attempt_at) VALUES "
    "(%s, 'message', now(), %s, %s, %s, 'pending', 0, now()) ON CONFLICT DO NOTHING"
)
DEFER = (
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('line', 'apply_event', 0, %s, NULL, "
    "%s::jsonb, NULL)::procrastinate_job_to_defer_v1])"
)


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def install(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(INBOX_DDL)
    procrastinate = importlib.import_module("procrastinate")
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=url))
    with app.open():
        app.schema_manager.apply_schema()
    pgqueuer_db = importlib.import_module("pgqueuer.db")
    pgqueuer_queries = importlib.import_module("pgqueuer.queries")

    async def pgq_install() -> None:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        await pgqueuer_queries.Queries(pgqueuer_db.PsycopgDriver(conn)).install()
        await conn.close()

    asyncio.run(pgq_install())


def run(url: str, kind: str, n: int, tag: str) -> dict[str, float]:
    # autocommit (pgqueuer requires it); each delivery is still one transaction block
    conn = psycopg.connect(url, autocommit=True)
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    enqueue: Any = None
    if kind == "pgqueuer":
        drivers = importlib.import_module("pgqueuer.adapters.drivers.psycopg")
        queries = importlib.import_module("pgqueuer.adapters.persistence.queries")
        enqueue = queries.SyncQueries(drivers.SyncPsycopgDriver(conn)).enqueue
    payload = os.urandom(400)
    walls = []
    cpu0, pg0 = time.process_time(), backend_cpu(pid)
    for i in range(n):
        started = time.perf_counter()
        event_id, user = f"{tag}-{kind}-{i:09d}", f"U{i % 500:032x}"
        with conn.transaction():
            conn.execute(INSERT, (event_id, user, i, payload))
            if kind == "procrastinate":
                conn.execute(DEFER, (user, f'{{"event": "{event_id}"}}'))
            elif kind == "pgqueuer":
                enqueue("apply_event", event_id.encode())
        walls.append(time.perf_counter() - started)
    cpu, pg = time.process_time() - cpu0, backend_cpu(pid) - pg0
    conn.close()
    return {
        "p50_ms": statistics.median(walls) * 1000,
        "client_cpu_ms": cpu / n * 1000,
        "pg_cpu_ms": pg / n * 1000,
    }


def main() -> None:
    url = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    install(url)
    for kind in ("inbox", "procrastinate", "pgqueuer"):
        run(url, kind, 300, "warm")
    for round_ in range(2):
        for kind in ("inbox", "procrastinate", "pgqueuer"):
            r = run(url, kind, n, f"r{round_}")
            print(
                f"{kind:<14} wall p50 {r['p50_ms']:.2f} ms  client CPU {r['client_cpu_ms']:.3f} ms"
                f"  PostgreSQL CPU {r['pg_cpu_ms']:.3f} ms  per delivery"
            )


if __name__ == "__main__":
    main()
