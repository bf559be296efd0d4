"""GET /metrics in the Prometheus text format.

- ``authencode_http_requests_total{endpoint,method,status}`` and
  ``authencode_http_request_duration_seconds{endpoint,method}``: labelled by Flask endpoint
  name (``blueprint.view``), never by the raw path, which can hold a CID or a token.
- ``authencode_codes_issued_total{channel}``: Authen Codes committed by this server.
- ``authencode_outbox_messages{kind,status}`` (pending = backlog, failed = given up) and
  ``authencode_outbox_oldest_pending_seconds``, read from the database at scrape time, and
  ``authencode_database_up``.
- ``authencode_rate_limited_total{rule}`` and ``authencode_ratelimit_redis_up``.
- Retention (authencode.services.retention), per ``kind``:
  ``authencode_retention_oldest_seconds{kind}`` (age of the oldest row still held, counted
  from the moment its period starts; 0 when none), ``authencode_retention_period_seconds{kind}``
  and ``authencode_retention_due_rows{kind}`` (past the period, waiting for the purge). A
  purge that keeps up holds oldest below period plus a few minutes.
- The LINE webhook's inbox, read from the database at scrape time:
  ``authencode_line_events{status}`` (pending = stored, not applied yet; dead = given up
  after LINE_EVENT_MAX_ATTEMPTS tries, ``authencode line events``),
  ``authencode_line_events_oldest_pending_seconds``, and the workers' counters
  ``authencode_line_push_fallbacks_total`` (replies whose token LINE refused, sent as pushes)
  and ``authencode_line_events_throttled_total`` (events over the ``line_user`` limit).

Not public: answered to a client on the loopback interface that came through no proxy, or
to anyone with ``Authorization: Bearer $METRICS_TOKEN``; everyone else gets 404.

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before
gunicorn starts (the Procfile does) and every worker's counts add up in each scrape.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, current_app, g, has_app_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.orm import Session

from authencode.db import utcnow
from authencode.services import inbox, retention
from authencode.services.issuance import ISSUED_CHANNELS
from authencode.services.outbox import backlog

_FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The application's metric objects and the registry /metrics answers from."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.registry = CollectorRegistry(auto_describe=True)
        multiproc = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        if multiproc:
            prometheus_multiprocess.MultiProcessCollector(self.registry)
        # In multiprocess mode the values live in files that the collector above sums up;
        # registering them here as well would count this process twice.
        own = None if multiproc else self.registry
        self.requests = Counter(
            "authencode_http_requests",
            "HTTP requests answered",
            ("endpoint", "method", "status"),
            registry=own,
        )
        self.latency = Histogram(
            "authencode_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ("endpoint", "method"),
            buckets=_LATENCY_BUCKETS,
            registry=own,
        )
        self.codes_issued = Counter(
            "authencode_codes_issued", "Authen Codes issued", ("channel",), registry=own
        )
        self.rate_limited = Counter(
            "authencode_rate_limited",
            "Requests refused or events throttled by a rate limit",
            ("rule",),
            registry=own,
        )
        self.registry.register(_DatabaseCollector(app))


def init_metrics(app: Flask) -> Metrics:
    """Time every request, count committed codes, and serve /metrics (not publicly)."""
    metrics = Metrics(app)
    app.extensions["metrics"] = metrics

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        endpoint = request.endpoint or "unmatched"
        metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        if started is not None:
            metrics.latency.labels(endpoint, request.method).observe(time.perf_counter() - started)
        return response

    app.add_url_rule("/metrics", "metrics", _metrics_view)
    return metrics


def note_rate_limited(rule: str) -> None:
    """Count a request refused (or a LINE event throttled) by ``rule``; outside the web app
    (a worker applying LINE events) there is no /metrics of its own to count in."""
    if not has_app_context():
        return
    metrics: Metrics | None = current_app.extensions.get("metrics")
    if metrics is not None:
        metrics.rate_limited.labels(rule).inc()


def count_issued_codes(metrics: Metrics, sessionmaker: Any) -> None:
    """Count the codes a session issued (``issuance.ISSUED_CHANNELS``) once it commits."""

    @event.listens_for(sessionmaker, "after_commit")
    def _committed(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the outer transaction can still roll back
        for channel in session.info.pop(ISSUED_CHANNELS, ()):
            metrics.codes_issued.labels(channel).inc()

    @event.listens_for(sessionmaker, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(ISSUED_CHANNELS, None)


def _metrics_view() -> Response:
    if not _may_scrape():
        abort(404)
    metrics: Metrics = current_app.extensions["metrics"]
    return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)


def _may_scrape() -> bool:
    """Loopback without any proxy in between, or the bearer token."""
    token = current_app.extensions["authencode"].settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    if any(header in request.headers for header in _FORWARDING_HEADERS):
        return False  # a reverse proxy on this host forwards public clients from 127.0.0.1
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


class _DatabaseCollector(Collector):
    """Outbox backlog and failures, read from the database when scraped."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self) -> list[Metric]:
        return []  # values come from the database at scrape time

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("authencode_database_up", "1 when the database answered")
        messages = GaugeMetricFamily(
            "authencode_outbox_messages",
            "Outbox rows waiting to be sent (pending) or given up (failed)",
            labels=("kind", "status"),
        )
        oldest = GaugeMetricFamily(
            "authencode_outbox_oldest_pending_seconds",
            "Age of the oldest outbox row still waiting to be sent",
        )
        try:
            counts, first, kept = self._read()
        except Exception:  # the database is down: say so, and still answer the scrape
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            for kind in ("reply", "push", "email"):
                for status in ("pending", "failed"):
                    messages.add_metric([kind, status], counts.get((kind, status), 0))
            yield messages
            age = (utcnow() - first).total_seconds() if first is not None else 0.0
            oldest.add_metric([], max(0.0, age))
            yield oldest
            yield from _retention_metrics(kept)
            try:
                inbox_metrics = list(self._inbox())
            except Exception:  # the database went away between the two reads
                inbox_metrics = []
            yield from inbox_metrics
        limiter = self.app.extensions.get("ratelimit")
        if limiter is not None and limiter.shared is not None:
            redis_up = GaugeMetricFamily(
                "authencode_ratelimit_redis_up", "1 when rate limits are shared through Redis"
            )
            redis_up.add_metric([], 1 if limiter.using_redis else 0)
            yield redis_up

    def _inbox(self) -> Iterator[Metric]:
        db = self.app.extensions["authencode"].db
        with db.read_only() as session:
            events = inbox.backlog(session)
            counts = inbox.counters(session)
        gauge = GaugeMetricFamily(
            "authencode_line_events",
            "LINE webhook events stored but not applied yet (pending) or given up (dead)",
            labels=("status",),
        )
        gauge.add_metric(["pending"], events.pending)
        gauge.add_metric(["dead"], events.dead)
        yield gauge
        oldest = GaugeMetricFamily(
            "authencode_line_events_oldest_pending_seconds",
            "Age of the oldest LINE webhook event waiting for a worker",
        )
        first = events.oldest_pending
        oldest.add_metric([], max(0.0, (utcnow() - first).total_seconds()) if first else 0.0)
        yield oldest
        for name, help_text in (
            (inbox.PUSH_FALLBACKS, "LINE replies whose token was refused, sent as pushes"),
            (inbox.THROTTLED, "LINE events not handled: the user was over the line_user limit"),
        ):
            counter = CounterMetricFamily(f"authencode_{name}", help_text)
            counter.add_metric([], counts[name])
            yield counter

    def _read(
        self,
    ) -> tuple[dict[tuple[str, str], int], dt.datetime | None, list[retention.KindStatus]]:
        core = self.app.extensions["authencode"]
        with core.db.read_only() as session:
            rows = backlog(session)
            kept = retention.status(session, core.settings.retention, utcnow())
        pending = [row.oldest for row in rows if row.status == "pending"]
        counts = {(row.kind, row.status): row.count for row in rows}
        return counts, min(pending, default=None), kept


def _retention_metrics(kept: list[retention.KindStatus]) -> Iterator[Metric]:
    now = utcnow()
    oldest = GaugeMetricFamily(
        "authencode_retention_oldest_seconds",
        "Age of the oldest row of a kind still held, from the moment its period starts",
        labels=("kind",),
    )
    period = GaugeMetricFamily(
        "authencode_retention_period_seconds", "Retention period of a kind", labels=("kind",)
    )
    due = GaugeMetricFamily(
        "authencode_retention_due_rows",
        "Rows of a kind past their retention period, waiting for the purge",
        labels=("kind",),
    )
    for kind in kept:
        age = (now - kind.oldest).total_seconds() if kind.oldest is not None else 0.0
        oldest.add_metric([kind.name], max(0.0, age))
        period.add_metric([kind.name], kind.period.total_seconds())
        due.add_metric([kind.name], kind.due)
    yield from (oldest, period, due)
