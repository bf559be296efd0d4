"""Thai-first bot messages, built with the SDK's models and stored as LINE JSON in the outbox.

LINE's limits kept here: 1-5 messages a reply, quick replies of at most 13 items with labels
of at most 20 characters, postback data of at most 300 characters, confirm template text of
at most 240 characters.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from linebot.v3.messaging import (
    ConfirmTemplate,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TemplateMessage,
    URIAction,
)

from authencode.services.consent import CONSENT_TEXT_TH, CONSENT_VERSION
from authencode.services.erasure import KEPT_REASONS
from authencode.settings import Settings

MAX_MESSAGES_PER_REPLY = 5
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL_CHARS = 20
MAX_POSTBACK_DATA = 300
MAX_TEXT_CHARS = 5000
HOTLINE = "1330"

# Postback data: short, versioned where a decision depends on the text the user saw.
PB_CONSENT_SHOW = "consent:show"
PB_CONSENT_ACCEPT = f"consent:accept:{CONSENT_VERSION}"
PB_CONSENT_DECLINE = f"consent:decline:{CONSENT_VERSION}"
PB_WITHDRAW_ASK = "consent:withdraw"
PB_WITHDRAW_CONFIRM = "consent:withdraw:confirm"
PB_WITHDRAW_CANCEL = "consent:withdraw:cancel"

Json = dict[str, Any]


def postback(label: str, data: str, display_text: str | None = None) -> PostbackAction:
    if len(data) > MAX_POSTBACK_DATA or len(label) > MAX_LABEL_CHARS:
        raise ValueError("postback data or label longer than LINE allows")
    return PostbackAction(label=label, data=data, display_text=display_text or label)


def ask(label: str, text: str | None = None) -> MessageAction:
    if len(label) > MAX_LABEL_CHARS:
        raise ValueError("quick reply label longer than LINE allows")
    return MessageAction(label=label, text=text or label)


def quick_replies(*actions: PostbackAction | MessageAction | URIAction) -> QuickReply:
    if not 1 <= len(actions) <= MAX_QUICK_REPLY_ITEMS:
        raise ValueError("a quick reply holds 1 to 13 items")
    return QuickReply(items=[QuickReplyItem(action=action) for action in actions])


def menu_quick_reply() -> QuickReply:
    """The common questions, offered under every assistant answer."""
    return quick_replies(
        ask("Authen Code คืออะไร"),
        ask("วิธีลงทะเบียน"),
        ask("วิธีขอรหัส"),
        ask("สิทธิการรักษา"),
        ask("สายด่วน 1330"),
        postback("ข้อตกลงความยินยอม", PB_CONSENT_SHOW),
    )


@cache
def _menu_quick_reply_json() -> str:
    return json.dumps(menu_quick_reply().to_dict(), ensure_ascii=False)


def menu_quick_reply_json() -> Json:
    """menu_quick_reply() as LINE JSON, built once: the SDK's models cost ~0.3 ms a message."""
    return json.loads(_menu_quick_reply_json())


def text(body: str, quick_reply: QuickReply | Json | None = None) -> Json:
    """A text message as LINE JSON (what TextMessage(...).to_dict() gives, without its cost)."""
    if not body or len(body) > MAX_TEXT_CHARS:
        raise ValueError("a text message holds 1 to 5000 characters")
    message: Json = {"type": "text", "text": body}
    if quick_reply is not None:
        message["quickReply"] = (
            quick_reply if isinstance(quick_reply, dict) else quick_reply.to_dict()
        )
    return message


def liff_url(settings: Settings, path: str = "") -> str:
    """Where a LIFF page opens: inside LINE when a LIFF app is configured, else on the web."""
    if settings.liff_id:
        return f"https://liff.line.me/{settings.liff_id}{path}"
    return f"{settings.public_base_url}/liff{path}"


WELCOME_TH = (
    "สวัสดีค่ะ ยินดีต้อนรับสู่บริการขอรหัสเข้ารับบริการ (Authen Code) ผ่าน LINE\n"
    "ท่านสามารถขอรหัสยืนยันการเข้ารับบริการที่หน่วยบริการได้ด้วยตนเองบนมือถือ\n"
    "ก่อนเริ่มใช้งาน กรุณาอ่านและกดยอมรับข้อตกลงการให้ความยินยอมด้านล่าง"
)
WELCOME_BACK_TH = (
    "ยินดีต้อนรับกลับมาค่ะ ท่านสามารถขอรหัสเข้ารับบริการ (Authen Code) ได้จากเมนูด้านล่าง หรือพิมพ์คำถามได้เลย"
)


def consent_prompt() -> list[Json]:
    """The consent text and an accept/decline choice (2 messages)."""
    confirm = TemplateMessage(
        alt_text="ท่านยอมรับข้อตกลงการให้ความยินยอมหรือไม่ (ยอมรับ / ไม่ยอมรับ)",
        template=ConfirmTemplate(
            text="ท่านยอมรับข้อตกลงการให้ความยินยอมในการเก็บ รวบรวม และใช้ข้อมูลส่วนบุคคลหรือไม่",
            actions=[postback("ยอมรับ", PB_CONSENT_ACCEPT), postback("ไม่ยอมรับ", PB_CONSENT_DECLINE)],
        ),
    )
    return [text(CONSENT_TEXT_TH), confirm.to_dict()]


def welcome(*, unblocked: bool, consented: bool) -> list[Json]:
    if consented:
        return [text(WELCOME_BACK_TH, menu_quick_reply())]
    first = WELCOME_BACK_TH if unblocked else WELCOME_TH
    return [text(first), *consent_prompt()]


def consent_accepted(settings: Settings) -> list[Json]:
    page = liff_url(settings, "/register")
    return [
        text(
            "ขอบคุณค่ะ บันทึกการให้ความยินยอมเรียบร้อยแล้ว\n"
            "ขั้นตอนถัดไป: ลงทะเบียนด้วยเลขประจำตัวประชาชน 13 หลัก และเบอร์โทรศัพท์มือถือ\n"
            'พิมพ์ "ลงทะเบียน" เพื่อลงทะเบียนในแชทนี้ หรือที่ลิงก์นี้\n'
            f"{page}",
            quick_replies(
                ask("ลงทะเบียน"),
                URIAction(label="เปิดหน้าลงทะเบียน", uri=page),
                ask("วิธีลงทะเบียน"),
                ask(f"สายด่วน {HOTLINE}"),
            ),
        )
    ]


def consent_declined() -> list[Json]:
    return [
        text(
            "ท่านไม่ได้ให้ความยินยอม จึงยังไม่สามารถใช้บริการขอรหัสเข้ารับบริการผ่าน LINE ได้\n"
            "ท่านยังขอรหัสได้ที่จุดบริการของหน่วยบริการด้วยบัตรประจำตัวประชาชน\n"
            'หากต้องการอ่านข้อตกลงอีกครั้ง กดปุ่ม "อ่านข้อตกลงอีกครั้ง" หรือพิมพ์ "ความยินยอม" '
            f"ได้ตลอดเวลา สอบถามเพิ่มเติม สายด่วน สปสช. {HOTLINE} (24 ชั่วโมง)",
            quick_replies(postback("อ่านข้อตกลงอีกครั้ง", PB_CONSENT_SHOW), ask(f"สายด่วน {HOTLINE}")),
        )
    ]


# Why withdrawing consent keeps what it keeps (the labels are the erasure's, one wording).
WITHDRAW_KEPT_TH = {
    "codes": "หน่วยบริการใช้รหัสเบิกค่าบริการ และ สปสช. ตรวจสอบการเบิกจ่าย จึงต้องเก็บไว้",
    "consent_records": "เพื่อแสดงได้ว่าท่านให้และถอนความยินยอมเมื่อใด ตามกฎหมายคุ้มครองข้อมูลส่วนบุคคล",
    "audit_log": "บันทึกว่าใครทำอะไรกับข้อมูลเมื่อใด เพื่อความรับผิดชอบต่อการใช้ข้อมูล",
}
WITHDRAW_REMOVED_TH = (
    "รายชื่อบุคคลที่ผูกกับบัญชี LINE นี้ (ตนเองและครอบครัว) พร้อมเบอร์โทรศัพท์ที่กรอกไว้",
    "ขั้นตอนที่ค้างอยู่ในแชทนี้",
)


def withdraw_explained(settings: Settings) -> list[Json]:
    """What withdrawing consent deletes and what it keeps (and why), then the confirmation:
    asked for in words ("ไม่ใช้บริการแล้ว ลบข้อมูลของฉัน"), never done without a tap."""
    removed = "\n".join(f"• {item}" for item in WITHDRAW_REMOVED_TH)
    kept = "\n".join(f"• {KEPT_REASONS[key][0]}: {why}" for key, why in WITHDRAW_KEPT_TH.items())
    body = (
        "การถอนความยินยอม คือการเลิกใช้บริการขอรหัสเข้ารับบริการผ่าน LINE นี้\n\n"
        f"สิ่งที่จะถูกลบ\n{removed}\n\n"
        f"สิ่งที่ยังเก็บไว้\n{kept}\n\n"
        'ต้องการลบข้อมูลอื่นที่ลบได้ทั้งหมด (เช่น สำเนาข้อความในแชท) ใช้หน้า "ข้อมูลของฉัน"\n'
        f"{liff_url(settings, '/my-data')}"
    )
    return [text(body), *withdraw_confirm()]


def withdraw_confirm() -> list[Json]:
    confirm = TemplateMessage(
        alt_text="ยืนยันการถอนความยินยอม (ยืนยัน / ยกเลิก)",
        template=ConfirmTemplate(
            text="ยืนยันการถอนความยินยอมหรือไม่ รายชื่อบุคคลทั้งหมดที่ผูกกับบัญชี LINE นี้"
            "จะถูกยกเลิก และจะใช้บริการขอรหัสผ่าน LINE ไม่ได้จนกว่าจะให้ความยินยอมใหม่",
            actions=[
                postback("ยืนยัน", PB_WITHDRAW_CONFIRM, "ยืนยันการถอนความยินยอม"),
                postback("ยกเลิก", PB_WITHDRAW_CANCEL),
            ],
        ),
    )
    return [confirm.to_dict()]


def withdrawn() -> list[Json]:
    return [
        text(
            "ถอนความยินยอมเรียบร้อยแล้ว ยกเลิกการผูกรายชื่อบุคคลทั้งหมดกับบัญชีนี้แล้ว\n"
            'หากต้องการใช้บริการอีกครั้ง กด "อ่านข้อตกลงอีกครั้ง" เพื่อให้ความยินยอมใหม่',
            quick_replies(postback("อ่านข้อตกลงอีกครั้ง", PB_CONSENT_SHOW)),
        )
    ]


def withdraw_cancelled() -> list[Json]:
    return [text("ยกเลิกการถอนความยินยอมแล้ว ท่านยังใช้บริการได้ตามปกติค่ะ", menu_quick_reply())]


def domain_error(message_th: str) -> list[Json]:
    """A refusal from the domain, told in Thai, with the menu so the user is never stuck."""
    return [text(message_th, menu_quick_reply())]


def link_to(settings: Settings, intro_th: str, path: str) -> list[Json]:
    return [text(f"{intro_th}\n{liff_url(settings, path)}", menu_quick_reply())]
