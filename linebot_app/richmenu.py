"""Rich menus: one for guests (before consent) and one for members (after consent).

`authencode line richmenu deploy` draws both images, creates the menus on LINE, uploads the
images (to the data host), points the aliases ``authencode-guest`` / ``authencode-member`` at
them and makes the guest menu the default. Running it again replaces everything it made
before: users linked to an old menu are moved to its replacement (rich menu batch "link"),
then the old menus are deleted, so nothing is left behind on the channel.

Which menu a user sees: the default (guest) menu, or the member menu linked to that user by
the outbox worker after consent (see ``linebot_app.sender``); the worker finds the member
menu through its alias, so a re-deploy needs no database change.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApi,
    MessagingApiBlob,
    RichMenuBatchLinkOperation,
    RichMenuBatchRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)

from authencode.settings import Settings
from linebot_app.commands import GUEST, MEMBER, Button, Command, on_menu
from linebot_app.messages import MAX_LABEL_CHARS, MAX_POSTBACK_DATA, liff_url
from linebot_app.richmenu_image import (
    MAX_IMAGE_BYTES,
    Tile,
    draw_menu,
    encode,
    find_thai_font,
    grid,
)

NAME_PREFIX = "authencode:"
ALIAS_PREFIX = "authencode-"
ALIASES = {GUEST: f"{ALIAS_PREFIX}{GUEST}", MEMBER: f"{ALIAS_PREFIX}{MEMBER}"}
FULL = (2500, 1686)
HALF = (2500, 843)
MAX_AREAS = 20
MAX_CHAT_BAR_CHARS = 14
MAX_ALIAS_CHARS = 32
LINE_API_HOST = "https://api.line.me"
LINE_DATA_HOST = "https://api-data.line.me"
TIMEOUT = (5.0, 30.0)  # connect, read (an image upload is the slowest call)

Json = dict[str, Any]


class RichMenuError(Exception):
    """Deploying the rich menus failed; the message says where (no secrets in it)."""


@dataclass(frozen=True)
class MenuItem:
    tile: Tile
    action: Json  # a LINE action object


@dataclass(frozen=True)
class MenuSpec:
    kind: str  # GUEST or MEMBER
    size: tuple[int, int]
    cols: int
    rows: int
    chat_bar_text: str
    items: tuple[MenuItem, ...]

    @property
    def alias_id(self) -> str:
        return ALIASES[self.kind]

    @property
    def name(self) -> str:
        return f"{NAME_PREFIX}{self.kind}"

    def cells(self) -> list[tuple[int, int, int, int]]:
        return grid(*self.size, self.cols, self.rows)

    def to_json(self) -> Json:
        """The rich menu object LINE takes (also what the SDK's RichMenuRequest holds)."""
        return {
            "size": {"width": self.size[0], "height": self.size[1]},
            "selected": True,
            "name": self.name,
            "chatBarText": self.chat_bar_text,
            "areas": [
                {"bounds": {"x": x, "y": y, "width": w, "height": h}, "action": item.action}
                for (x, y, w, h), item in zip(self.cells(), self.items, strict=True)
            ],
        }


def _postback(label: str, data: str, display_text: str | None = None) -> Json:
    return {"type": "postback", "label": label, "data": data, "displayText": display_text or label}


def _uri(label: str, uri: str) -> Json:
    return {"type": "uri", "label": label, "uri": uri}


def _action(settings: Settings, command: Command, button: Button) -> Json:
    if button.uri:
        return _uri(button.label, button.uri)
    if button.liff_path:
        return _uri(button.label, liff_url(settings, button.liff_path))
    return _postback(button.label, button.data or f"menu:{command.menu_item}", button.display_text)


def _items(settings: Settings, menu: str) -> tuple[MenuItem, ...]:
    return tuple(
        MenuItem(command.button.tile, _action(settings, command, command.button))
        for command in on_menu(menu)
        if command.button
    )


def menu_specs(settings: Settings) -> list[MenuSpec]:
    """The guest menu (consent, how to use, hotline) and the member menu (six services), with
    the buttons the command table (`linebot_app.commands`) places on them."""
    return [
        MenuSpec(GUEST, HALF, 3, 1, "เมนู", _items(settings, GUEST)),
        MenuSpec(MEMBER, FULL, 3, 2, "เมนูบริการ", _items(settings, MEMBER)),
    ]


def check_spec(spec: MenuSpec) -> None:
    """Raise ValueError when a menu breaks one of LINE's limits."""
    width, height = spec.size
    if not 800 <= width <= 2500 or height < 250 or width / height < 1.45:
        raise ValueError(f"{spec.kind}: size {spec.size} is not a rich menu size")
    if not 1 <= len(spec.items) <= MAX_AREAS or len(spec.items) != spec.cols * spec.rows:
        raise ValueError(f"{spec.kind}: {len(spec.items)} areas for a {spec.cols}x{spec.rows} grid")
    if not 1 <= len(spec.chat_bar_text) <= MAX_CHAT_BAR_CHARS:
        raise ValueError(f"{spec.kind}: chat bar text longer than {MAX_CHAT_BAR_CHARS}")
    if len(spec.alias_id) > MAX_ALIAS_CHARS:
        raise ValueError(f"{spec.kind}: alias id longer than {MAX_ALIAS_CHARS}")
    for area in spec.to_json()["areas"]:
        b, action = area["bounds"], area["action"]
        if b["x"] < 0 or b["y"] < 0 or b["x"] + b["width"] > width or b["y"] + b["height"] > height:
            raise ValueError(f"{spec.kind}: an area lies outside the menu")
        if (
            len(action.get("label", "")) > MAX_LABEL_CHARS
            or len(action.get("data", "")) > MAX_POSTBACK_DATA
        ):
            raise ValueError(f"{spec.kind}: an action label or data is too long")


@dataclass(frozen=True)
class DrawnMenu:
    spec: MenuSpec
    image: bytes
    mime_type: str


def draw(spec: MenuSpec, font: str | Path | None = None) -> DrawnMenu:
    """Check the menu and draw its image (PNG, or JPEG if PNG would exceed 1 MB)."""
    check_spec(spec)
    image = draw_menu(
        spec.size, spec.cells(), [item.tile for item in spec.items], find_thai_font(font)
    )
    data, mime = encode(image)
    if len(data) > MAX_IMAGE_BYTES:  # encode() guarantees it; kept as the contract
        raise ValueError("rich menu image larger than 1 MB")
    return DrawnMenu(spec, data, mime)


def data_host(api_base_url: str) -> str:
    """Images go to LINE's data host; any other base URL (a fake, a proxy) takes them too."""
    base = api_base_url.rstrip("/")
    return LINE_DATA_HOST if base == LINE_API_HOST else base


def _configuration(settings: Settings, host: str) -> Configuration:
    if not settings.line_channel_access_token:
        raise RichMenuError("LINE_CHANNEL_ACCESS_TOKEN is required to deploy rich menus")
    return Configuration(host=host, access_token=settings.line_channel_access_token)


@dataclass
class DeployReport:
    menus: dict[str, str] = field(default_factory=dict)  # kind -> new rich menu id
    default: str | None = None
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # old menus whose users are still moving


def _fail(what: str, exc: ApiException) -> RichMenuError:
    try:
        message = json.loads(exc.body or "{}").get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return RichMenuError(
        f"LINE answered HTTP {exc.status} to {what}" + (f": {message}" if message else "")
    )


def deploy(
    settings: Settings,
    *,
    font: str | Path | None = None,
    out_dir: Path | None = None,
    wait_seconds: float = 120.0,
    poll_seconds: float = 2.0,
    echo: Callable[[str], None] = lambda _line: None,
) -> DeployReport:
    """Create, upload, alias and set as default; replace what an earlier deploy made.

    Raises RichMenuError (the LINE answer named) or FontMissing. On a failure before the
    switch, the menus created so far are deleted again: a failed deploy leaves no orphans.
    """
    drawn = [draw(spec, font) for spec in menu_specs(settings)]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for menu in drawn:
            suffix = "png" if menu.mime_type == "image/png" else "jpg"
            (out_dir / f"richmenu-{menu.spec.kind}.{suffix}").write_bytes(menu.image)
    report = DeployReport()
    with (
        ApiClient(_configuration(settings, settings.line_api_base_url)) as client,
        ApiClient(_configuration(settings, data_host(settings.line_api_base_url))) as data,
    ):
        api, blob = MessagingApi(client), MessagingApiBlob(data)
        old = _ours(api)
        try:
            for menu in drawn:
                report.menus[menu.spec.kind] = _create(api, blob, menu)
                echo(f"created {menu.spec.kind} menu {report.menus[menu.spec.kind]}")
            _point_aliases(api, report.menus)
            api.set_default_rich_menu(report.menus[GUEST], _request_timeout=TIMEOUT)
            report.default = report.menus[GUEST]
        except ApiException as exc:
            _delete_quietly(api, report.menus.values())
            raise _fail("the rich menu set-up", exc) from None
        echo(f"aliases {', '.join(ALIASES.values())} set; default menu {report.default}")
        moved = _move_users(api, old, report.menus, wait_seconds, poll_seconds, echo)
        for menu_id, _kind in old:
            if not moved:
                report.kept.append(menu_id)
                continue
            try:
                api.delete_rich_menu(menu_id, _request_timeout=TIMEOUT)
                report.deleted.append(menu_id)
            except ApiException as exc:
                if exc.status != 404:
                    raise _fail(f"deleting old menu {menu_id}", exc) from None
    return report


def _ours(api: MessagingApi) -> list[tuple[str, str]]:
    """(id, kind) of the menus an earlier deploy made, found by their name."""
    try:
        menus = api.get_rich_menu_list(_request_timeout=TIMEOUT).richmenus
    except ApiException as exc:
        raise _fail("listing rich menus", exc) from None
    return [
        (m.rich_menu_id, m.name.removeprefix(NAME_PREFIX))
        for m in menus
        if m.name.startswith(NAME_PREFIX)
    ]


def _create(api: MessagingApi, blob: MessagingApiBlob, menu: DrawnMenu) -> str:
    request = RichMenuRequest.from_dict(menu.spec.to_json())
    menu_id = api.create_rich_menu(request, _request_timeout=TIMEOUT).rich_menu_id
    try:
        blob.set_rich_menu_image(
            menu_id, menu.image, _headers={"Content-Type": menu.mime_type}, _request_timeout=TIMEOUT
        )
    except ApiException:
        _delete_quietly(api, [menu_id])
        raise
    return str(menu_id)


def _point_aliases(api: MessagingApi, menus: dict[str, str]) -> None:
    existing = {
        a.rich_menu_alias_id
        for a in api.get_rich_menu_alias_list(_request_timeout=TIMEOUT).aliases or []
    }
    for kind, alias in ALIASES.items():
        if alias in existing:
            api.update_rich_menu_alias(
                alias,
                UpdateRichMenuAliasRequest(rich_menu_id=menus[kind]),
                _request_timeout=TIMEOUT,
            )
        else:
            api.create_rich_menu_alias(
                CreateRichMenuAliasRequest(rich_menu_alias_id=alias, rich_menu_id=menus[kind]),
                _request_timeout=TIMEOUT,
            )
    for alias in existing:  # ours from an older layout, now pointing at nothing we keep
        if alias.startswith(ALIAS_PREFIX) and alias not in ALIASES.values():
            api.delete_rich_menu_alias(alias, _request_timeout=TIMEOUT)


def _move_users(
    api: MessagingApi,
    old: list[tuple[str, str]],
    menus: dict[str, str],
    wait_seconds: float,
    poll_seconds: float,
    echo: Callable[[str], None],
) -> bool:
    """Move users linked to an old menu onto its replacement; True once LINE has done it."""
    operations = [
        RichMenuBatchLinkOperation(var_from=menu_id, to=menus.get(kind, menus[GUEST]))
        for menu_id, kind in old
    ]
    if not operations:
        return True
    try:
        response = api.rich_menu_batch_with_http_info(
            RichMenuBatchRequest(operations=operations), _request_timeout=TIMEOUT
        )
        request_id = (response.headers or {}).get("x-line-request-id")
        deadline = time.monotonic() + wait_seconds
        while request_id:
            phase = api.get_rich_menu_batch_progress(request_id, _request_timeout=TIMEOUT).phase
            if phase == "succeeded":
                return True
            if phase == "failed" or time.monotonic() > deadline:
                break
            time.sleep(poll_seconds)
    except ApiException as exc:
        raise _fail("moving users to the new menus", exc) from None
    echo(
        "users are still being moved to the new menus: the old menus are kept; "
        "deploy again later to delete them"
    )
    return False


def _delete_quietly(api: MessagingApi, menu_ids: Any) -> None:
    for menu_id in list(menu_ids):
        with contextlib.suppress(ApiException):  # best effort while reporting the failure
            api.delete_rich_menu(menu_id, _request_timeout=TIMEOUT)
