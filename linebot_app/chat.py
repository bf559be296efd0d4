"""The chat path: registering, family and codes inside the LINE chat, without the LIFF pages.

A typed command ("ลงทะเบียน", "เพิ่มสมาชิก", ...) starts a dialogue whose state lives in the
database (`authencode.services.conversations`); while it is open, the user's texts answer its
step, and "ยกเลิก" ends it at any step. A clinic link (``/q/<token>``) sent at any time asks
for a code. Everything else falls through to the assistant (``None``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authencode.errors import DomainError
from authencode.models import LineAccount
from authencode.services import consent, conversations, line_accounts
from authencode.services.conversations import Current
from linebot_app import (
    answers,
    chat_code,
    chat_family,
    chat_owner,
    chat_register,
    chat_verify,
    messages,
)
from linebot_app.chat_messages import cancel_reply, consent_first, refusal
from linebot_app.messages import Json

if TYPE_CHECKING:
    from linebot_app.events import EventContext

# Whole messages (case and spacing folded) that are commands, whatever step is open.
COMMANDS = {
    "ลงทะเบียน": "register",
    "ลงทะเบียนในแชท": "register",
    "register": "register",
    "เพิ่มสมาชิก": "family_add",
    "เพิ่มบุคคลอื่น": "family_add",
    "เพิ่มสมาชิกในครอบครัว": "family_add",
    "ครอบครัว": "family",
    "สมาชิกในครอบครัว": "family",
    "รายชื่อสมาชิก": "family",
    "ลบสมาชิก": "family_remove",
    "ขอรหัส": "request",
    "ขอรหัสเข้ารับบริการ": "request",
    "ประวัติ": "history",
    "ประวัติการขอรหัส": "history",
    "ตรวจสอบสิทธิ": "rights",
    "ยืนยันตัวตน": "verify",
    "ยืนยันตัวตนที่หน่วยบริการ": "verify",
    "ใครเชื่อมโยงฉัน": "linked_by",
    "ผู้ที่เพิ่มฉัน": "linked_by",
    "ใครเพิ่มฉัน": "linked_by",
    "ยกเลิก": "cancel",
    "cancel": "cancel",
}

NOTHING_TO_CANCEL_TH = "ไม่มีขั้นตอนที่ค้างอยู่ค่ะ เลือกบริการจากเมนูด้านล่างได้เลย"
CANCELLED_TH = "ยกเลิกแล้วค่ะ ข้อมูลที่พิมพ์ไว้ในขั้นตอนนี้ถูกลบเรียบร้อยแล้ว"
CID_WITHOUT_DIALOGUE_TH = (
    "หากต้องการลงทะเบียน กรุณาพิมพ์ \"ลงทะเบียน\" (หรือ \"เพิ่มสมาชิก\" สำหรับบุคคลในครอบครัว) "
    "ก่อน แล้วจึงพิมพ์เลขประจำตัวประชาชน")


def command_of(text: str) -> str | None:
    return COMMANDS.get(" ".join(text.casefold().split()))


def handle_text(ctx: EventContext, account: LineAccount, text: str) -> list[Json] | None:
    """The chat path's answer to a text, or None when the assistant should answer it."""
    current = conversations.lock_current(ctx.session, ctx.protector, account, ctx.now())
    try:
        return _route(ctx, account, text, current)
    except DomainError as error:
        return refusal(error)


def _route(ctx: EventContext, account: LineAccount, text: str,
           current: Current) -> list[Json] | None:
    command = command_of(text)
    if command == "cancel":
        if current.conversation is None:
            return [messages.text(NOTHING_TO_CANCEL_TH, messages.menu_quick_reply())]
        conversations.finish(ctx.session, current.conversation)
        return cancel_reply(CANCELLED_TH)
    link = chat_code.find_clinic_link(text)
    if link is not None:
        return chat_code.on_link(ctx, account, link)
    if command is not None:
        return run_command(ctx, account, command)
    if current.conversation is not None:
        return chat_register.answer(ctx, account, current.conversation, text)
    if current.expired_flow is not None:
        return chat_register.expired(ctx, current.expired_flow)
    digits = "".join(text.split()).replace("-", "")
    if len(digits) == 13 and digits.isascii() and digits.isdigit():
        return [messages.text(CID_WITHOUT_DIALOGUE_TH, chat_register.start_quick_reply())]
    return None


def run_command(ctx: EventContext, account: LineAccount, command: str) -> list[Json]:
    """Start what a command (typed, or a rich menu postback) asks for; consent comes first."""
    if not consent.is_current(account.consent_version):
        return consent_first()
    if command == "register":
        return chat_register.start_register(ctx, account)
    if command == "family_add":
        return chat_register.start_family_add(ctx, account)
    if command == "family":
        return chat_family.family_list(ctx, account)
    if command == "family_remove":
        return chat_family.choose_removal(ctx, account)
    if command == "request":
        return chat_code.request_help(ctx.settings)
    if command == "history":
        return answers.history(ctx.session, ctx.protector, ctx.settings, account)
    if command == "rights":
        return answers.rights(ctx.session, ctx.protector, ctx.rights, ctx.settings, account,
                              ctx.bot.policy)
    if command == "verify":
        return chat_verify.offer(ctx, account)
    if command == "linked_by":
        return chat_owner.linked_by(ctx, account)
    raise ValueError(f"unknown chat command {command!r}")


def handle_postback(ctx: EventContext, account: LineAccount, parts: list[str]) -> list[Json]:
    """``chat:...`` postbacks from the chat path's quick replies; raises DomainError."""
    line_accounts.lock_account(ctx.session, account)
    if not consent.is_current(account.consent_version):
        return consent_first()
    action, args = (parts[0], parts[1:]) if parts else ("", [])
    if action == "code" and len(args) == 2:
        return chat_code.issue(ctx, account, args[0], args[1])
    if action == "remove" and len(args) in (1, 2):
        return chat_family.remove(ctx, account, args[0], args[1] if len(args) == 2 else None)
    if action == "history" and len(args) == 1:
        return chat_family.history_of(ctx, account, args[0])
    if action == "verify" and len(args) == 1:
        return chat_verify.code_for(ctx, account, args[0])
    return [messages.text(NOTHING_TO_CANCEL_TH, messages.menu_quick_reply())]
