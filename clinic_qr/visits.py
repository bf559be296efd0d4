"""Confirm a visit at the counter (CID + photo, or a certified CID) and print its slip."""

from __future__ import annotations

from flask import redirect, request, url_for

from authencode.app.context import db_session, services
from authencode.cid import mask_cid
from authencode.errors import DomainError
from authencode.models import AuthenCode, Facility, Person
from authencode.services import facilities, people, visits
from authencode.services.reports import CHANNEL_LABELS_TH
from clinic_qr.facility_pages import scoped_facility
from clinic_qr.qr_render import render_qr_svg
from clinic_qr.web import PageResult, clinic, render, staff


def facility_code(facility: Facility, code_id: int) -> AuthenCode:
    """A code of this facility by its id; another facility's code is simply not found."""
    code = db_session().get(AuthenCode, code_id)
    if code is None or code.facility_id != facility.id:
        raise DomainError("CODE_NOT_FOUND")
    return code


def _lookup(raw_cid: str) -> tuple[Person | None, DomainError | None]:
    """The registry person for a typed CID, for showing before the visit is saved."""
    if not raw_cid.strip():
        return None, None
    svc = services()
    try:
        return people.get_person(db_session(), svc.protector, raw_cid), None
    except DomainError as error:
        return None, error


def _form_page(facility: Facility, status: int = 200, error: DomainError | None = None,
               person: Person | None = None) -> PageResult:
    session_ = db_session()
    svc = services()
    cid = masked = ""
    rights = None
    if person is not None:
        cid = people.person_cid(svc.protector, person)
        masked = mask_cid(cid)
        rights = svc.rights.rights_for(session_, person)
    form = request.values
    return render("visit_form.html", status, facility=facility, error=error, person=person,
                  masked_cid=masked, rights=rights, form=form,
                  method=form.get("method", "cid_photo"),
                  services=facilities.offered(session_, facility),
                  relations=visits.RELATIONS, methods=visits.METHODS,
                  channel_labels=CHANNEL_LABELS_TH)


@clinic.route("/facilities/<hcode>/visit", methods=["GET", "POST"])
def visit_confirm(hcode: str) -> PageResult:
    """GET: the form (with the registry lookup of a typed CID); POST: save, then the slip."""
    facility = scoped_facility(hcode)
    if request.method == "GET":
        person, error = _lookup(request.args.get("cid", ""))
        return _form_page(facility, 200 if error is None else error.http_status, error, person)
    f = request.form
    upload = request.files.get("photo")
    visit = visits.VisitRequest(
        method=f.get("method", ""), cid=f.get("cid", ""), phones=f.get("phones", ""),
        service_code=f.get("service", ""), photo=upload.read() if upload else None,
        certifier_cid=f.get("certifier_cid", ""), relation=f.get("relation", ""),
        hn=f.get("hn", ""))
    svc = services()
    try:
        issued = visits.confirm_visit(db_session(), svc.protector, staff().id, facility.hcode,
                                      visit)
    except DomainError as error:
        person, _ = _lookup(visit.cid)
        return _form_page(facility, error.http_status, error, person)
    return redirect(url_for("clinic.visit_slip", hcode=facility.hcode,
                            code_id=issued.code.id, repeat=None if issued.created else 1))


@clinic.get("/facilities/<hcode>/visits/<int:code_id>")
def visit_slip(hcode: str, code_id: int) -> PageResult:
    """The code large on screen, and a slip to print with a QR of the code."""
    facility = scoped_facility(hcode)
    code = facility_code(facility, code_id)
    cid = people.person_cid(services().protector, code.person)
    return render("visit_slip.html", facility=facility, code=code, masked_cid=mask_cid(cid),
                  qr_svg=render_qr_svg(code.code), repeat=bool(request.args.get("repeat")),
                  channel_labels=CHANNEL_LABELS_TH)

