"""The chat path: registering, family and codes inside the LINE chat, without the LIFF pages.

A typed command ("ลงทะเบียน", "เพิ่มสมาชิก", ...) starts a dialogue whose state lives in the
database (`authencode.services.conversations`); while it is open, the user's texts answer its
step, and "ยกเลิก" ends it at any step. A clinic link (``/q/<token>``) sent at any time asks
for a code. Everything else falls through to the assistant (``None``).
"""

from __future__ import annotations

from authencode.errors import DomainError
from authencode.models import LineAccount
from authencode.services import consent, conversations, line_accounts
from authencode.services.conversations import Current
from linebot_app import chat_code, chat_register, commands, messages
from linebot_app.chat_messages import NOTHING_TO_CANCEL_TH, consent_first, refusal
from linebot_app.commands import Command
from linebot_app.context import EventContext
from linebot_app.messages import Json

CID_WITHOUT_DIALOGUE_TH = (
    'หากต้องการลงทะเบียน กรุณาพิมพ์ "ลงทะเบียน" (หรือ "เพิ่มสมาชิก" สำหรับบุคคลในครอบครัว) '
    "ก่อน แล้วจึงพิมพ์เลขประจำตัวประชาชน"
)


def handle_text(ctx: EventContext, account: LineAccount, text: str) -> list[Json] | None:
    """The chat path's answer to a text, or None when the assistant should answer it."""
    current = conversations.lock_current(ctx.session, ctx.protector, account, ctx.now())
    try:
        return _route(ctx, account, text, current)
    except DomainError as error:
        return refusal(error)


def _route(
    ctx: EventContext, account: LineAccount, text: str, current: Current
) -> list[Json] | None:
    command = commands.typed(text)
    if command is commands.CANCEL:  # whatever step is open, before a clinic link
        return run_command(ctx, account, command)
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


def run_command(
    ctx: EventContext, account: LineAccount, command: Command, args: list[str] | None = None
) -> list[Json]:
    """Answer a command (typed, a quick reply or a rich menu postback); consent comes first."""
    if command.consent and not consent.is_current(account.consent_version):
        return consent_first()
    return command.handler(ctx, account, args or [])


def handle_postback(ctx: EventContext, account: LineAccount, parts: list[str]) -> list[Json]:
    """``chat:...`` postbacks from the chat path's quick replies; raises DomainError."""
    line_accounts.lock_account(ctx.session, account)
    if not consent.is_current(account.consent_version):
        return consent_first()
    action, args = (parts[0], parts[1:]) if parts else ("", [])
    command = commands.of_postback("chat", action, args)
    if command is None:
        return [messages.text(NOTHING_TO_CANCEL_TH, messages.menu_quick_reply())]
    return run_command(ctx, account, command, args)


def handle_own_postback(ctx: EventContext, account: LineAccount, parts: list[str]) -> list[Json]:
    """``own:...`` postbacks (the person's own say); raises DomainError. Anything else of
    theirs shows who has linked the person."""
    action, args = (parts[0], parts[1:]) if parts else ("", [])
    command = commands.of_postback("own", action, args) or commands.named("linked_by")
    return command.handler(ctx, account, args)  # the core checks the account, not consent
