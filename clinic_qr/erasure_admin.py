"""The registry office's queue of erasures patients asked for in LINE (issue 22, point 4).

The erasure itself is done at once (authencode.services.erasure); here the registry office
(or the system administrator) sees whose data went, what was removed and what was kept and
why, and marks each handled once it has done its part offline (e.g. destroyed the paper
forms of the person's links it holds); audited.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from authencode.errors import DomainError
from authencode.services import erasure, staff_access
from authencode.services.my_data import erasure_json
from authencode.services.people import person_masked_cid
from authencode.services.staff_access import FORBIDDEN
from authencode.web.context import db_session, services
from clinic_qr.web import PageResult, clinic, render, staff


def _require_registry_office() -> None:
    if not staff_access.can_decide_pcu_changes(staff()):
        raise DomainError(FORBIDDEN)


@clinic.get("/erasures")
def erasures() -> PageResult:
    _require_registry_office()
    session, protector = db_session(), services().protector
    pending = erasure.queue(session)
    reviewed = erasure.queue(session, reviewed=True, limit=50)
    rows = pending + reviewed
    return render(
        "erasures.html",
        pending=pending,
        reviewed=reviewed,
        details={r.id: erasure_json(r) for r in rows},
        masked={r.id: person_masked_cid(protector, r.person) for r in rows if r.person},
    )


@clinic.post("/erasures/<int:request_id>/review")
def erasure_review(request_id: int) -> PageResult:
    _require_registry_office()
    row = erasure.review(
        db_session(), request_id, staff_id=staff().id, note=request.form.get("note", "")
    )
    return redirect(url_for("clinic.erasures", reviewed=row.id))
