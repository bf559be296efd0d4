"""The assistant's answers about *this* person: what a free-form message asks for
(`linebot_app.assistant.intent_of`), answered with their own rights, today's codes, the
unit-change page or the withdrawal flow when they are registered; people not registered get
the general explanation and how to register.
"""

from __future__ import annotations

from collections.abc import Callable

from authencode.models import LineAccount
from authencode.services import consent, registration
from linebot_app import answers, assistant, chat, commands, messages
from linebot_app.assistant import ANSWERS_TH
from linebot_app.chat_messages import REGISTER_LABEL
from linebot_app.context import EventContext
from linebot_app.messages import Json

REGISTER_TO_SEE_TH = {
    "my_rights": "ลงทะเบียนแล้วจะดูสิทธิของท่านเองได้ในแชทนี้",
    "codes_today": "ลงทะเบียนแล้วจะขอรหัสและดูรหัสของวันนี้ได้ในแชทนี้",
    "history": "ลงทะเบียนแล้วจะดูประวัติการขอรหัสได้ในแชทนี้",
    "unit_change": "ลงทะเบียนแล้วจะขอเปลี่ยนหน่วยบริการปฐมภูมิได้ด้วยตนเอง",
}
GENERAL_OF = {
    "my_rights": "rights",
    "codes_today": "what_is",
    "history": "what_is",
    "unit_change": "rights",
}
HOW_TO_REGISTER_TH = (
    'วิธีลงทะเบียน: กดยอมรับข้อตกลงการให้ความยินยอม แล้วพิมพ์ "ลงทะเบียน" '
    "เพื่อกรอกเลขประจำตัวประชาชน 13 หลัก วันเดือนปีเกิด และเบอร์โทรศัพท์มือถือ"
)
UNIT_CHANGE_TH = (
    "ขอเปลี่ยนหน่วยบริการปฐมภูมิ (หน่วยบริการใกล้บ้านที่ท่านไปรับบริการเป็นประจำ) ได้ด้วยตนเอง "
    'ที่หน้า "ตรวจสอบสิทธิ" หัวข้อเปลี่ยนหน่วยบริการ เจ้าหน้าที่ทะเบียนจะพิจารณาคำขอ'
    "แล้วแจ้งผลในแชทนี้\n"
    f"การเปลี่ยนประเภทสิทธิ (เช่น สิทธิประกันสังคม) สอบถามสายด่วน สปสช. {messages.HOTLINE}"
)
MY_DATA_TH = 'ดูข้อมูลทั้งหมดที่ระบบเก็บไว้เกี่ยวกับท่าน ดาวน์โหลด หรือขอลบ ได้ที่หน้า "ข้อมูลของฉัน"'
CONSENT_GIVEN_TH = 'ท่านให้ความยินยอมแล้ว (ฉบับ {version}) หากต้องการถอนความยินยอม พิมพ์ "ถอนความยินยอม"'
NOTHING_TO_WITHDRAW_TH = (
    'ท่านยังไม่ได้ให้ความยินยอม จึงไม่มีความยินยอมที่ต้องถอน\nดูหรือขอลบข้อมูลที่ระบบเก็บไว้เกี่ยวกับท่านได้ที่หน้า "ข้อมูลของฉัน"'
)


def registered(ctx: EventContext, account: LineAccount) -> bool:
    """A member with someone linked: the answers about *me* have something to show."""
    return consent.is_current(account.consent_version) and bool(
        registration.links_of(ctx.session, account)
    )


def _for_guest(intent: str) -> list[Json]:
    """The general answer, what registering gives, and how to register."""
    body = f"{ANSWERS_TH[GENERAL_OF[intent]]}\n\n{REGISTER_TO_SEE_TH[intent]}\n{HOW_TO_REGISTER_TH}"
    return [
        messages.text(
            body, messages.quick_replies(messages.ask(REGISTER_LABEL), messages.ask("วิธีลงทะเบียน"))
        )
    ]


def _rights(ctx: EventContext, account: LineAccount) -> list[Json]:
    return chat.run_command(ctx, account, commands.named("rights"))


def _today(ctx: EventContext, account: LineAccount) -> list[Json]:
    return answers.today(ctx.session, ctx.protector, ctx.settings, account, ctx.now())


def _history(ctx: EventContext, account: LineAccount) -> list[Json]:
    return chat.run_command(ctx, account, commands.named("history"))


def _unit_change(ctx: EventContext, _account: LineAccount) -> list[Json]:
    return messages.link_to(ctx.settings, UNIT_CHANGE_TH, "/rights")


# The answers that need a registered person (anyone else: _for_guest).
_ABOUT_ME: dict[str, Callable[[EventContext, LineAccount], list[Json]]] = {
    "my_rights": _rights,
    "codes_today": _today,
    "history": _history,
    "unit_change": _unit_change,
}


def reply(ctx: EventContext, account: LineAccount, text: str) -> list[Json]:
    """The assistant's answer to a message no command or dialogue took."""
    intent = assistant.intent_of(text)
    if intent in _ABOUT_ME:
        if registered(ctx, account):
            return _ABOUT_ME[intent](ctx, account)
        return _for_guest(intent)
    if intent in ("family_add", "family_remove"):  # as if the command were typed
        return chat.run_command(ctx, account, commands.named(intent))
    if intent == "withdraw":
        if account.has_consented:
            return messages.withdraw_explained(ctx.settings)
        return messages.link_to(ctx.settings, NOTHING_TO_WITHDRAW_TH, "/my-data")
    if intent == "my_data":
        return messages.link_to(ctx.settings, MY_DATA_TH, "/my-data")
    if intent == "consent":
        if not consent.is_current(account.consent_version):
            return messages.consent_prompt()
        return messages.domain_error(CONSENT_GIVEN_TH.format(version=account.consent_version))
    return assistant.answer(intent)
