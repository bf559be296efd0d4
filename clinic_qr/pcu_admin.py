"""The registry office's queue of primary care unit changes that patients asked for in LINE.

A registry administrator (or the system administrator) approves a request, which moves the
person's primary care unit (the main unit stays), or rejects it with a reason; either way the
decision is audited and the LINE account that asked is told in the chat.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from authencode.errors import DomainError
from authencode.services import pcu_change, staff_access, unit_words
from authencode.services.people import person_masked_cid
from authencode.services.staff_access import FORBIDDEN
from authencode.web.context import db_session, services
from clinic_qr.web import PageResult, clinic, lang, render, staff
from linebot_app import notify

MAX_NOTE = 500


def _require_registry_office() -> None:
    if not staff_access.can_decide_pcu_changes(staff()):
        raise DomainError(FORBIDDEN)


@clinic.get("/pcu-changes")
def pcu_changes() -> PageResult:
    _require_registry_office()
    session, protector = db_session(), services().protector
    pending = pcu_change.queue(session)
    decided = pcu_change.queue(session, decided=True, limit=50)
    rows = pending + decided
    masked = {r.person_id: person_masked_cid(protector, r.person) for r in rows}
    names = pcu_change.facility_names(session, rows)
    language = lang()
    return render(
        "pcu_changes.html",
        pending=pending,
        decided=decided,
        masked=masked,
        # The chat's and the LIFF pages' wording of each request (unit names, main unit).
        words={r.id: unit_words.change_words(r, names, language) for r in rows},
    )


@clinic.post("/pcu-changes/<int:request_id>/approve")
def pcu_approve(request_id: int) -> PageResult:
    return _decide(request_id, approve=True)


@clinic.post("/pcu-changes/<int:request_id>/reject")
def pcu_reject(request_id: int) -> PageResult:
    return _decide(request_id, approve=False)


def _decide(request_id: int, *, approve: bool) -> PageResult:
    _require_registry_office()
    note = " ".join(request.form.get("note", "").split())[:MAX_NOTE]
    row = pcu_change.decide(
        db_session(), request_id, staff_id=staff().id, approve=approve, note=note
    )
    notify.pcu_decided(db_session(), row)  # to the LINE account that asked
    return redirect(url_for("clinic.pcu_changes", decided=row.id))
