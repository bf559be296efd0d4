"""The webhook stores and answers; the workers apply (linebot_app.inbox): de-duplication,
one transaction for a delivery, LINE's order per user, dead letters and their retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy import text as sql

from authencode import cli
from authencode.db import Database
from authencode.models import WebhookEvent
from authencode.settings import Settings
from linebot_app import inbox
from linebot_app.inbox import ApplyPolicy, EventApplier
from tests.support.line_bot import USER_ID, outbox, post, text, webhook

OTHER = "U" + "b" * 32


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The webhook as in production: it stores, only the workers apply."""
    return settings.with_overrides(line_events_inline=False)


def _events(db: Database) -> dict[str, WebhookEvent]:
    with db.sessionmaker() as session:
        return {e.webhook_event_id: e for e in session.scalars(select(WebhookEvent))}


def _reply_tokens(db: Database, user: str = USER_ID) -> list[str | None]:
    return [row.reply_token for row in outbox(db) if row.recipient == user]


def test_a_delivery_is_stored_once_and_applied_once_by_a_worker(
    client: Any, db: Database, settings: Settings
) -> None:
    first, second = text("สวัสดี"), text("ขอรหัส 1234567890123")
    # One delivery naming an event twice, then LINE's redelivery of the second.
    assert post(client, webhook(first, second, first)).status_code == 200
    assert post(client, webhook(second)).status_code == 200
    stored = _events(db)
    assert set(stored) == {first["webhookEventId"], second["webhookEventId"]}
    assert {e.status for e in stored.values()} == {"pending"}
    # Encrypted at rest: what the person typed is not readable in the row.
    assert all(b"1234567890123" not in (e.payload or b"") for e in stored.values())
    assert outbox(db) == []  # nothing applied by the webhook

    assert EventApplier(db, settings).run_once() == 2
    assert _reply_tokens(db) == [first["replyToken"], second["replyToken"]]
    assert {e.status for e in _events(db).values()} == {"applied"}
    assert all(e.payload is None for e in _events(db).values())

    # A redelivery after the event was applied: stored nothing, applied nothing.
    assert post(client, webhook(first, second)).status_code == 200
    assert EventApplier(db, settings).run_once() == 0
    assert len(outbox(db)) == 2


def test_a_users_events_apply_in_timestamp_then_arrival_order(
    client: Any, db: Database, settings: Settings
) -> None:
    early, late, same_a, same_b = (text(m) for m in ("หนึ่ง", "สอง", "สาม", "สี่"))
    late["timestamp"], early["timestamp"] = 2_000, 1_000
    same_a["timestamp"] = same_b["timestamp"] = 3_000
    other = text("สวัสดี", OTHER)
    # Arrival order: late before early; two events of one timestamp in two deliveries.
    assert post(client, webhook(late, other, early, same_a)).status_code == 200
    assert post(client, webhook(same_b)).status_code == 200
    EventApplier(db, settings).run_once()
    assert _reply_tokens(db) == [e["replyToken"] for e in (early, late, same_a, same_b)]
    assert _reply_tokens(db, OTHER) == [other["replyToken"]]

    # LINE redelivers an older event after newer ones were applied: it is applied then, late.
    redelivered = text("ห้า")
    redelivered["timestamp"] = 500
    redelivered["deliveryContext"] = {"isRedelivery": True}
    assert post(client, webhook(redelivered)).status_code == 200
    EventApplier(db, settings).run_once()
    assert _reply_tokens(db)[-1] == redelivered["replyToken"]


def test_events_without_an_id_are_skipped_and_malformed_ones_applied_as_nothing(
    client: Any, db: Database, settings: Settings
) -> None:
    nameless = text("ไม่มีรหัส")
    del nameless["webhookEventId"]
    broken = {"type": "message", "webhookEventId": "01HBROKEN", "source": "?", "timestamp": "x"}
    assert post(client, webhook(nameless, broken)).status_code == 200
    assert list(_events(db)) == ["01HBROKEN"]
    assert EventApplier(db, settings).run_once() == 1
    assert _events(db)["01HBROKEN"].status == "applied"
    assert outbox(db) == []


def _cli(settings: Settings, tmp_path: Path, *args: str) -> Any:
    env = {
        "AUTHENCODE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    return CliRunner().invoke(cli.main, ["line", "events", *args], env=env)


def test_an_event_that_keeps_failing_is_dead_lettered_shown_and_retried(
    client: Any,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    real = inbox.handle_event

    def flaky(ctx: Any, event: Any) -> None:
        real(ctx, event)
        if getattr(event.message, "text", "") == "boom":
            raise RuntimeError("a bug")

    monkeypatch.setattr(inbox, "handle_event", flaky)
    boom, after = text("boom"), text("สวัสดี")
    assert post(client, webhook(boom, after)).status_code == 200
    applier = EventApplier(db, settings, policy=ApplyPolicy(max_attempts=3, base_delay=0.0))
    applier.run_once()
    events = _events(db)
    assert events[boom["webhookEventId"]].status == "dead"
    assert events[boom["webhookEventId"]].attempts == 3
    assert events[boom["webhookEventId"]].last_error == "RuntimeError"
    # The bug held up nothing behind it, and none of its effects stayed.
    assert _reply_tokens(db) == [after["replyToken"]]

    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'authencode_line_events{status="dead"} 1.0' in metrics
    assert 'authencode_line_events{status="pending"} 0.0' in metrics

    listed = _cli(settings, tmp_path, "list")
    assert listed.exit_code == 0, listed.output
    assert "dead: 1" in listed.output and boom["webhookEventId"] in listed.output
    assert "boom" not in listed.output.replace(boom["webhookEventId"], "")

    assert _cli(settings, tmp_path, "retry").exit_code == 2  # ids or --all-dead
    unknown = _cli(settings, tmp_path, "retry", after["webhookEventId"])
    assert unknown.exit_code == 1  # applied, not dead: left alone
    monkeypatch.setattr(inbox, "handle_event", real)  # the bug fixed
    retried = _cli(settings, tmp_path, "retry", boom["webhookEventId"])
    assert retried.exit_code == 0, retried.output
    assert _events(db)[boom["webhookEventId"]].status == "pending"
    assert applier.run_once() == 1
    assert _reply_tokens(db) == [after["replyToken"], boom["replyToken"]]
    assert _events(db)[boom["webhookEventId"]].status == "applied"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_delivery_is_stored_whole_or_not_at_all(client: Any, db: Database) -> None:
    """One statement in one transaction: no event of a delivery is stored unless all are,
    and LINE is told to deliver it again (503)."""
    with db.engine.begin() as conn:
        conn.execute(
            sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk full'; END; $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON webhook_events FOR EACH ROW "
                "WHEN (NEW.webhook_event_id = '01HREFUSED') EXECUTE FUNCTION refuse()"
            )
        )
    fine, refused = text("สวัสดี"), text("สวัสดี", event_id="01HREFUSED")
    response = post(client, webhook(fine, refused))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert _events(db) == {}
    assert post(client, webhook(fine)).status_code == 200  # LINE's redelivery, without it
    assert list(_events(db)) == [fine["webhookEventId"]]


def test_a_worker_outside_the_web_app_throttles_a_chatty_user_and_counts_it(
    client: Any, db: Database, settings: Settings
) -> None:
    from authencode.ratelimit import RateLimiter
    from authencode.services.inbox import THROTTLED
    from linebot_app.inbox import SLOW_DOWN_TH

    events = [text(f"ข้อความ {n}") for n in range(4)]
    assert post(client, webhook(*events)).status_code == 200
    # As in `python -m linebot_app.worker`: no Flask application around it.
    applier = EventApplier(db, settings, rate=RateLimiter({"line_user": 2}))
    assert applier.run_once() == 4
    replies = [row.payload["messages"][0].get("text") for row in outbox(db)]
    assert len(replies) == 3 and replies[2] == SLOW_DOWN_TH  # asked once to slow down
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f"authencode_{THROTTLED}_total 2.0" in metrics


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_stored_delivery_wakes_the_idle_workers_outside_its_own_statement(
    client: Any, db: Database, settings: Settings
) -> None:
    """No trigger notifies from the storing statement (PostgreSQL would serialise the
    webhook's commits on it); the web process nudges the LISTENing workers after it."""
    import psycopg

    from linebot_app.wake import NOTIFY_CHANNEL, listen_url

    with db.engine.connect() as conn:
        triggers = conn.scalars(
            sql(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid = 'webhook_events'::regclass"
            )
        ).all()
    assert triggers == []
    url = listen_url(settings.database_url)
    assert url is not None
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        assert post(client, webhook(text("สวัสดี"))).status_code == 200
        woken = list(listener.notifies(timeout=30, stop_after=1))
    assert [n.channel for n in woken] == [NOTIFY_CHANNEL]
    assert EventApplier(db, settings).run_once() == 1
