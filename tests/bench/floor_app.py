"""The benchmark's floor: the least a webhook honouring the contract can do, in bare Flask.

``POST /line/webhook`` checks the signature, parses the body and stores each event's id and
JSON in one ``INSERT ... ON CONFLICT DO NOTHING``, committed before answering 200 (what
DESIGN.md asks: acknowledged events are stored, de-duplicated by ``webhookEventId``). No
reply, no account, no ORM: one psycopg connection per thread. Served by the Procfile's
gunicorn line like the baseline, so its ratio to the baseline bounds what any real webhook
can reach on this machine with this database (``tests/bench/bench_http.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading

import psycopg
from flask import Flask, abort, request

app = Flask(__name__)
_SECRET = os.environ["LINE_CHANNEL_SECRET"].encode()
_URL = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
_local = threading.local()

_SCHEMA = "CREATE TABLE IF NOT EXISTS floor_events (event_id text PRIMARY KEY, body jsonb NOT NULL)"
_STORE = (
    "INSERT INTO floor_events (event_id, body) "
    "SELECT * FROM unnest(%s::text[], %s::jsonb[]) ON CONFLICT DO NOTHING"
)


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(_URL, autocommit=True)
    return conn


# Every gunicorn worker imports this at once, and two concurrent CREATE TABLE IF NOT EXISTS
# can both find no table and one then fail (duplicate type): they take turns.
with psycopg.connect(_URL) as _setup:
    _setup.execute("SELECT pg_advisory_xact_lock(hashtext('floor_events'))")
    _setup.execute(_SCHEMA)


@app.get("/")
def ready() -> str:
    return "ready"


@app.post("/line/webhook")
def webhook() -> str:
    body = request.get_data()
    expected = base64.b64encode(hmac.new(_SECRET, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, request.headers.get("X-Line-Signature", "")):
        abort(400)
    events = json.loads(body)["events"]
    # One statement, committed on its own (autocommit): a single round trip to PostgreSQL.
    _connection().execute(
        _STORE, ([e["webhookEventId"] for e in events], [json.dumps(e) for e in events])
    )
    return "OK"
