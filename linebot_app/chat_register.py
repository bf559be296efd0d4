"""Dialogues that register a person in the chat: the account holder, or a family member.

Each answer is checked with the same rules and Thai messages as the LIFF pages (the checks
are the core's `registration` services); a wrong answer asks again at the same step, a
refusal that another answer cannot fix ends the dialogue. Typed CIDs are only ever shown
masked, and are kept (encrypted) only until the dialogue ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from linebot.v3.messaging import MessageAction, QuickReply

from authencode.birthdate import parse_birth_date
from authencode.cid import mask_cid, parse_cid
from authencode.errors import DomainError
from authencode.models import LineAccount
from authencode.phone import parse_mobile
from authencode.reference import RELATION_LABELS_TH
from authencode.services import conversations, link_trust, registration
from authencode.services.conversations import Conversation
from authencode.services.people import person_masked_cid
from authencode.thaidate import service_day
from linebot_app import messages, notify
from linebot_app.chat_messages import (
    CANCELLED_TH,
    NOTHING_TO_CANCEL_TH,
    REGISTER_LABEL,
    cancel_reply,
    message_th,
    prompt,
    refusal,
)
from linebot_app.messages import Json

if TYPE_CHECKING:
    from linebot_app.context import EventContext

REGISTER = "register"
FAMILY_ADD = "family_add"
CID, BIRTH, PHONE, RELATION = "cid", "birth", "phone", "relation"

# The LIFF pages' Thai names of the relations (liff.js), in the core's order.
RELATION_CHOICES: tuple[MessageAction, ...] = tuple(
    messages.ask(label) for label in RELATION_LABELS_TH.values()
)


_RELATION_OF = {label: code for code, label in RELATION_LABELS_TH.items()} | {
    code: code for code in registration.RELATIONS
}

# Refusals about the typed person (asked with the birth date, never before it): the user may
# type another CID.
_PERSON_RETRY = {
    "PERSON_NOT_FOUND",
    "PERSON_DECEASED",
    "AGE_TOO_YOUNG",
    "RIGHT_NOT_ELIGIBLE",
    "FAMILY_ALREADY_LINKED",
}
_BIRTH_RETRY = {"BIRTH_DATE_REQUIRED", "BIRTH_DATE_INVALID"}
_PHONE_RETRY = {"PHONE_REQUIRED", "PHONE_INVALID"}

SELF_TERMS_TH = "ผู้ลงทะเบียนด้วยตนเองต้องมีสิทธิหลักประกันสุขภาพแห่งชาติ หรือสิทธิว่าง และอายุ 15 ปีบริบูรณ์ขึ้นไป"
ASK_SELF_CID_TH = "ลงทะเบียนในแชท (ขั้นตอนที่ 1/3)\nกรุณาพิมพ์เลขประจำตัวประชาชน 13 หลักของท่าน"
ASK_FAMILY_CID_TH = (
    "เพิ่มสมาชิกในครอบครัว (ขั้นตอนที่ 1/4)\nกรุณาพิมพ์เลขประจำตัวประชาชน 13 หลักของบุคคลที่ต้องการเพิ่ม"
)
ASK_CID_AGAIN_TH = 'กรุณาพิมพ์เลขประจำตัวประชาชน 13 หลักอีกครั้ง หรือกด "ยกเลิก"'
ASK_SELF_BIRTH_TH = (
    "เลขประจำตัวประชาชน {masked}\n"
    "(ขั้นตอนที่ 2/3) กรุณาพิมพ์วันเดือนปีเกิดของท่าน (วัน/เดือน/ปี พ.ศ.) เช่น 17/05/2533"
)
ASK_FAMILY_BIRTH_TH = (
    "เลขประจำตัวประชาชน {masked}\n"
    "(ขั้นตอนที่ 2/4) กรุณาพิมพ์วันเดือนปีเกิดของบุคคลนี้ (วัน/เดือน/ปี พ.ศ.) เช่น 17/05/2533"
)
ASK_BIRTH_AGAIN_TH = 'กรุณาพิมพ์วันเดือนปีเกิดอีกครั้ง (วัน/เดือน/ปี พ.ศ.) เช่น 17/05/2533 หรือกด "ยกเลิก"'
ASK_SELF_PHONE_TH = (
    "เลขประจำตัวประชาชน {masked}\n(ขั้นตอนที่ 3/3) กรุณาพิมพ์เบอร์โทรศัพท์มือถือ 10 หลักของท่าน เช่น 0812345678"
)
ASK_FAMILY_PHONE_TH = (
    "เลขประจำตัวประชาชน {masked}\n(ขั้นตอนที่ 3/4) กรุณาพิมพ์เบอร์โทรศัพท์มือถือ 10 หลักของบุคคลนี้ หรือของผู้ปกครอง"
)
ASK_PHONE_AGAIN_TH = 'กรุณาพิมพ์เบอร์โทรศัพท์มือถือ 10 หลักอีกครั้ง หรือกด "ยกเลิก"'
ASK_RELATION_TH = "(ขั้นตอนที่ 4/4) บุคคลนี้เกี่ยวข้องกับท่านอย่างไร กรุณาเลือกจากปุ่มด้านล่าง"
TIMEOUT_NOTE_TH = 'พิมพ์ "ยกเลิก" ได้ทุกขั้นตอน หากไม่มีการตอบกลับเกิน {minutes} นาที ข้อมูลที่พิมพ์ไว้จะถูกลบ'
ALREADY_REGISTERED_TH = (
    "บัญชี LINE นี้ลงทะเบียนแล้วค่ะ\n{name}\nเลขประจำตัวประชาชน {masked}\n"
    'เพิ่มบุคคลในครอบครัวได้ด้วยคำสั่ง "เพิ่มสมาชิก"'
)
FAMILY_ADDED_TH = (
    "เพิ่มบุคคลในครอบครัวเรียบร้อยแล้วค่ะ\n{name} ({relation})\nเลขประจำตัวประชาชน {masked}\n"
    "สมาชิกในครอบครัว {count}/{max} คน"
)
FAMILY_PENDING_TH = (
    "บันทึกคำขอเพิ่มบุคคลแล้วค่ะ\nเลขประจำตัวประชาชน {masked}\n"
    "บุคคลนี้ยืนยันตัวตนกับบัญชี LINE ของตนเองแล้ว {note}\n"
    "สมาชิกในครอบครัว {count}/{max} คน"
)
EXPIRED_TH = {
    REGISTER: "การลงทะเบียนหมดเวลาแล้ว เนื่องจากไม่มีการตอบกลับเกิน {minutes} นาที "
    'ข้อมูลที่พิมพ์ไว้ถูกลบแล้ว\nพิมพ์ "ลงทะเบียน" เพื่อเริ่มใหม่',
    FAMILY_ADD: "การเพิ่มสมาชิกในครอบครัวหมดเวลาแล้ว เนื่องจากไม่มีการตอบกลับเกิน {minutes} นาที "
    'ข้อมูลที่พิมพ์ไว้ถูกลบแล้ว\nพิมพ์ "เพิ่มสมาชิก" เพื่อเริ่มใหม่',
}
_RESTART = {REGISTER: REGISTER_LABEL, FAMILY_ADD: "เพิ่มสมาชิก"}


def _minutes(ctx: EventContext) -> int:
    return max(1, int(ctx.bot.conversation_ttl.total_seconds() // 60))


def start_quick_reply() -> QuickReply:
    return messages.quick_replies(
        messages.ask(REGISTER_LABEL), messages.ask("เพิ่มสมาชิก"), messages.ask("วิธีลงทะเบียน")
    )


def _start(ctx: EventContext, account: LineAccount, flow: str, body: str) -> list[Json]:
    conversations.start(
        ctx.session, ctx.protector, account, flow, CID, ctx.now(), ctx.bot.conversation_ttl
    )
    return prompt(f"{body}\n\n{TIMEOUT_NOTE_TH.format(minutes=_minutes(ctx))}")


def start_register(ctx: EventContext, account: LineAccount) -> list[Json]:
    """Ask for the holder's CID, unless the account is registered already."""
    existing = registration.self_link(ctx.session, account)
    if existing is not None and existing.level == "pending":  # waits for proof: no name
        conversations.finish_all(ctx.session, account)
        return notify.self_pending()
    if existing is not None:
        conversations.finish_all(ctx.session, account)
        return [
            messages.text(
                ALREADY_REGISTERED_TH.format(
                    name=existing.person.full_name_th,
                    masked=person_masked_cid(ctx.protector, existing.person),
                ),
                messages.quick_replies(
                    messages.ask("เพิ่มสมาชิก"), messages.ask("ครอบครัว"), messages.ask("ขอรหัส")
                ),
            )
        ]
    return _start(ctx, account, REGISTER, f"{ASK_SELF_CID_TH}\n({SELF_TERMS_TH})")


def start_family_add(ctx: EventContext, account: LineAccount) -> list[Json]:
    """Ask for a family member's CID; raises SELF_REGISTRATION_REQUIRED or FAMILY_FULL."""
    registration.check_can_add_family(ctx.session, account)
    return _start(ctx, account, FAMILY_ADD, ASK_FAMILY_CID_TH)


def cancel(ctx: EventContext, account: LineAccount) -> list[Json]:
    """ "ยกเลิก": the open dialogue ends, with the answers typed so far (typed only, after
    `conversations.lock_current` has removed an expired one)."""
    if not conversations.finish_all(ctx.session, account):
        return [messages.text(NOTHING_TO_CANCEL_TH, messages.menu_quick_reply())]
    return cancel_reply(CANCELLED_TH)


def expired(ctx: EventContext, flow: str) -> list[Json]:
    body = EXPIRED_TH.get(flow, EXPIRED_TH[REGISTER]).format(minutes=_minutes(ctx))
    return [
        messages.text(
            body,
            messages.quick_replies(
                messages.ask(_RESTART.get(flow, REGISTER_LABEL)), messages.ask("วิธีลงทะเบียน")
            ),
        )
    ]


def answer(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    """Apply the user's answer to the open step; a refusal no answer can fix ends it."""
    step = _STEPS.get((conversation.flow, conversation.step))
    if step is None:  # a flow this version does not know (e.g. after a downgrade)
        conversations.finish(ctx.session, conversation)
        return [
            messages.text(EXPIRED_TH[REGISTER].format(minutes=_minutes(ctx)), start_quick_reply())
        ]
    try:
        return step(ctx, account, conversation, text)
    except DomainError as error:
        conversations.finish(ctx.session, conversation)
        return refusal(error)


def _again(
    ctx: EventContext,
    conversation: Conversation,
    error: DomainError,
    ask: str,
    *choices: MessageAction,
) -> list[Json]:
    """The answer was refused: say why and ask again at the same step."""
    conversations.touch(ctx.session, conversation, ctx.now(), ctx.bot.conversation_ttl)
    return prompt(f"{error.message_th}\n{ask}", *choices)


def _advance(ctx: EventContext, conversation: Conversation, step: str, **answers: str) -> None:
    conversations.advance(
        ctx.session,
        ctx.protector,
        conversation,
        step,
        ctx.now(),
        ctx.bot.conversation_ttl,
        **answers,
    )


def _cid_answer(
    ctx: EventContext, conversation: Conversation, text: str, ask_birth: str
) -> list[Json]:
    """A typed CID: only its form is checked here (nothing is said about the person before
    the birth date matches), then the birth date is asked for."""
    try:
        cid = parse_cid(text)
    except DomainError as error:
        return _again(ctx, conversation, error, ASK_CID_AGAIN_TH)
    _advance(ctx, conversation, BIRTH, cid=cid)
    return prompt(ask_birth.format(masked=mask_cid(cid)))


def _birth_answer(
    ctx: EventContext,
    account: LineAccount,
    conversation: Conversation,
    text: str,
    check: Callable[[str, str], object],
    ask_phone: str,
) -> list[Json]:
    """A typed birth date: with the kept CID, the registry is asked; a mismatch answers as
    an unknown CID does and asks for the CID again.

    Each counts against the account's hourly ``cid_lookup`` limit, as on the LIFF pages;
    past it the dialogue ends with how long to wait (CID_LOOKUPS_EXCEEDED)."""
    try:
        birth = parse_birth_date(text).iso()
    except DomainError as error:
        return _again(ctx, conversation, error, ASK_BIRTH_AGAIN_TH)
    ctx.count("cid_lookup", account.line_user_id)
    cid = conversation.data.get("cid", "")
    try:
        check(cid, birth)
    except DomainError as error:
        if error.code in _PERSON_RETRY:
            _advance(ctx, conversation, CID)
            return prompt(f"{message_th(error)}\n{ASK_CID_AGAIN_TH}")
        raise
    _advance(ctx, conversation, PHONE, birth=birth)
    return prompt(ask_phone.format(masked=mask_cid(cid)))


def _self_cid(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    return _cid_answer(ctx, conversation, text, ASK_SELF_BIRTH_TH)


def _self_birth(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    return _birth_answer(
        ctx,
        account,
        conversation,
        text,
        lambda cid, birth: registration.check_self_candidate(
            ctx.session, ctx.protector, account, cid, birth, ctx.bot.policy, service_day(ctx.now())
        ),
        ASK_SELF_PHONE_TH,
    )


def _self_phone(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    try:
        phone = parse_mobile(text)
    except DomainError as error:
        return _again(ctx, conversation, error, ASK_PHONE_AGAIN_TH)
    link = registration.register_self(
        ctx.session,
        ctx.protector,
        account,
        conversation.data.get("cid"),
        phone,
        conversation.data.get("birth"),
        ctx.bot.policy,
        service_day(ctx.now()),
    )
    notify.link_added(ctx.session, link)  # the person's own verified account is told or asked
    conversations.finish(ctx.session, conversation)
    return notify.self_registered(ctx.protector, link)


def _family_cid(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    return _cid_answer(ctx, conversation, text, ASK_FAMILY_BIRTH_TH)


def _family_birth(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    return _birth_answer(
        ctx,
        account,
        conversation,
        text,
        lambda cid, birth: registration.check_family_candidate(
            ctx.session, ctx.protector, account, cid, birth, ctx.bot.policy
        ),
        ASK_FAMILY_PHONE_TH,
    )


def _family_phone(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    try:
        phone = parse_mobile(text)
    except DomainError as error:
        if error.code in _PHONE_RETRY:
            return _again(ctx, conversation, error, ASK_PHONE_AGAIN_TH)
        raise
    _advance(ctx, conversation, RELATION, phone=phone)
    return prompt(ASK_RELATION_TH, *RELATION_CHOICES)


def _family_relation(
    ctx: EventContext, account: LineAccount, conversation: Conversation, text: str
) -> list[Json]:
    relation = _RELATION_OF.get(" ".join(text.split()).casefold())
    if relation is None:
        return _again(
            ctx,
            conversation,
            DomainError(registration.RELATION_INVALID),
            ASK_RELATION_TH,
            *RELATION_CHOICES,
        )
    link = registration.add_family_member(
        ctx.session,
        ctx.protector,
        account,
        conversation.data.get("cid"),
        conversation.data.get("phone"),
        conversation.data.get("birth"),
        relation,
        ctx.bot.policy,
    )
    notify.link_added(ctx.session, link)  # the person's own verified account is told or asked
    conversations.finish(ctx.session, conversation)
    count = sum(
        1
        for other in registration.links_of(ctx.session, account)
        if other.slot != registration.SELF_SLOT
    )
    masked = person_masked_cid(ctx.protector, link.person)
    if link.level == "pending":  # no name, nothing: the person's own account decides
        return [
            messages.text(
                FAMILY_PENDING_TH.format(
                    masked=masked,
                    note=link_trust.PENDING_TH,
                    count=count,
                    max=registration.MAX_FAMILY_MEMBERS,
                ),
                _after_family_quick_reply(count),
            )
        ]
    body = FAMILY_ADDED_TH.format(
        name=link.person.full_name_th,
        relation=RELATION_LABELS_TH[relation],
        masked=masked,
        count=count,
        max=registration.MAX_FAMILY_MEMBERS,
    )
    return [
        messages.text(f"{body}\n\n{notify.level_lines(link)}", _after_family_quick_reply(count))
    ]


def _after_family_quick_reply(count: int) -> QuickReply:
    actions = [messages.ask("ครอบครัว"), messages.ask("ขอรหัส")]
    if count < registration.MAX_FAMILY_MEMBERS:
        actions.insert(0, messages.ask("เพิ่มสมาชิก"))
    return messages.quick_replies(*actions)


Step = Callable[["EventContext", LineAccount, Conversation, str], list[Json]]
_STEPS: dict[tuple[str, str], Step] = {
    (REGISTER, CID): _self_cid,
    (REGISTER, BIRTH): _self_birth,
    (REGISTER, PHONE): _self_phone,
    (FAMILY_ADD, CID): _family_cid,
    (FAMILY_ADD, BIRTH): _family_birth,
    (FAMILY_ADD, PHONE): _family_phone,
    (FAMILY_ADD, RELATION): _family_relation,
}
