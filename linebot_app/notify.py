"""Telling a patient something in LINE: the one module through which any front end (the
chat, the LIFF API, the clinic app, the CLI) queues a message to a patient's account.

Messages go to the outbox in the caller's transaction, so they exist exactly when the
change they report does.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from authencode.services import link_trust, notices
from authencode.settings import Settings
from linebot_app import messages
from linebot_app.outbox import enqueue_push

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
    "ดูระดับของแต่ละคนได้ที่ลิงก์นี้ หรือพิมพ์ \"ครอบครัว\"\n{url}")


def announce_levels(session: Session, settings: Settings) -> int:
    """Queue the levels announcement to every following account with links that was not yet
    sent it (recorded, so running again sends nothing twice); returns how many were queued."""
    accounts = notices.claim_accounts(session, LEVELS_NOTICE)
    body = LEVELS_ANNOUNCEMENT_TH.format(url=messages.liff_url(settings, "/family"))
    message = messages.text(body[:messages.MAX_TEXT_CHARS],
                            messages.quick_replies(messages.ask("ครอบครัว"),
                                                   messages.ask("ขอรหัส")))
    for account in accounts:
        enqueue_push(session, account.line_user_id, [message])
    return len(accounts)
