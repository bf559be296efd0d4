"""The one way any front end tells a patient something in LINE: queued pushes in the outbox.

The LIFF API, the clinic app and the bot call these functions inside the transaction of the
effect they report, so a push exists exactly when its effect does (the worker sends it after
the commit). `liff_web` and `clinic_qr` import nothing else of the bot.

Grouped by the part of the product that tells: keep new functions under their part's comment.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import (
    AuthenCode,
    ErasureRequest,
    FamilyLink,
    LineAccount,
    PcuChangeRequest,
)
from authencode.phone import mask_phone
from authencode.reference import RELATION_LABELS_TH, SELF_RELATION_TH
from authencode.services import (
    erasure,
    link_approvals,
    link_trust,
    notices,
    pcu_change,
    person_say,
    registration,
    unit_words,
)
from authencode.services.people import person_masked_cid
from authencode.settings import Settings
from authencode.thaidate import be_datetime, date_label, local
from linebot_app import messages
from linebot_app.flex import MAX_ALT_TEXT, MAX_BUBBLES, code_bubble, code_message, code_view
from linebot_app.messages import Json
from linebot_app.outbox import enqueue_push


def _push(session: Session, account_id: int, out: list[Json]) -> None:
    account = session.get(LineAccount, account_id)
    if account is not None:
        enqueue_push(session, account.line_user_id, out)


# --- Consent, codes, cancelled codes and primary care unit decisions (LIFF API, clinic app) -


def consent_given(session: Session, settings: Settings, account: LineAccount) -> None:
    """The confirmation of consent given on a LIFF page; it also switches the rich menu to
    the member menu before it arrives."""
    enqueue_push(
        session, account.line_user_id, messages.consent_accepted(settings), sync_rich_menu=True
    )


def consent_withdrawn(session: Session, account: LineAccount) -> None:
    """Consent withdrawn on a LIFF page: told in the chat as the chat's own withdrawal tells
    it; the rich menu goes back to the guest menu before it arrives."""
    enqueue_push(session, account.line_user_id, messages.withdrawn(), sync_rich_menu=True)


def code_issued(
    session: Session, protector: DataProtector, account: LineAccount, code: AuthenCode
) -> None:
    """A code issued on a LIFF page, also kept in the requesting account's chat."""
    enqueue_push(session, account.line_user_id, [code_message(code_view(protector, code))])


CODE_CANCELLED_TH = (
    "หน่วยบริการยกเลิกรหัสเข้ารับบริการ {code} แล้วค่ะ\n"
    "ผู้รับบริการ: {name}\n"
    "หน่วยบริการ: {facility} ({hcode})\n"
    "บริการ: {service}\n"
    "วันที่: {day}\n"
    "รหัส {code} ใช้ไม่ได้อีกต่อไป หากยังต้องการรับบริการ กรุณาสอบถามเจ้าหน้าที่ที่หน่วยบริการ "
    "หรือขอรหัสใหม่โดยสแกน QR Code ของหน่วยบริการ"
)


def code_cancelled(session: Session, protector: DataProtector, code: AuthenCode) -> None:
    """A code the clinic cancelled, told to the LINE account that got it, with the code shown
    cancelled; only while that account still acts for the person (no one else is told), and
    not at all for a code not got in LINE. Call it once, after the cancel succeeded."""
    if code.line_account_id is None:
        return
    still_linked = session.scalar(
        select(FamilyLink.id).where(
            FamilyLink.line_account_id == code.line_account_id,
            FamilyLink.person_id == code.person_id,
        )
    )
    if still_linked is None:
        return
    body = CODE_CANCELLED_TH.format(
        code=code.code,
        name=code.person.full_name_th,
        facility=code.facility.name,
        hcode=code.facility.hcode,
        service=code.service.name_th,
        day=date_label(code.service_date),
    )
    shown = {
        "type": "flex",
        "altText": f"รหัส {code.code} ถูกยกเลิกแล้ว",
        "contents": code_bubble(code_view(protector, code)),
    }
    _push(session, code.line_account_id, [messages.text(body), shown])


def pcu_decided(session: Session, row: PcuChangeRequest) -> None:
    """The registry office's decision, to the LINE account that asked (if it still exists),
    in the wording the rights pages use (authencode.services.unit_words)."""
    if row.line_account_id is None:
        return
    body = unit_words.decision_th(row, pcu_change.facility_names(session, [row]))
    _push(session, row.line_account_id, [messages.text(body)])


# --- Registration: the holder's own, confirmed (the chat's answer; a push after the LIFF pages)

REGISTERED_TH = (
    "ลงทะเบียนเรียบร้อยแล้วค่ะ\n{name}\nเลขประจำตัวประชาชน {masked}\n"
    "เบอร์โทรศัพท์ {phone}\n"
    'เมื่อถึงหน่วยบริการ พิมพ์ "ขอรหัส" แล้วสแกน QR Code ของหน่วยบริการ '
    "หรือส่งลิงก์จาก QR Code มาในแชทนี้ได้เลย"
)
LEVEL_LINE_TH = "ระดับการยืนยัน: {level}\n{note}"


def level_lines(link: FamilyLink) -> str:
    """The link's level in Thai and, unless verified, what it allows and how to verify."""
    return LEVEL_LINE_TH.format(
        level=link_trust.LEVEL_TH[link.level], note=link_trust.level_note_th(link)
    ).rstrip()


def self_pending() -> list[Json]:
    """The holder's own ID is another LINE account's: how to move it here (no hotline)."""
    return [
        messages.text(
            registration.SELF_PENDING_TH,
            messages.quick_replies(messages.ask("ครอบครัว"), messages.ask("วิธีลงทะเบียน")),
        )
    ]


def self_registered(protector: DataProtector, link: FamilyLink) -> list[Json]:
    """The one message confirming the holder's own registration: who, masked, the level and
    what next; or, for a pending link, how to reclaim the ID."""
    if link.level == "pending":  # the ID is another LINE account's own: how to reclaim it
        return self_pending()
    body = REGISTERED_TH.format(
        name=link.person.full_name_th,
        masked=person_masked_cid(protector, link.person),
        phone=mask_phone(link.phone),
    )
    return [
        messages.text(
            f"{body}\n\n{level_lines(link)}",
            messages.quick_replies(
                messages.ask("ขอรหัส"), messages.ask("เพิ่มสมาชิก"), messages.ask("ตรวจสอบสิทธิ")
            ),
        )
    ]


def registered_on_liff(session: Session, protector: DataProtector, link: FamilyLink) -> None:
    """A registration made on the LIFF pages, confirmed in the chat as the chat's own is.
    Called only when the request made the link (a retry that finds it says nothing)."""
    _push(session, link.line_account_id, self_registered(protector, link))


# --- Issue 17, the person's own say: approvals, notices, "this was not me", reclaiming -------
# Sent to the person's *verified* own account only (link_trust.verified_self_link): a merely
# claimed self link may be the impostor. The postbacks are answered by linebot_app.chat_owner.

PB_APPROVE = "own:approve:{approval_id}"
PB_DECLINE = "own:decline:{approval_id}"
PB_NOT_ME_ACCOUNT = "own:notme:a:{account_id}"
PB_NOT_ME_CODE = "own:notme:c:{code_id}"
LINKED_BY_COMMAND = "ใครเชื่อมโยงฉัน"
NOT_ME_LABEL = "ไม่ใช่ฉัน"

RELATIONS_TH = {"self": SELF_RELATION_TH, **RELATION_LABELS_TH}
LEVELS_TH = {"pending": "รออนุมัติจากท่าน", "claimed": "ยังไม่ยืนยันตัวตน", "verified": "ยืนยันตัวตนแล้ว"}
OTHER_ACCOUNT_TH = "บัญชี LINE อื่น"
OTHER_ACCOUNT_EN = "Another LINE account"

APPROVAL_ASK_TH = (
    'มีบัญชี LINE อื่นขอเพิ่มท่าน ({name}) เป็น "{relation}" เพื่อขอรหัสเข้ารับบริการแทนท่าน\n'
    "เมื่อ {since}\n"
    'หากท่านรู้จักและอนุญาต กด "อนุมัติ" หากไม่ใช่ กด "ไม่อนุมัติ"\n'
    "คำขอนี้หมดอายุใน 24 ชั่วโมง หากไม่ตอบ ระบบจะยกเลิกคำขอให้"
)
APPROVAL_ASK_SELF_TH = (
    "มีบัญชี LINE อื่นขอลงทะเบียนด้วยเลขประจำตัวประชาชนของท่าน ({name}) เป็นบัญชีของท่านเอง\n"
    "เมื่อ {since}\n"
    'หากท่านย้ายไปใช้บัญชี LINE ใหม่ กด "อนุมัติ" (บัญชีนี้จะไม่เป็นบัญชีของท่านอีกต่อไป) '
    'หากไม่ใช่ท่าน กด "ไม่อนุมัติ"\nคำขอนี้หมดอายุใน 24 ชั่วโมง'
)
NEW_LINK_TH = (
    'แจ้งเพื่อทราบ: {account} ได้เพิ่มท่าน ({name}) เป็น "{relation}" เมื่อ {since}\n'
    "ระดับ: {level}\n"
    'หากท่านไม่รู้จักหรือไม่ได้อนุญาต กด "ไม่ใช่ฉัน" ระบบจะยกเลิกการเชื่อมโยงนี้'
)
CODE_FOR_YOU_TH = (
    "แจ้งเพื่อทราบ: มีการขอรหัสเข้ารับบริการในชื่อของท่านผ่าน{account}\n"
    'หากท่านหรือผู้ดูแลไม่ได้ขอรหัสนี้ กด "ไม่ใช่ฉัน" ระบบจะยกเลิกการเชื่อมโยงของบัญชีนั้น '
    "และแจ้งหน่วยบริการให้ตรวจสอบรหัสนี้"
)
REQUEST_ENDED_TH = (
    "คำขอเพิ่มบุคคล ({relation}) ไม่ได้รับการอนุมัติจากเจ้าของข้อมูล{why} "
    "จึงยกเลิกรายการนี้แล้วค่ะ หากเป็นบุคคลในครอบครัวของท่าน "
    "กรุณายืนยันตัวตนที่จุดบริการของหน่วยบริการ"
)
RECLAIMED_TH = (
    "ยืนยันตัวตนเรียบร้อยแล้ว บัญชี LINE นี้เป็นบัญชีของท่าน ({name})\n"
    "บัญชี LINE อื่น {count} บัญชีที่เคยลงทะเบียนด้วยเลขประจำตัวประชาชนของท่านถูกยกเลิกแล้ว"
)
RECLAIMED_CODES_TH = (
    "รหัสเข้ารับบริการที่ขอผ่านบัญชีที่ถูกยกเลิก {count} รายการล่าสุดอยู่ด้านล่าง "
    'หากรายการใดท่านไม่ได้ขอ กด "ไม่ใช่ฉัน" เพื่อแจ้งหน่วยบริการให้ตรวจสอบ'
)
DISPLACED_TH = (
    "เจ้าของเลขประจำตัวประชาชนที่บัญชี LINE นี้เคยลงทะเบียนไว้ ได้ยืนยันตัวตนจากบัญชี LINE "
    "ของตนแล้ว จึงยกเลิกการลงทะเบียนของบัญชีนี้\n"
    "หากท่านคือเจ้าของเลขดังกล่าว กรุณายืนยันตัวตนที่จุดบริการของหน่วยบริการด้วยบัตรประชาชน "
    "หรือผ่านแอป ThaID"
)


def relation_th(link: FamilyLink) -> str:
    return RELATIONS_TH.get(link.relation, link.relation)


def _owner_of(session: Session, link: FamilyLink) -> FamilyLink | None:
    """The person's verified own link, unless it is the account that made ``link``."""
    owner = link_trust.verified_self_link(session, link.person_id)
    if owner is None or owner.line_account_id == link.line_account_id:
        return None
    return owner


def link_added(session: Session, link: FamilyLink) -> None:
    """A new link to a person: a pending one asks the person's verified own account to
    approve it (24 hours); any other is told to that account with "this was not me"."""
    owner = _owner_of(session, link)
    if owner is None:
        return
    name = owner.person.full_name_th
    since = be_datetime(link.created_at)
    if link.level == "pending":
        # Opens the request, or finds the one registration opened: asked (again) either way.
        approval = link_approvals.request_approval(session, link)
        if approval is None:
            return
        ask = APPROVAL_ASK_SELF_TH if link.slot == link_trust.SELF_SLOT else APPROVAL_ASK_TH
        body = ask.format(name=name, relation=relation_th(link), since=since)
        _push(
            session,
            owner.line_account_id,
            [
                messages.text(
                    body,
                    messages.quick_replies(
                        messages.postback("อนุมัติ", PB_APPROVE.format(approval_id=approval.id)),
                        messages.postback("ไม่อนุมัติ", PB_DECLINE.format(approval_id=approval.id)),
                        messages.ask(LINKED_BY_COMMAND),
                    ),
                )
            ],
        )
        return
    body = NEW_LINK_TH.format(
        account=OTHER_ACCOUNT_TH,
        name=name,
        relation=relation_th(link),
        since=since,
        level=LEVELS_TH.get(link.level, link.level),
    )
    _push(
        session,
        owner.line_account_id,
        [
            messages.text(
                body,
                messages.quick_replies(
                    messages.postback(
                        NOT_ME_LABEL,
                        PB_NOT_ME_ACCOUNT.format(account_id=link.line_account_id),
                        f"{NOT_ME_LABEL}: ยกเลิกการเชื่อมโยงนี้",
                    ),
                    messages.ask(LINKED_BY_COMMAND),
                ),
            )
        ],
    )


def approval_ended(session: Session, closed: link_approvals.Closed, *, expired: bool) -> None:
    """Tell the account whose pending link was declined or expired that it is gone."""
    why = " ภายใน 24 ชั่วโมง" if expired else ""
    relation = RELATIONS_TH.get(closed.relation, closed.relation)
    _push(
        session,
        closed.requester_account_id,
        [messages.text(REQUEST_ENDED_TH.format(relation=relation, why=why))],
    )


def _not_me_bubble(code: AuthenCode) -> Json:
    """One code asked for through another account, with its "this was not me" button."""

    def row(label: str, value: str) -> Json:
        return {
            "type": "box",
            "layout": "baseline",
            "spacing": "sm",
            "contents": [
                {"type": "text", "text": label, "size": "sm", "color": "#6b7280", "flex": 2},
                {
                    "type": "text",
                    "text": value or "-",
                    "size": "sm",
                    "color": "#111827",
                    "flex": 5,
                    "wrap": True,
                },
            ],
        }

    status = "ถูกยกเลิกแล้ว" if code.status != "active" else "ใช้งานได้"
    if code.disputed_at is not None:
        status += " (แจ้งว่าไม่ได้ขอแล้ว)"
    return {
        "type": "bubble",
        "size": "mega",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "text",
                    "text": "รหัสที่ขอผ่านบัญชี LINE อื่น",
                    "size": "sm",
                    "weight": "bold",
                    "color": "#b45309",
                },
                {
                    "type": "text",
                    "text": code.code,
                    "size": "xl",
                    "weight": "bold",
                    "color": "#111827",
                },
                {"type": "separator"},
                row("หน่วยบริการ", f"{code.facility.name} ({code.facility.hcode})"),
                row("บริการ", code.service.name_th),
                row("วันเวลา", be_datetime(code.service_at)),
                row("สถานะ", status),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "secondary",
                    "height": "sm",
                    "action": messages.postback(
                        NOT_ME_LABEL,
                        PB_NOT_ME_CODE.format(code_id=code.id),
                        f"{NOT_ME_LABEL}: ไม่ได้ขอรหัส {code.code}",
                    ).to_dict(),
                }
            ],
        },
    }


def not_me_carousel(codes: list[AuthenCode]) -> Json:
    """Codes asked for through other accounts, newest first, each with "this was not me"."""
    shown = codes[:MAX_BUBBLES]
    alt = "รหัสที่ขอผ่านบัญชี LINE อื่น: " + ", ".join(c.code for c in shown)
    return {
        "type": "flex",
        "altText": alt[:MAX_ALT_TEXT],
        "contents": {"type": "carousel", "contents": [_not_me_bubble(c) for c in shown]},
    }


def code_for_person(session: Session, code: AuthenCode, link: FamilyLink) -> None:
    """A code newly issued through another account is told to the person's verified own
    account, with "this was not me"."""
    owner = _owner_of(session, link)
    if owner is None:
        return
    _push(
        session,
        owner.line_account_id,
        [messages.text(CODE_FOR_YOU_TH.format(account=OTHER_ACCOUNT_TH)), not_me_carousel([code])],
    )


def self_link_reclaimed(
    session: Session, verified_link: FamilyLink, displaced_account_ids: tuple[int, ...] | list[int]
) -> None:
    """A verified self link displaced other accounts' self links: tell both sides, and show
    the person the codes asked for through the removed links, each with "this was not me"."""
    if not displaced_account_ids:
        return
    name = verified_link.person.full_name_th
    out = [messages.text(RECLAIMED_TH.format(name=name, count=len(displaced_account_ids)))]
    codes = person_say.codes_requested_by(
        session, verified_link.person_id, list(displaced_account_ids)
    )
    if codes:
        out += [messages.text(RECLAIMED_CODES_TH.format(count=len(codes))), not_me_carousel(codes)]
    _push(session, verified_link.line_account_id, out)
    for account_id in displaced_account_ids:
        _push(session, account_id, [messages.text(DISPLACED_TH)])


NOT_ME_DONE = {
    "th": (
        "บันทึกแล้วค่ะ {}",
        "ยกเลิกการเชื่อมโยงของบัญชี LINE นั้นแล้ว",
        "แจ้งหน่วยบริการให้ตรวจสอบรหัส {} รายการแล้ว: {}",
        " และ",
        "ไม่มีรายการที่ต้องดำเนินการเพิ่ม",
    ),
    "en": (
        "Saved: {}.",
        "that LINE account's link to you was removed",
        "the facility was asked to review {} code(s): {}",
        "; ",
        "nothing more needed doing",
    ),
}


def not_me_done(result: person_say.NotMe, lang: str = "th") -> str:
    """What "this was not me" did (the chat's answer in Thai, the LIFF page's in either)."""
    done, unlinked, flagged, joiner, nothing = NOT_ME_DONE[lang]
    parts = []
    if result.removed is not None:
        parts.append(unlinked)
    if result.flagged:
        parts.append(flagged.format(len(result.flagged), ", ".join(c.code for c in result.flagged)))
    return done.format(joiner.join(parts) if parts else nothing)


def since_th(link: FamilyLink) -> str:
    """The day a link was made, in the Buddhist era (Bangkok time)."""
    return date_label(local(link.created_at).date())


# --- Issue 17, verification: at a clinic counter or through ThaID ---------------------------

LINK_VERIFIED_TH = {
    "counter": "ยืนยันตัวตนของ {name} ที่หน่วยบริการเรียบร้อยแล้วค่ะ",
    "thaid": "ยืนยันตัวตนของ {name} ด้วย ThaID เรียบร้อยแล้วค่ะ",
}
LINK_VERIFIED_NOW_TH = "\nตั้งแต่นี้ขอรหัสด้วย QR ทุกแบบ ดูประวัติทั้งหมด และดูรายละเอียดสิทธิได้"


def link_verified(
    session: Session, link: FamilyLink, *, method: str, displaced: tuple[int, ...] | list[int] = ()
) -> None:
    """Tell the account that its link is verified; when the link reclaimed the person from
    other accounts, tell them too and show the person what was asked through them."""
    intro = LINK_VERIFIED_TH.get(method, LINK_VERIFIED_TH["counter"])
    _push(
        session,
        link.line_account_id,
        [messages.text(intro.format(name=link.person.full_name_th) + LINK_VERIFIED_NOW_TH)],
    )
    self_link_reclaimed(session, link, displaced)


# --- Issue 17, levels: the one-time announcement of link levels to existing accounts --------

LEVELS_NOTICE = "levels-2026"
LEVELS_ANNOUNCEMENT_TH = (
    "แจ้งเปลี่ยนแปลง: การยืนยันตัวตนของบุคคลที่ลงทะเบียนไว้\n"
    "เพื่อป้องกันผู้อื่นนำเลขประจำตัวประชาชนของท่านไปขอรหัสหรือดูประวัติการรับบริการ "
    "บุคคลแต่ละคนในบัญชี LINE นี้จะมีระดับการยืนยันตัวตน\n"
    f"• {link_trust.LEVEL_TH['claimed']}: ขอรหัสได้เฉพาะ QR Code บนหน้าจอที่จุดบริการ "
    "(ใช้ QR Code ที่พิมพ์ติดไว้ไม่ได้) เห็นเฉพาะรหัสที่ขอจากบัญชีนี้ "
    "เห็นสิทธิเพียงว่าใช้บริการได้หรือไม่ และเปลี่ยนหน่วยบริการไม่ได้\n"
    f"• {link_trust.LEVEL_TH['verified']}: ใช้งานได้ทุกอย่างเหมือนเดิม\n"
    "รายชื่อที่ลงทะเบียนไว้ก่อนหน้านี้ยังไม่ได้ยืนยันตัวตน "
    "ยืนยันได้โดยแสดงบัตรประจำตัวประชาชนของบุคคลนั้นที่จุดบริการของหน่วยบริการ "
    "หรือยืนยันผ่านแอป ThaID\n"
    'ดูระดับของแต่ละคนได้ที่ลิงก์นี้ หรือพิมพ์ "ครอบครัว"\n{url}'
)


def announce_levels(session: Session, settings: Settings) -> int:
    """Queue the levels announcement to every following account with links that was not yet
    sent it (recorded, so running again sends nothing twice); returns how many were queued."""
    accounts = notices.claim_accounts(session, LEVELS_NOTICE)
    body = LEVELS_ANNOUNCEMENT_TH.format(url=messages.liff_url(settings, "/family"))
    message = messages.text(
        body[: messages.MAX_TEXT_CHARS],
        messages.quick_replies(messages.ask("ครอบครัว"), messages.ask("ขอรหัส")),
    )
    for account in accounts:
        enqueue_push(session, account.line_user_id, [message])
    return len(accounts)


# --- Issue 22, a person's own data: the confirmation of an erasure (the LIFF API) -----------

ERASED_TH = (
    "ลบข้อมูลของท่านตามคำขอเรียบร้อยแล้วค่ะ ({at})\n"
    "ลบแล้ว: {removed}\n"
    "เก็บไว้ตามกฎหมาย: รหัสเข้ารับบริการ {codes} รายการ (ใช้เบิกค่าบริการ แยกออกจากบัญชี LINE นี้แล้ว) "
    "ประวัติความยินยอม และบันทึกการตรวจสอบ\n"
    "หากต้องการใช้บริการอีกครั้ง กรุณาให้ความยินยอมและลงทะเบียนใหม่"
)


def data_erased(session: Session, account: LineAccount, row: ErasureRequest) -> None:
    """Confirm an erasure in the chat; the rich menu goes back to the guest menu first
    (consent is gone)."""
    removed = ", ".join(
        f"{label_th} {row.removed[kind]}"
        for kind, (label_th, _) in erasure.REMOVED_LABELS.items()
        if kind != "consent" and row.removed.get(kind)
    )
    body = ERASED_TH.format(
        at=be_datetime(row.requested_at),
        removed=removed or "-",
        codes=row.kept.get("codes", 0),
    )
    enqueue_push(
        session,
        account.line_user_id,
        [messages.text(body[: messages.MAX_TEXT_CHARS])],
        sync_rich_menu=True,
    )
