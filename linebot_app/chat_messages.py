"""Thai replies the chat path's dialogues share: cancel buttons, consent first, refusals."""

from __future__ import annotations

from linebot.v3.messaging import MessageAction, PostbackAction, QuickReply, URIAction

from authencode.errors import CATALOGUE, DomainError
from authencode.reference import NO_RIGHT_TH, RIGHTS
from linebot_app import messages
from linebot_app.messages import Json

CANCEL_LABEL = "ยกเลิก"
REGISTER_LABEL = "ลงทะเบียน"

NOTHING_TO_CANCEL_TH = "ไม่มีขั้นตอนที่ค้างอยู่ค่ะ เลือกบริการจากเมนูด้านล่างได้เลย"
CANCELLED_TH = "ยกเลิกแล้วค่ะ ข้อมูลที่พิมพ์ไว้ในขั้นตอนนี้ถูกลบเรียบร้อยแล้ว"
CONSENT_FIRST_TH = "กรุณาอ่านและกดยอมรับข้อตกลงการให้ความยินยอมก่อนใช้บริการค่ะ"
FAMILY_FULL_NEXT_TH = 'หากต้องการเพิ่มบุคคลใหม่ กรุณาลบสมาชิกเดิมออกจากรายชื่อก่อน กด "ลบสมาชิก" ด้านล่าง'
REGISTER_FIRST_TH = (
    'กรุณาลงทะเบียนด้วยเลขประจำตัวประชาชนและเบอร์โทรศัพท์ของท่านก่อน พิมพ์ "ลงทะเบียน" หรือกดปุ่มด้านล่าง'
)


def with_cancel(*actions: PostbackAction | MessageAction | URIAction) -> QuickReply:
    """Quick replies that always end with "ยกเลิก", so any step can be left."""
    return messages.quick_replies(*actions, messages.ask(CANCEL_LABEL))


def prompt(body: str, *actions: PostbackAction | MessageAction | URIAction) -> list[Json]:
    """A question of a dialogue step: the text, its choices, and "ยกเลิก"."""
    return [messages.text(body, with_cancel(*actions))]


def cancel_reply(body: str) -> list[Json]:
    return [messages.text(body, messages.menu_quick_reply())]


def consent_first() -> list[Json]:
    return [messages.text(CONSENT_FIRST_TH), *messages.consent_prompt()]


def refusal(error: DomainError) -> list[Json]:
    """A domain refusal as a chat answer, with the way forward where there is one."""
    if error.code == "CONSENT_REQUIRED":
        return consent_first()
    if error.code == "SELF_REGISTRATION_REQUIRED":
        return [
            messages.text(
                REGISTER_FIRST_TH,
                messages.quick_replies(messages.ask(REGISTER_LABEL), messages.ask("วิธีลงทะเบียน")),
            )
        ]
    if error.code == "FAMILY_FULL":  # a sixth member: the way forward is removing one
        return [
            messages.text(
                f"{error.message_th}\n{FAMILY_FULL_NEXT_TH}",
                messages.quick_replies(messages.ask("ลบสมาชิก"), messages.ask("ครอบครัว")),
            )
        ]
    return messages.domain_error(message_th(error))


def message_th(error: DomainError) -> str:
    """The refusal in Thai, a right's code ("OFC") named as people know it."""
    right = error.params.get("right", "")
    if "right" not in error.params or (right is not None and ("main", right) not in RIGHTS):
        return error.message_th
    name = RIGHTS[("main", right)].label_th if right else NO_RIGHT_TH
    return CATALOGUE[error.code][2].format(**{**error.params, "right": name})
