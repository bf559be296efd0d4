"""Telling a patient something in LINE: the one module every front end goes through.

Each function queues its message in the outbox, in the caller's transaction, so the message
exists exactly when the change it reports was committed. Functions are grouped by the part
of the product that sends them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import FamilyLink, LineAccount
from authencode.services.people import person_masked_cid
from linebot_app import messages
from linebot_app.outbox import enqueue_push


def _line_user_ids(session: Session, account_ids: Iterable[int]) -> list[str]:
    wanted = list(account_ids)
    if not wanted:
        return []
    return list(session.scalars(select(LineAccount.line_user_id).where(
        LineAccount.id.in_(wanted), LineAccount.status == "active")))


# --- ThaID verification (issue 17, point 2) ------------------------------------------------

def thaid_link_verified(session: Session, account: LineAccount, person_name: str, *,
                        reclaimed: bool) -> None:
    """Tell the account that ThaID verified its link to the person (and, for a reclaimed
    self link, that the other account's registration was removed)."""
    text = f"ยืนยันตัวตนของ {person_name} ด้วย ThaID เรียบร้อยแล้ว ใช้บริการได้ครบทุกเมนู"
    if reclaimed:
        text += ("\nบัญชี LINE อื่นที่เคยลงทะเบียนด้วยเลขประจำตัวประชาชนของท่านถูกยกเลิกแล้ว "
                 "หากมีการขอรหัสที่ท่านไม่ได้ขอ กรุณาตรวจสอบในหน้าประวัติ")
    enqueue_push(session, account.line_user_id, [messages.text(text)])


def thaid_self_link_reclaimed(session: Session, displaced_account_ids: Iterable[int]) -> None:
    """Tell each account whose self link was removed because the person proved with ThaID,
    from another LINE account, that the citizen ID is theirs."""
    text = ("เจ้าของเลขประจำตัวประชาชนที่ท่านลงทะเบียนไว้ได้ยืนยันตัวตนด้วย ThaID จากบัญชี LINE อื่น "
            "การลงทะเบียนของท่านด้วยเลขนี้จึงถูกยกเลิก หากเลขนี้เป็นของท่านจริง "
            "กรุณายืนยันตัวตนที่จุดบริการของหน่วยบริการพร้อมบัตรประชาชน")
    for line_user_id in _line_user_ids(session, displaced_account_ids):
        enqueue_push(session, line_user_id, [messages.text(text)])


def _push(session: Session, account_ids: Iterable[int], body: str) -> None:
    ids = list(account_ids)
    if not ids:
        return
    for line_user_id in session.scalars(select(LineAccount.line_user_id).where(
            LineAccount.id.in_(ids)).order_by(LineAccount.id)):
        enqueue_push(session, line_user_id, [messages.text(body)])


# --- issue 17: verification at the clinic counter ------------------------------------------

LINK_VERIFIED_TH = ("ยืนยันตัวตนของ {name} ที่หน่วยบริการเรียบร้อยแล้วค่ะ\n"
                    "ตั้งแต่นี้ขอรหัสด้วย QR ทุกแบบ ดูประวัติทั้งหมด และดูรายละเอียดสิทธิได้")
SELF_LINK_RECLAIMED_TH = (
    "เจ้าของเลขประจำตัวประชาชน {masked} ได้ยืนยันตัวตนด้วยบัตรประชาชนจากบัญชี LINE อื่นแล้ว "
    "การลงทะเบียนเลขนี้ในบัญชีนี้จึงถูกยกเลิกค่ะ\n"
    "หากท่านเป็นเจ้าของบัตรจริง กรุณาแสดงบัตรประชาชนที่จุดบริการของหน่วยบริการเพื่อยืนยันตัวตน")


def link_verified(session: Session, protector: DataProtector, link: FamilyLink, *,
                  displaced: Iterable[int] = ()) -> None:
    """Tell the account that its link is verified, and any account whose self link to the same
    person the verification removed (self_link_reclaimed)."""
    _push(session, [link.line_account_id],
          LINK_VERIFIED_TH.format(name=link.person.full_name_th))
    self_link_reclaimed(session, protector, link, displaced)


def self_link_reclaimed(session: Session, protector: DataProtector, link: FamilyLink,
                        account_ids: Iterable[int]) -> None:
    """Tell accounts that lost their self link: the person proved to be someone else's."""
    _push(session, account_ids, SELF_LINK_RECLAIMED_TH.format(
        masked=person_masked_cid(protector, link.person)))
