"""Verification at a clinic counter, in the chat: "ยืนยันตัวตน" gives a one-time code for an
unverified link (authencode.services.counter_verify), choosing the person when there are
several."""

from __future__ import annotations

from typing import TYPE_CHECKING

from authencode.models import FamilyLink, LineAccount
from authencode.services import counter_verify, registration
from authencode.services.link_trust import is_minor_link
from authencode.thaidate import local, service_day
from linebot_app import messages
from linebot_app.chat_messages import REGISTER_FIRST_TH, REGISTER_LABEL, with_cancel
from linebot_app.messages import Json

if TYPE_CHECKING:
    from linebot_app.context import EventContext

PB_VERIFY = "chat:verify:{link_id}"
ALL_VERIFIED_TH = "ทุกคนในรายชื่อของบัญชีนี้ยืนยันตัวตนเรียบร้อยแล้วค่ะ"
CHOOSE_TH = "ต้องการยืนยันตัวตนของใคร กรุณาเลือกจากปุ่มด้านล่าง"
CODE_TH = (
    "รหัสยืนยันตัวตนของ {name}: {code}\n"
    "แสดงรหัสนี้พร้อมบัตรประชาชน{whose}ที่จุดบริการของหน่วยบริการใดก็ได้ "
    "ใช้ได้ครั้งเดียว ถึงเวลา {until} น.\n"
    "ดูเป็นคิวอาร์โค้ดได้ที่ {url}"
)
GUARDIAN_CARD_TH = "ของผู้ปกครอง (และหลักฐานของเด็ก เช่น สูติบัตร)"


def offer(ctx: EventContext, account: LineAccount) -> list[Json]:
    """The code for the only unverified link, or a choice of person."""
    if registration.self_link(ctx.session, account) is None:
        return [
            messages.text(REGISTER_FIRST_TH, messages.quick_replies(messages.ask(REGISTER_LABEL)))
        ]
    links = counter_verify.open_links(ctx.session, account.id)
    if not links:
        return [messages.text(ALL_VERIFIED_TH, messages.menu_quick_reply())]
    if len(links) == 1:
        return _code(ctx, links[0])
    choices = [
        messages.postback(
            link.person.full_name_th[: messages.MAX_LABEL_CHARS],
            PB_VERIFY.format(link_id=link.id),
            f"ยืนยันตัวตน {link.person.full_name_th}",
        )
        for link in links
    ]
    return [messages.text(CHOOSE_TH, with_cancel(*choices))]


def code_for(ctx: EventContext, account: LineAccount, link_id: str) -> list[Json]:
    """The code for one of the account's links; raises FAMILY_MEMBER_NOT_FOUND,
    LINK_ALREADY_VERIFIED."""
    return _code(ctx, registration.get_link(ctx.session, account, link_id))


def _code(ctx: EventContext, link: FamilyLink) -> list[Json]:
    issued = counter_verify.issue_code(ctx.session, ctx.protector, link, now=ctx.now())
    minor = is_minor_link(link, service_day(ctx.now()))
    body = CODE_TH.format(
        name=link.person.full_name_th,
        code=issued.code,
        whose=GUARDIAN_CARD_TH if minor else "",
        until=f"{local(issued.expires_at):%H:%M}",
        url=messages.liff_url(ctx.settings, "/family"),
    )
    return [messages.text(body)]
