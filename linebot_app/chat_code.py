"""A code from the chat: the clinic QR's link (``/q/<token>``) sent in the chat → the code.

LINE's own QR reader (offered by the rich menu and the "ขอรหัส" answer) reads the clinic's
QR; the user sends the link it shows to the chat (or pastes it), the bot checks the token
at once (a forged or expired link is refused before anything else), asks which person when
the account acts for several (the token travels in the postback data, so nothing needs to
be remembered meanwhile), and issues the code through the core: the same link again the same
day gives the same code.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from linebot.v3.messaging import URIAction

from authencode.errors import DomainError
from authencode.models import Facility, LineAccount, ServiceType
from authencode.services import link_trust, patient_codes, qr_tokens, registration
from authencode.services.consent import require_consent
from authencode.settings import Settings
from linebot_app import messages, notify
from linebot_app.chat_messages import with_cancel
from linebot_app.flex import code_message, code_view
from linebot_app.messages import Json

if TYPE_CHECKING:
    from linebot_app.context import EventContext

QR_READER_URL = "https://line.me/R/nv/QRCodeReader"  # LINE's own QR code reader
PB_CODE = "chat:code:{link_id}:{token}"
_LINK = re.compile(r"https?://[^\s/]+(?:/[^\s/]+)*/q/[^\s]+", re.IGNORECASE)

REQUEST_HELP_TH = (
    "ขอรหัสเข้ารับบริการในแชท\n"
    '1. กดปุ่ม "สแกน QR" ด้านล่าง แล้วสแกน QR Code ของหน่วยบริการ\n'
    "2. คัดลอกลิงก์ที่ได้จากการสแกน แล้วส่งลิงก์นั้นมาในแชทนี้\n"
    "3. เลือกบุคคลที่มารับบริการ ระบบจะตอบกลับด้วยรหัส Authen Code\n"
    "หรือขอรหัสผ่านหน้าขอรหัส: {url}"
)
CHOOSE_PERSON_TH = (
    "ขอรหัสเข้ารับบริการ\nหน่วยบริการ: {facility} ({hcode})\nบริการ: {service}\n"
    "กรุณาเลือกบุคคลที่มารับบริการจากปุ่มด้านล่าง"
)
ISSUED_TH = "ได้รับรหัสเข้ารับบริการแล้ว กรุณาแสดงรหัสนี้ต่อเจ้าหน้าที่ที่หน่วยบริการ"
REPEATED_TH = (
    "รหัสนี้ออกให้แล้วในวันนี้ (ขอซ้ำในวันเดียวกัน สำหรับบริการเดียวกัน จะได้รหัสเดิม) กรุณาแสดงรหัสนี้ต่อเจ้าหน้าที่ที่หน่วยบริการ"
)


def find_clinic_link(text: str) -> str | None:
    """The clinic link (or bare token) in a message, or None when there is none."""
    found = _LINK.search(text)
    if found:
        return found.group(0)
    bare = text.strip()
    if bare.startswith("1.") and bare.count(".") == 5 and not any(c.isspace() for c in bare):
        return bare
    return None


def request_help(settings: Settings) -> list[Json]:
    """How to ask for a code in the chat, with LINE's QR reader and the LIFF page as buttons."""
    page = messages.liff_url(settings, "/request")
    return [
        messages.text(
            REQUEST_HELP_TH.format(url=page),
            messages.quick_replies(
                URIAction(label="สแกน QR", uri=QR_READER_URL),
                URIAction(label="เปิดหน้าขอรหัส", uri=page),
                messages.ask("วิธีขอรหัส"),
            ),
        )
    ]


def on_link(ctx: EventContext, account: LineAccount, scanned: str) -> list[Json]:
    """Check the link, then issue the code or ask which person; raises DomainError."""
    require_consent(account)
    links = registration.links_of(ctx.session, account)
    if not any(link.slot == registration.SELF_SLOT for link in links):
        raise DomainError(registration.SELF_REGISTRATION_REQUIRED)
    token = qr_tokens.extract_token(scanned)
    usable = [link for link in links if link_trust.can(link, link_trust.DISPLAY_QR)]
    links = usable or links  # none usable: the first one's refusal says why
    if len(links) == 1:
        return issue(ctx, account, str(links[0].id), token)  # which checks the token
    claim = qr_tokens.verify(ctx.session, ctx.protector, token, now=ctx.now())
    facility = ctx.session.get(Facility, claim.facility_id)
    service = ctx.session.get(ServiceType, claim.service_code)
    body = CHOOSE_PERSON_TH.format(
        facility=facility.name if facility else claim.hcode,
        hcode=claim.hcode,
        service=service.name_th if service else claim.service_code,
    )
    choices = [
        messages.postback(
            link.person.full_name_th[: messages.MAX_LABEL_CHARS] or f"บุคคลที่ {link.slot + 1}",
            PB_CODE.format(link_id=link.id, token=token),
            f"ขอรหัสให้ {link.person.full_name_th}",
        )
        for link in links
    ]
    return [messages.text(body, with_cancel(*choices))]


def issue(ctx: EventContext, account: LineAccount, link_id: str, token: str) -> list[Json]:
    """Today's code for the chosen person (the same one on a repeat); raises DomainError."""
    issued, link = patient_codes.request_by_qr(
        ctx.session, ctx.protector, account, link_id, token, ctx.bot.policy, now=ctx.now()
    )
    if issued.created:  # told to the person if this account is not their own
        notify.code_for_person(ctx.session, issued.code, link)
    note = ISSUED_TH if issued.created else REPEATED_TH
    return [
        code_message(code_view(ctx.protector, issued.code)),
        messages.text(
            note,
            messages.quick_replies(
                messages.ask("ประวัติ"), messages.ask("ขอรหัส"), messages.ask("ครอบครัว")
            ),
        ),
    ]
