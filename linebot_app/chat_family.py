"""Family in the chat: the list of persons the account acts for, removing one, their history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from linebot.v3.messaging import ConfirmTemplate, MessageAction, PostbackAction, TemplateMessage

from authencode.errors import DomainError
from authencode.models import FamilyLink, LineAccount
from authencode.phone import mask_phone
from authencode.reference import RELATION_LABELS_TH
from authencode.services import link_trust, registration
from authencode.services.people import person_masked_cid
from linebot_app import answers, messages
from linebot_app.chat_messages import REGISTER_FIRST_TH, REGISTER_LABEL, with_cancel
from linebot_app.messages import Json

if TYPE_CHECKING:
    from linebot_app.context import EventContext

PB_REMOVE = "chat:remove:{link_id}"
FAMILY_TITLE_TH = "รายชื่อบุคคลที่บัญชี LINE นี้ขอรหัสแทนได้ (ครอบครัว {count}/{max} คน)"
FAMILY_FOOTER_TH = "จัดการรายชื่อได้ที่ปุ่มด้านล่าง หรือที่ลิงก์นี้\n{url}"
NO_FAMILY_TO_REMOVE_TH = "ยังไม่มีบุคคลในครอบครัวที่จะลบค่ะ (ลบผู้ลงทะเบียนเองไม่ได้)"
CHOOSE_REMOVAL_TH = "ต้องการลบบุคคลใดออกจากรายชื่อ กรุณาเลือกจากปุ่มด้านล่าง"
CONFIRM_REMOVAL_TH = "ยืนยันการลบ {name} ({masked}) ออกจากรายชื่อหรือไม่"
REMOVED_TH = "ลบ {name} ออกจากรายชื่อเรียบร้อยแล้วค่ะ"
NOT_REMOVED_TH = "ไม่ได้ลบบุคคลนี้ออกจากรายชื่อค่ะ"


def _relation(link: FamilyLink) -> str:
    if link.slot == registration.SELF_SLOT:
        return "ผู้ลงทะเบียน"
    return RELATION_LABELS_TH.get(link.relation, link.relation)


def family_list(ctx: EventContext, account: LineAccount) -> list[Json]:
    """Each linked person (CID and phone masked), with add / remove / history buttons."""
    links = registration.links_of(ctx.session, account)
    if not links:
        page = messages.liff_url(ctx.settings, "/family")
        return [
            messages.text(
                f"{REGISTER_FIRST_TH}\nหรือลงทะเบียนที่ลิงก์นี้\n{page}",
                messages.quick_replies(messages.ask(REGISTER_LABEL), messages.ask("วิธีลงทะเบียน")),
            )
        ]
    family = [link for link in links if link.slot != registration.SELF_SLOT]
    lines = [FAMILY_TITLE_TH.format(count=len(family), max=registration.MAX_FAMILY_MEMBERS)]
    for n, link in enumerate(links, start=1):
        masked = person_masked_cid(ctx.protector, link.person)
        name = masked if link.level == "pending" else link.person.full_name_th
        lines.append(
            f"{n}. {name} ({_relation(link)})\n"
            f"   เลขประจำตัวประชาชน {masked} โทร {mask_phone(link.phone)}\n"
            f"   {link_trust.LEVEL_TH[link.level]}"
        )
    if any(link.level == "claimed" for link in links):
        lines.append(link_trust.level_note_th(next(x for x in links if x.level == "claimed")))
    if any(link.level == "pending" for link in links):
        lines.append(f"{link_trust.LEVEL_TH['pending']}: {link_trust.PENDING_TH}")
    lines.append(FAMILY_FOOTER_TH.format(url=messages.liff_url(ctx.settings, "/family")))
    actions: list[MessageAction] = []
    if len(family) < registration.MAX_FAMILY_MEMBERS:
        actions.append(messages.ask("เพิ่มสมาชิก"))
    if family:
        actions.append(messages.ask("ลบสมาชิก"))
    actions += [messages.ask("ประวัติ"), messages.ask("ตรวจสอบสิทธิ")]
    return [messages.text("\n".join(lines), messages.quick_replies(*actions))]


def choose_removal(ctx: EventContext, account: LineAccount) -> list[Json]:
    """Family members as buttons (the holder cannot be removed)."""
    family = [
        link
        for link in registration.links_of(ctx.session, account)
        if link.slot != registration.SELF_SLOT
    ]
    if not family:
        return [
            messages.text(
                NO_FAMILY_TO_REMOVE_TH,
                messages.quick_replies(messages.ask("เพิ่มสมาชิก"), messages.ask("ครอบครัว")),
            )
        ]
    choices = [
        messages.postback(
            link.person.full_name_th[: messages.MAX_LABEL_CHARS],
            PB_REMOVE.format(link_id=link.id),
            f"ลบ {link.person.full_name_th}",
        )
        for link in family
    ]
    return [messages.text(CHOOSE_REMOVAL_TH, with_cancel(*choices))]


def remove(ctx: EventContext, account: LineAccount, link_id: str, answer: str | None) -> list[Json]:
    """Ask to confirm, then unlink; raises FAMILY_MEMBER_NOT_FOUND."""
    link = registration.get_link(ctx.session, account, link_id)
    if link.slot == registration.SELF_SLOT:
        raise DomainError(registration.FAMILY_MEMBER_NOT_FOUND)
    name = link.person.full_name_th
    if answer is None:
        data = PB_REMOVE.format(link_id=link.id)
        confirm = TemplateMessage(
            alt_text=f"ยืนยันการลบ {name} ออกจากรายชื่อ (ยืนยัน / ไม่ลบ)",
            template=ConfirmTemplate(
                text=CONFIRM_REMOVAL_TH.format(
                    name=name, masked=person_masked_cid(ctx.protector, link.person)
                ),
                actions=[
                    PostbackAction(label="ยืนยัน", data=f"{data}:yes", display_text=f"ยืนยันลบ {name}"),
                    PostbackAction(label="ไม่ลบ", data=f"{data}:no", display_text="ไม่ลบ"),
                ],
            ),
        )
        return [confirm.to_dict()]
    if answer != "yes":
        return [
            messages.text(
                NOT_REMOVED_TH,
                messages.quick_replies(messages.ask("ครอบครัว"), messages.ask("ขอรหัส")),
            )
        ]
    registration.remove_family_member(ctx.session, account, link.id)
    return [messages.text(REMOVED_TH.format(name=name)), *family_list(ctx, account)]


def history_of(ctx: EventContext, account: LineAccount, link_id: str) -> list[Json]:
    """One linked person's code history; raises FAMILY_MEMBER_NOT_FOUND."""
    link = registration.get_link(ctx.session, account, link_id)
    return answers.history(ctx.session, ctx.protector, ctx.settings, account, link)
