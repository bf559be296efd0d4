"""Account administration: the approval queue, roles, disabling, supporting documents."""

from __future__ import annotations

from flask import Response, redirect, request, url_for
from sqlalchemy import select

from authencode.cid import mask_cid
from authencode.db import utcnow
from authencode.errors import DomainError
from authencode.models import StaffUser
from authencode.services import login_throttle, staff_access, staff_accounts
from authencode.services.staff_access import FORBIDDEN
from authencode.web.context import db_session, services
from authencode.web.downloads import content_disposition
from clinic_qr.web import PageResult, clinic, mail_after_commit, render, staff


def _target(staff_id: int) -> StaffUser:
    """An account the signed-in admin may manage; anything else is simply not found."""
    target = db_session().get(StaffUser, staff_id)
    if target is None or not staff_access.can_manage_staff(staff(), target):
        raise DomainError("NOT_FOUND")
    return target


@clinic.get("/staff")
def staff_list() -> PageResult:
    me = staff()
    if not staff_access.can_manage_accounts(me):
        raise DomainError(FORBIDDEN)
    query = select(StaffUser).order_by(StaffUser.status.desc(), StaffUser.created_at)
    if not staff_access.is_system_admin(me):
        query = query.where(StaffUser.facility_id == me.facility_id)
    accounts = [a for a in db_session().scalars(query) if a.id != me.id]
    pending = [a for a in accounts if a.status == "pending"]
    others = [a for a in accounts if a.status != "pending"]
    return render("staff_list.html", pending=pending, accounts=others)


@clinic.get("/staff/<int:staff_id>")
def staff_detail(staff_id: int) -> PageResult:
    target = _target(staff_id)
    svc = services()
    document = staff_accounts.staff_document(db_session(), target)
    held_until = login_throttle.account_held_until(db_session(), target.id, utcnow())
    return render(
        "staff_detail.html",
        target=target,
        document=document,
        cid=mask_cid(svc.protector.decrypt(target.cid_enc)),
        held_until=held_until,
        roles=staff_access.assignable_roles(staff()),
    )


@clinic.get("/staff/<int:staff_id>/document")
def staff_document(staff_id: int) -> PageResult:
    target = _target(staff_id)
    document = staff_accounts.staff_document(db_session(), target)
    if document is None:
        raise DomainError("NOT_FOUND")
    body = staff_accounts.document_bytes(services().protector, document)
    response = Response(body, mimetype=document.content_type)
    response.headers["Content-Disposition"] = content_disposition(document.filename)
    response.headers["Cache-Control"] = "no-store"
    return response


@clinic.post("/staff/<int:staff_id>/approve")
def staff_approve(staff_id: int) -> PageResult:
    target = _target(staff_id)
    svc = services()
    login_url = svc.settings.public_base_url + url_for("clinic.login")
    staff_accounts.approve(
        db_session(),
        svc.protector,
        staff(),
        target,
        login_url,
        role=request.form.get("role", "staff"),
    )
    mail_after_commit()
    return redirect(url_for("clinic.staff_list", approved=target.id))


@clinic.post("/staff/<int:staff_id>/reject")
def staff_reject(staff_id: int) -> PageResult:
    staff_accounts.reject(db_session(), staff(), _target(staff_id))
    return redirect(url_for("clinic.staff_list"))


@clinic.post("/staff/<int:staff_id>/role")
def staff_role(staff_id: int) -> PageResult:
    target = _target(staff_id)
    staff_accounts.change_role(db_session(), staff(), target, request.form.get("role", ""))
    return redirect(url_for("clinic.staff_detail", staff_id=target.id))


@clinic.post("/staff/<int:staff_id>/active")
def staff_active(staff_id: int) -> PageResult:
    target = _target(staff_id)
    staff_accounts.set_active(db_session(), staff(), target, request.form.get("active") == "1")
    return redirect(url_for("clinic.staff_detail", staff_id=target.id))
