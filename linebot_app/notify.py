"""Telling a patient something in LINE, from any front end: each function queues a push in
the outbox, in the transaction of the change it reports (sent after the commit)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import FamilyLink, LineAccount
from authencode.services.people import person_masked_cid
from linebot_app import messages
from linebot_app.outbox import enqueue_push


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
