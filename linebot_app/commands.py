"""The bot's commands, in one table: how each is asked for and which function answers it.

A command is asked for in up to three ways, each kept exactly as LINE users have it (old quick
replies stay in their chats, deployed rich menus carry their postback data):

- typed: a whole message, case and spacing folded (``aliases``);
- a postback ``chat:<action>:<arg>...`` from the chat's quick replies, or ``own:<action>:...``
  from the person's own notices (``postback`` and how many args it takes);
- a rich-menu postback ``menu:<item>`` (``menu_item``); ``button`` places it on the guest or
  member rich menu (`linebot_app.richmenu` draws the menus from this table).

The chat (`linebot_app.chat`), the event dispatch (`linebot_app.events`) and the rich-menu
builder read this table; a new command is a row here and its handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from authencode.models import LineAccount
from linebot_app import (
    answers,
    assistant,
    chat_code,
    chat_family,
    chat_owner,
    chat_register,
    chat_verify,
    messages,
)
from linebot_app.context import EventContext
from linebot_app.messages import HOTLINE, PB_CONSENT_SHOW, Json
from linebot_app.richmenu_image import Tile

Handler = Callable[[EventContext, LineAccount, list[str]], list[Json]]

GUEST = "guest"
MEMBER = "member"
GREEN, TEAL, BLUE, INDIGO, AMBER, RED = (
    "#06a35a",
    "#0f8b8d",
    "#2563eb",
    "#4f46e5",
    "#d97706",
    "#dc2626",
)


@dataclass(frozen=True)
class Button:
    """A command's tile on the rich menus; tapping it posts ``menu:<item>`` back unless
    ``data`` (other postback data), ``uri`` or ``liff_path`` (a LIFF page) says otherwise."""

    places: tuple[tuple[str, int], ...]  # (GUEST or MEMBER, position on that menu)
    tile: Tile
    label: str
    display_text: str | None = None
    data: str | None = None
    uri: str | None = None
    liff_path: str | None = None


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    postback: str | None = None  # ``chat:<action>`` or ``own:<action>``, then ``:<args>``
    arity: tuple[int, ...] = ()  # how many args that postback may carry
    menu_item: str | None = None  # ``menu:<item>``
    button: Button | None = None
    consent: bool = True  # asked before consent: the consent prompt answers instead


def _assistant(topic: str) -> Handler:
    return lambda _ctx, _account, _args: assistant.answer(topic)


def _history(ctx: EventContext, account: LineAccount, _args: list[str]) -> list[Json]:
    return answers.history(ctx.session, ctx.protector, ctx.settings, account)


def _rights(ctx: EventContext, account: LineAccount, _args: list[str]) -> list[Json]:
    return answers.rights(
        ctx.session, ctx.protector, ctx.rights, ctx.settings, account, ctx.bot.policy
    )


_HOWTO = Button(
    ((GUEST, 1), (MEMBER, 4)), Tile("วิธีใช้งาน", "ลงทะเบียน / ขอรหัส", AMBER, "howto"), "วิธีใช้งาน"
)

COMMANDS: tuple[Command, ...] = (
    # Typed, and the member menu's services.
    Command(
        "register",
        lambda ctx, account, _: chat_register.start_register(ctx, account),
        aliases=("ลงทะเบียน", "ลงทะเบียนในแชท", "register"),
    ),
    Command(
        "family_add",
        lambda ctx, account, _: chat_register.start_family_add(ctx, account),
        aliases=("เพิ่มสมาชิก", "เพิ่มบุคคลอื่น", "เพิ่มสมาชิกในครอบครัว"),
    ),
    Command(
        "family",
        lambda ctx, account, _: chat_family.family_list(ctx, account),
        aliases=("ครอบครัว", "สมาชิกในครอบครัว", "รายชื่อสมาชิก"),
        menu_item="family",
        button=Button(
            ((MEMBER, 3),),
            Tile("ครอบครัว", "เพิ่มสมาชิกได้ 5 คน", INDIGO, "family"),
            "ครอบครัว",
            liff_path="/family",
        ),
    ),
    Command(
        "family_remove",
        lambda ctx, account, _: chat_family.choose_removal(ctx, account),
        aliases=("ลบสมาชิก",),
    ),
    Command(
        "request",
        lambda ctx, _account, _: chat_code.request_help(ctx.settings),
        aliases=("ขอรหัส", "ขอรหัสเข้ารับบริการ"),
        menu_item="request",
        # Answered in the chat: LINE's own QR reader, or the LIFF request page.
        button=Button(
            ((MEMBER, 0),),
            Tile("ขอรหัสเข้ารับบริการ", "สแกน QR Code ที่หน่วยบริการ", GREEN, "qr"),
            "ขอรหัสเข้ารับบริการ",
        ),
    ),
    Command(
        "history",
        _history,
        aliases=("ประวัติ", "ประวัติการขอรหัส"),
        menu_item="history",
        button=Button(
            ((MEMBER, 2),),
            Tile("ประวัติการขอรหัส", "Authen Code ที่เคยขอ", BLUE, "clock"),
            "ประวัติการขอรหัส",
        ),
    ),
    Command(
        "rights",
        _rights,
        aliases=("ตรวจสอบสิทธิ",),
        menu_item="rights",
        button=Button(
            ((MEMBER, 1),), Tile("ตรวจสอบสิทธิ", "สิทธิการรักษาพยาบาล", TEAL, "card"), "ตรวจสอบสิทธิ"
        ),
    ),
    Command(
        "verify",
        lambda ctx, account, _: chat_verify.offer(ctx, account),
        aliases=("ยืนยันตัวตน", "ยืนยันตัวตนที่หน่วยบริการ"),
    ),
    Command(
        "linked_by",
        lambda ctx, account, _: chat_owner.linked_by(ctx, account),
        aliases=("ใครเชื่อมโยงฉัน", "ผู้ที่เพิ่มฉัน", "ใครเพิ่มฉัน"),
    ),
    # Whatever step is open (the chat ends it), before consent too.
    Command(
        "cancel",
        lambda ctx, account, _: chat_register.cancel(ctx, account),
        aliases=("ยกเลิก", "cancel"),
        consent=False,
    ),
    # The chat's quick replies.
    Command(
        "code",
        lambda ctx, account, args: chat_code.issue(ctx, account, args[0], args[1]),
        postback="chat:code",
        arity=(2,),
    ),
    Command(
        "remove",
        lambda ctx, account, args: chat_family.remove(
            ctx, account, args[0], args[1] if len(args) == 2 else None
        ),
        postback="chat:remove",
        arity=(1, 2),
    ),
    Command(
        "history_of",
        lambda ctx, account, args: chat_family.history_of(ctx, account, args[0]),
        postback="chat:history",
        arity=(1,),
    ),
    Command(
        "verify_code",
        lambda ctx, account, args: chat_verify.code_for(ctx, account, args[0]),
        postback="chat:verify",
        arity=(1,),
    ),
    # The person's own say (notices pushed to the holder's own account): no consent asked, the
    # core checks each against the account that taps it.
    Command(
        "approve",
        lambda ctx, account, args: chat_owner.approve(ctx, account, args[0]),
        postback="own:approve",
        arity=(1,),
        consent=False,
    ),
    Command(
        "decline",
        lambda ctx, account, args: chat_owner.decline(ctx, account, args[0]),
        postback="own:decline",
        arity=(1,),
        consent=False,
    ),
    Command(
        "not_me",
        lambda ctx, account, args: chat_owner.not_me(ctx, account, *args),
        postback="own:notme",
        arity=(2,),
        consent=False,
    ),
    Command(
        "unlink",
        lambda ctx, account, args: chat_owner.unlink(
            ctx, account, args[0], args[1] if len(args) == 2 else None
        ),
        postback="own:unlink",
        arity=(1, 2),
        consent=False,
    ),
    # The rich menus' answers that need no consent (some only on menus deployed earlier).
    Command(
        "consent",
        lambda _ctx, _account, _: messages.consent_prompt(),
        menu_item="consent",
        consent=False,
        button=Button(
            ((GUEST, 0),),
            Tile("ให้ความยินยอม", "อ่านข้อตกลงก่อนใช้งาน", GREEN, "consent"),
            "ให้ความยินยอม",
            "ข้อตกลงความยินยอม",
            data=PB_CONSENT_SHOW,
        ),
    ),
    Command("howto", _assistant("request"), menu_item="howto", button=_HOWTO, consent=False),
    Command(
        "hotline",
        _assistant("hotline"),
        menu_item="hotline",
        consent=False,
        button=Button(
            ((GUEST, 2), (MEMBER, 5)),
            Tile(f"สายด่วน {HOTLINE}", "สปสช. 24 ชั่วโมง", RED, "phone"),
            f"โทร {HOTLINE}",
            uri=f"tel:{HOTLINE}",
        ),
    ),
    Command("what_is", _assistant("what_is"), menu_item="what_is", consent=False),
    Command("register_info", _assistant("register"), menu_item="register", consent=False),
    Command("rights_info", _assistant("rights"), menu_item="rights_info", consent=False),
)

_BY_NAME = {command.name: command for command in COMMANDS}
_BY_ALIAS = {alias: command for command in COMMANDS for alias in command.aliases}
_BY_MENU_ITEM = {command.menu_item: command for command in COMMANDS if command.menu_item}
_BY_POSTBACK = {
    (command.postback, n): command
    for command in COMMANDS
    if command.postback
    for n in command.arity
}
CANCEL = _BY_NAME["cancel"]


def named(name: str) -> Command:
    return _BY_NAME[name]


def typed(text: str) -> Command | None:
    """The command a whole message asks for (case and spacing folded), if any."""
    return _BY_ALIAS.get(" ".join(text.casefold().split()))


def of_postback(kind: str, action: str, args: list[str]) -> Command | None:
    """The command of a ``<kind>:<action>:<args>`` postback (kind ``chat`` or ``own``)."""
    return _BY_POSTBACK.get((f"{kind}:{action}", len(args)))


def of_menu_item(item: str) -> Command | None:
    """The command of a ``menu:<item>`` postback, if any."""
    return _BY_MENU_ITEM.get(item)


def on_menu(menu: str) -> list[Command]:
    """The commands with a button on one rich menu (GUEST or MEMBER), in their places."""
    placed = [
        (place, command)
        for command in COMMANDS
        if command.button
        for kind, place in command.button.places
        if kind == menu
    ]
    return [command for _place, command in sorted(placed, key=lambda pair: pair[0])]
