"""Rich menu deploy with the real SDK against the fake Messaging API; menu switch on consent."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from authencode import cli
from authencode.db import Database
from authencode.settings import Settings
from linebot_app import richmenu_image
from linebot_app.messages import PB_CONSENT_ACCEPT, PB_WITHDRAW_ASK, PB_WITHDRAW_CONFIRM
from linebot_app.richmenu import (
    ALIASES,
    GUEST,
    MEMBER,
    RichMenuError,
    data_host,
    deploy,
)
from linebot_app.sender import OutboxSender
from tests.support.fake_line import FakeLineServer
from tests.support.line_bot import (
    ACCESS_TOKEN,
    USER_ID,
    Clock,
    drain,
    outbox,
    post,
    postback,
    webhook,
)

ONE_MB = 1024 * 1024


@pytest.fixture
def line_settings(fake_line: FakeLineServer, tmp_path: Path) -> Settings:
    """Deploying needs no database: settings without one, so it runs once, not per backend."""
    return Settings(
        environment="test",
        line_channel_access_token=ACCESS_TOKEN,
        line_api_base_url=fake_line.url,
        public_base_url="https://clinic.example",
        instance_path=tmp_path,
    )


def _deploy(settings: Settings, **options: Any) -> Any:
    return deploy(settings, poll_seconds=0, **options)


def _ours(fake_line: FakeLineServer) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in fake_line.rich_menus.values()}


def test_deploy_creates_both_menus_within_line_limits(
    line_settings: Settings, fake_line: FakeLineServer
) -> None:
    report = _deploy(line_settings)
    menus = _ours(fake_line)
    assert set(menus) == {"authencode:guest", "authencode:member"}
    assert fake_line.aliases == {
        ALIASES[GUEST]: report.menus[GUEST],
        ALIASES[MEMBER]: report.menus[MEMBER],
    }
    assert fake_line.menu_shown_to("U-anyone") == report.menus[GUEST]  # the default
    for menu in menus.values():
        width, height = menu["size"]["width"], menu["size"]["height"]
        assert (width, height) in ((2500, 1686), (2500, 843))
        assert 1 <= len(menu["chatBarText"]) <= 14
        assert 1 <= len(menu["areas"]) <= 20
        for area in menu["areas"]:
            b = area["bounds"]
            assert b["x"] >= 0 and b["x"] + b["width"] <= width
            assert b["y"] >= 0 and b["y"] + b["height"] <= height
            assert len(area["action"].get("label", "")) <= 20
            assert len(area["action"].get("data", "")) <= 300
        image = fake_line.image_of(menu["richMenuId"])
        assert image is not None
        mime, data = image
        assert mime in ("image/png", "image/jpeg") and len(data) <= ONE_MB
        with Image.open(io.BytesIO(data)) as drawn:
            assert drawn.size == (width, height)
            assert drawn.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[mime]
            assert len(drawn.getcolors(1 << 16) or range(1000)) > 50  # drawn, not blank


def test_menus_offer_the_agreed_items(line_settings: Settings, fake_line: FakeLineServer) -> None:
    _deploy(line_settings)
    menus = _ours(fake_line)
    guest = [a["action"] for a in menus["authencode:guest"]["areas"]]
    member = [a["action"] for a in menus["authencode:member"]["areas"]]
    assert [a.get("data") or a.get("uri") for a in guest] == [
        "consent:show",
        "menu:howto",
        "tel:1330",
    ]
    targets = [a.get("data") or a.get("uri") for a in member]
    assert targets == [
        "menu:request",
        "menu:rights",
        "menu:history",
        "https://clinic.example/liff/family",
        "menu:howto",
        "tel:1330",
    ]
    # Images went to the content endpoint (LINE's data host in production).
    uploads = [r for r in fake_line.requests if r.path.endswith("/content")]
    assert len(uploads) == 2 and all(r.status == 200 for r in uploads)


def test_data_host_is_used_for_images_in_production() -> None:
    assert data_host("https://api.line.me") == "https://api-data.line.me"
    assert data_host("http://127.0.0.1:5000/dev/line/api/") == "http://127.0.0.1:5000/dev/line/api"


def test_deploying_again_replaces_cleanly_and_keeps_members_on_their_menu(
    line_settings: Settings, fake_line: FakeLineServer
) -> None:
    first = _deploy(line_settings)
    fake_line.link_user(USER_ID, first.menus[MEMBER])  # a member, linked by the worker
    second = _deploy(line_settings)
    assert set(fake_line.rich_menus) == set(second.menus.values())  # no orphans
    assert sorted(second.deleted) == sorted(first.menus.values())
    assert fake_line.aliases == {
        ALIASES[GUEST]: second.menus[GUEST],
        ALIASES[MEMBER]: second.menus[MEMBER],
    }
    assert fake_line.menu_shown_to(USER_ID) == second.menus[MEMBER]
    assert fake_line.menu_shown_to("U-anyone") == second.menus[GUEST]


def test_old_menus_are_kept_until_line_has_moved_their_users(
    line_settings: Settings, fake_line: FakeLineServer
) -> None:
    first = _deploy(line_settings)
    fake_line.set_batch_phase("ongoing")
    second = _deploy(line_settings, wait_seconds=0)
    assert sorted(second.kept) == sorted(first.menus.values()) and second.deleted == []
    fake_line.set_batch_phase("succeeded")
    third = _deploy(line_settings)
    assert set(fake_line.rich_menus) == set(third.menus.values())  # both older sets gone


@pytest.mark.parametrize("nth", [2, 3, 5, 7])
def test_a_failed_deploy_leaves_no_orphans(
    line_settings: Settings, fake_line: FakeLineServer, nth: int
) -> None:
    # Requests: 1 list, 2 create guest, 3 upload, 4 create member, 5 upload, 6 list aliases,
    # 7 create alias ...
    fake_line.fail_nth(nth, status=500)
    with pytest.raises(RichMenuError, match="HTTP 500"):
        _deploy(line_settings)
    assert fake_line.rich_menus == {}
    _deploy(line_settings)  # and a later deploy works
    assert len(fake_line.rich_menus) == 2


def test_missing_thai_font_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(richmenu_image, "THAI_FONT_DIRS", (tmp_path,))
    with pytest.raises(richmenu_image.FontMissing, match="fonts-thai-tlwg"):
        richmenu_image.find_thai_font()


def test_cli_deploys_and_saves_the_images(fake_line: FakeLineServer, tmp_path: Path) -> None:
    env = {
        "AUTHENCODE_ENV": "test",
        "AUTHENCODE_INSTANCE_PATH": str(tmp_path / "instance"),
        "LINE_API_BASE_URL": fake_line.url,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
    }
    result = CliRunner().invoke(
        cli.main, ["line", "richmenu", "deploy", "--save-images", str(tmp_path / "out")], env=env
    )
    assert result.exit_code == 0, result.output
    assert "rich menus deployed" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "richmenu-guest.png",
        "richmenu-member.png",
    ]
    env["LINE_CHANNEL_ACCESS_TOKEN"] = "wrong"
    result = CliRunner().invoke(cli.main, ["line", "richmenu", "deploy"], env=env)
    assert result.exit_code == 1 and "HTTP 401" in result.output


# --- the menu follows consent (worker links / unlinks) ------------------------------------


@pytest.fixture
def deployed(settings: Settings, fake_line: FakeLineServer) -> Iterator[dict[str, str]]:
    yield deploy(settings, poll_seconds=0).menus


def test_consent_links_the_member_menu_and_withdrawal_unlinks_it(
    client: Any,
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
    deployed: dict[str, str],
) -> None:
    assert fake_line.menu_shown_to(USER_ID) == deployed[GUEST]
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    assert fake_line.menu_shown_to(USER_ID) == deployed[GUEST]  # not in the webhook request
    drain(sender, clock)
    assert fake_line.menu_shown_to(USER_ID) == deployed[MEMBER]
    post(client, webhook(postback(PB_WITHDRAW_ASK)))
    post(client, webhook(postback(PB_WITHDRAW_CONFIRM)))
    drain(sender, clock)
    assert fake_line.menu_shown_to(USER_ID) == deployed[GUEST]
    assert [row.status for row in outbox(db)] == ["sent"] * 3


def test_menu_switch_is_retried_with_the_message(
    client: Any,
    db: Database,
    sender: OutboxSender,
    clock: Clock,
    fake_line: FakeLineServer,
    deployed: dict[str, str],
) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    fake_line.fail_nth(2, status=503)  # the link call fails once (after the alias lookup)
    drain(sender, clock)
    assert fake_line.menu_shown_to(USER_ID) == deployed[MEMBER]
    assert len(fake_line.delivered) == 1 and outbox(db)[0].attempts == 2


def test_without_deployed_menus_the_message_still_arrives(
    client: Any, db: Database, sender: OutboxSender, clock: Clock, fake_line: FakeLineServer
) -> None:
    post(client, webhook(postback(PB_CONSENT_ACCEPT)))
    drain(sender, clock)
    assert len(fake_line.delivered) == 1 and outbox(db)[0].status == "sent"
    assert fake_line.menu_shown_to(USER_ID) is None
