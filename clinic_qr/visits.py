"""Confirm a visit at the counter (CID + photo, or a certified CID) and print its slip."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import make_response, redirect, request, url_for

from authencode.cid import mask_cid
from authencode.errors import DomainError
from authencode.models import AuthenCode, Facility, Person
from authencode.ratelimit import RateLimitedError
from authencode.services import facilities, people, visits
from authencode.settings import Settings
from authencode.web.context import db_session, services
from clinic_qr.facility_pages import scoped_facility
from clinic_qr.person_lookup import (
    REF_PARAM,
    cid_in_url,
    count_lookup,
    person_ref,
    query_without_cids,
    ref_cid,
)
from clinic_qr.qr_render import render_qr_svg
from clinic_qr.web import PageResult, clinic, labels, render, staff, tr

DEFAULT_AGENT_URL = "http://127.0.0.1:8189"  # the NHSO-compatible agent's fixed address


def agent_url(settings: Settings) -> str:
    """Where the counter page finds the reader agent (READER_AGENT_URL)."""
    return settings.reader_agent_url or DEFAULT_AGENT_URL


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


def _form_page(
    facility: Facility,
    status: int = 200,
    error: DomainError | None = None,
    person: Person | None = None,
    form: Mapping[str, str] | None = None,
) -> PageResult:
    session_ = db_session()
    svc = services()
    cid = masked = ""
    rights = None
    if person is not None:
        cid = people.person_cid(svc.protector, person)
        masked = mask_cid(cid)
        rights = svc.rights.rights_for(session_, person)
    if form is None:
        form = request.values
    method = form.get("method", "smartcard")
    html, status = render(
        "visit_form.html",
        status,
        facility=facility,
        error=error,
        person=person,
        masked_cid=masked,
        rights=rights,
        form=form,
        method=method if method in visits.METHODS else "smartcard",
        services=facilities.offered(session_, facility),
        relations=visits.RELATIONS,
        methods=visits.METHODS,
        channel_labels=labels("channel"),
        agent_url=agent_url(svc.settings),
        texts=_page_texts(),
    )
    return make_response(html, status)


def _page_texts() -> dict[str, str]:
    """What the page's script says, in the page's language."""
    return {
        "noAgent": tr(
            "ไม่พบโปรแกรมอ่านบัตร (reader agent) ที่เครื่องนี้ กรุณาเปิดโปรแกรมแล้วลองใหม่",
            "The reader agent is not running on this PC; start it and try again.",
        ),
        "noReader": tr(
            "ไม่พบเครื่องอ่านบัตร กรุณาต่อเครื่องอ่านบัตร", "No card reader found; connect the card reader."
        ),
        "noCard": tr(
            "ไม่พบบัตรในเครื่องอ่านบัตร กรุณาเสียบบัตรประชาชน", "No card in the reader; insert the ID card."
        ),
        "cardIn": tr("มีบัตรในเครื่องอ่าน", "card inserted"),
        "cardOut": tr("ไม่มีบัตร", "no card"),
        "reading": tr("กำลังอ่านบัตร…", "Reading the card…"),
        "readOk": tr(
            "อ่านบัตรเรียบร้อย ตรวจสอบรูปและชื่อกับผู้รับบริการ",
            "Card read: check the photo and name against the patient.",
        ),
        "readFailed": tr("อ่านบัตรไม่สำเร็จ", "Could not read the card"),
        "cameraFailed": tr(
            "เปิดกล้องไม่ได้ กรุณาเลือกไฟล์รูปแทน", "Could not open the camera; pick a photo file instead."
        ),
        "photoTaken": tr("ถ่ายรูปแล้ว", "Photo taken"),
    }


@clinic.route("/facilities/<hcode>/visit", methods=["GET", "POST"])
def visit_confirm(hcode: str) -> PageResult:
    """GET: the form, with the person a lookup reference names; POST: save, then the slip.

    An old address with ``?cid=`` gets a message, not a lookup, and its CID is not echoed.
    """
    facility = scoped_facility(hcode)
    if request.method == "GET":
        form = dict(query_without_cids(request.args.items(), drop=(REF_PARAM,)))
        error = cid_in_url(request.args)
        person = None
        if error is None and request.args.get(REF_PARAM):
            try:
                form["cid"] = ref_cid(request.args[REF_PARAM])
            except DomainError as refused:
                error = refused
            else:
                person, error = _lookup(form["cid"])
        return _form_page(
            facility, 200 if error is None else error.http_status, error, person, form
        )
    f = request.form
    upload = request.files.get("photo")
    visit = visits.VisitRequest(
        method=f.get("method", ""),
        cid=f.get("cid", ""),
        phones=f.get("phones", ""),
        service_code=f.get("service", ""),
        photo=upload.read() if upload else None,
        certifier_cid=f.get("certifier_cid", ""),
        relation=f.get("relation", ""),
        hn=f.get("hn", ""),
        correlation_id=f.get("correlation_id", ""),
    )
    svc = services()
    try:
        issued = visits.confirm_visit(
            db_session(), svc.protector, staff().id, facility.hcode, visit
        )
    except DomainError as error:
        person = None
        if visit.cid.strip():
            try:  # the form names the typed CID's person again: a look-up like any other
                count_lookup(staff().id)
            except RateLimitedError:
                pass  # past the limit the form comes back without the person
            else:
                person, _ = _lookup(visit.cid)
        return _form_page(facility, error.http_status, error, person)
    return redirect(
        url_for(
            "clinic.visit_slip",
            hcode=facility.hcode,
            code_id=issued.code.id,
            repeat=None if issued.created else 1,
        )
    )


@clinic.post("/facilities/<hcode>/visit/lookup")
def visit_lookup(hcode: str) -> PageResult:
    """The registry lookup of a typed CID: back to the form naming the person by reference."""
    facility = scoped_facility(hcode)
    try:
        ref = person_ref(request.form.get("cid", ""), staff().id)
    except DomainError as error:
        return _form_page(facility, error.http_status, error)
    method = request.form.get("method", "")
    query: dict[str, Any] = {REF_PARAM: ref, "method": method if method in visits.METHODS else None}
    return redirect(url_for("clinic.visit_confirm", hcode=facility.hcode, **query), 303)


@clinic.get("/facilities/<hcode>/visits/<int:code_id>")
def visit_slip(hcode: str, code_id: int) -> PageResult:
    """The code large on screen, and a slip to print with a QR of the code."""
    facility = scoped_facility(hcode)
    code = facility_code(facility, code_id)
    cid = people.person_cid(services().protector, code.person)
    return render(
        "visit_slip.html",
        facility=facility,
        code=code,
        masked_cid=mask_cid(cid),
        qr_svg=render_qr_svg(code.code),
        repeat=bool(request.args.get("repeat")),
        channel_labels=labels("channel"),
    )
