"""Facilities: their services, QR codes (PNG, SVG, poster PDF, counter display), QR keys
and API tokens. Every route names the facility by hcode and checks the signed-in account's
scope before anything else."""

from __future__ import annotations

import base64

from flask import Response, jsonify, redirect, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from authencode.db import utcnow
from authencode.errors import DomainError
from authencode.models import ApiToken, Facility, FacilityKey, ServiceType
from authencode.services import api_tokens, facilities, qr_tokens, staff_access
from authencode.web.context import db_session, services
from authencode.web.downloads import content_disposition
from clinic_qr.qr_render import (
    OfficialAccount,
    QrLabel,
    render_png,
    render_poster_pdf,
    render_qr_svg,
    render_svg,
)
from clinic_qr.web import PageResult, actor, clinic, render, staff, tr


def scoped_facility(hcode: str, manage: bool = False) -> Facility:
    """The facility, if the signed-in account may see (or manage) it; else not found."""
    facility = db_session().scalar(select(Facility).where(Facility.hcode == hcode))
    me = staff()
    allowed = facility is not None and (
        staff_access.can_manage_facility(me, facility)
        if manage
        else staff_access.can_view_facility(me, facility)
    )
    if facility is None or not allowed:
        if facility is not None and staff_access.can_view_facility(me, facility):
            raise DomainError(staff_access.FORBIDDEN)
        raise DomainError("FACILITY_NOT_FOUND")
    return facility


def _poster_link(facility: Facility, service: ServiceType) -> tuple[str, QrLabel]:
    svc = services()
    token = qr_tokens.sign_poster(db_session(), svc.protector, facility, service.code)
    label = QrLabel(facility.hcode, facility.name, service.code, service.name_th)
    return qr_tokens.qr_url(svc.settings.public_base_url, token), label


def _download(body: bytes | str, mimetype: str, filename: str) -> PageResult:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response


@clinic.route("/facilities", methods=["GET", "POST"])
def facility_list() -> PageResult:
    session_ = db_session()
    error = None
    if request.method == "POST":
        f = request.form
        try:
            created = facilities.create_facility(
                session_, staff(), f.get("hcode", ""), f.get("name", ""), f.get("province", "")
            )
        except DomainError as exc:
            error = exc
        else:
            return redirect(url_for("clinic.facility_detail", hcode=created.hcode))
    return render(
        "facilities.html",
        200 if error is None else error.http_status,
        error=error,
        facilities=facilities.visible_facilities(session_, staff()),
        form=request.form,
    )


@clinic.get("/facilities/<hcode>")
def facility_detail(hcode: str) -> PageResult:
    facility = scoped_facility(hcode)
    session_ = db_session()
    return render(
        "facility.html",
        facility=facility,
        offered=facilities.offered(session_, facility),
        all_services=facilities.all_service_types(session_),
        can_manage=staff_access.can_manage_facility(staff(), facility),
    )


@clinic.post("/facilities/<hcode>/services")
def facility_services(hcode: str) -> PageResult:
    facility = scoped_facility(hcode, manage=True)
    facilities.set_services(db_session(), staff(), facility, request.form.getlist("service"))
    return redirect(url_for("clinic.facility_detail", hcode=facility.hcode))


@clinic.get("/facilities/<hcode>/qr")
def qr_codes(hcode: str) -> PageResult:
    """One QR per picked service, with PNG, SVG and poster downloads."""
    facility = scoped_facility(hcode)
    session_ = db_session()
    offered = facilities.offered(session_, facility)
    picked = set(request.args.getlist("service"))
    chosen = [s for s in offered if s.code in picked] or offered
    account = official_account()
    return render(
        "qr.html",
        facility=facility,
        services=chosen,
        codes=[s.code for s in chosen],
        refresh=int(qr_tokens.DISPLAY_REFRESH.total_seconds()),
        valid=int(qr_tokens.DISPLAY_TTL.total_seconds()),
        account=account,
        account_qr=Markup(render_qr_svg(account.add_friend_url)) if account else None,  # noqa: S704 - our own SVG
    )


def official_account() -> OfficialAccount | None:
    """The LINE official account from LINE_BASIC_ID (None when it is not set)."""
    settings = services().settings
    if not settings.line_basic_id or not settings.line_add_friend_url:
        return None
    return OfficialAccount(settings.line_basic_id, settings.line_add_friend_url)


@clinic.get("/facilities/<hcode>/qr/<service_code>.png")
def qr_png(hcode: str, service_code: str) -> PageResult:
    facility = scoped_facility(hcode)
    service = facilities.offered_service(db_session(), facility, service_code)
    url, label = _poster_link(facility, service)
    return _download(render_png(url, label), "image/png", f"qr-{hcode}-{service_code}.png")


@clinic.get("/facilities/<hcode>/qr/<service_code>.svg")
def qr_svg(hcode: str, service_code: str) -> PageResult:
    facility = scoped_facility(hcode)
    service = facilities.offered_service(db_session(), facility, service_code)
    url, label = _poster_link(facility, service)
    return _download(render_svg(url, label), "image/svg+xml", f"qr-{hcode}-{service_code}.svg")


@clinic.get("/facilities/<hcode>/poster.pdf")
def qr_poster(hcode: str) -> PageResult:
    facility = scoped_facility(hcode)
    session_ = db_session()
    codes = request.args.getlist("service")
    chosen = (
        [facilities.offered_service(session_, facility, c) for c in codes]
        if codes
        else facilities.offered(session_, facility)
    )
    if not chosen:
        raise DomainError("SERVICE_NOT_OFFERED")
    pdf = render_poster_pdf([_poster_link(facility, s) for s in chosen], official_account())
    return _download(pdf, "application/pdf", f"poster-{hcode}.pdf")


@clinic.get("/facilities/<hcode>/display/<service_code>")
def qr_display(hcode: str, service_code: str) -> PageResult:
    """The counter screen: a QR that refreshes itself and expires soon after."""
    facility = scoped_facility(hcode)
    service = facilities.offered_service(db_session(), facility, service_code)
    current = _display(facility, service)
    qr_src = "data:image/svg+xml;base64," + base64.b64encode(str(current["svg"]).encode()).decode()
    return render(
        "display.html",
        facility=facility,
        service=service,
        current=current,
        qr_src=qr_src,
        refresh=int(qr_tokens.DISPLAY_REFRESH.total_seconds()),
    )


@clinic.get("/facilities/<hcode>/display/<service_code>/current.json")
def qr_display_current(hcode: str, service_code: str) -> PageResult:
    facility = scoped_facility(hcode)
    service = facilities.offered_service(db_session(), facility, service_code)
    return jsonify(_display(facility, service))


def _display(facility: Facility, service: ServiceType) -> dict[str, object]:
    svc = services()
    token, expires_at = qr_tokens.sign_display(db_session(), svc.protector, facility, service.code)
    return {
        "svg": render_qr_svg(qr_tokens.qr_url(svc.settings.public_base_url, token)),
        "expiresAt": expires_at.isoformat(),
        "validSeconds": int((expires_at - utcnow()).total_seconds()),
        "refreshSeconds": int(qr_tokens.DISPLAY_REFRESH.total_seconds()),
    }


@clinic.get("/facilities/<hcode>/keys")
def qr_keys(hcode: str) -> PageResult:
    facility = scoped_facility(hcode, manage=True)
    keys = (
        db_session()
        .scalars(
            select(FacilityKey)
            .where(FacilityKey.facility_id == facility.id)
            .order_by(FacilityKey.id.desc())
        )
        .all()
    )
    return render("keys.html", facility=facility, keys=keys)


@clinic.post("/facilities/<hcode>/keys/rotate")
def qr_rotate(hcode: str) -> PageResult:
    facility = scoped_facility(hcode, manage=True)
    qr_tokens.rotate_key(db_session(), services().protector, facility, actor())
    return redirect(url_for("clinic.qr_keys", hcode=facility.hcode, rotated=1))


# A token's scope as staff read it (Thai, English), in the order the form offers them.
TOKEN_SCOPE_NAMES = {
    "his": ("ระบบโรงพยาบาล (HIS)", "Hospital system (HIS)"),
    "agent": ("เครื่องอ่านบัตร (Reader agent)", "Card-reader agent"),
    "kiosk": ("ตู้บริการ (Kiosk)", "Kiosk"),
}
# Kiosk tokens are made by registering a kiosk (clinic_qr/kiosk_admin.py), bound to it.
FORM_SCOPES = ("his", "agent")


def _tokens_page(facility: Facility, status: int = 200, **extra: object) -> tuple[str, int]:
    tokens = (
        db_session()
        .scalars(
            select(ApiToken).where(ApiToken.facility_id == facility.id).order_by(ApiToken.id.desc())
        )
        .all()
    )
    scopes = {scope: tr(*names) for scope, names in TOKEN_SCOPE_NAMES.items()}
    return render(
        "tokens.html",
        status,
        facility=facility,
        tokens=tokens,
        scopes=scopes,
        form_scopes=FORM_SCOPES,
        **extra,
    )


@clinic.route("/facilities/<hcode>/tokens", methods=["GET", "POST"])
def api_token_list(hcode: str) -> PageResult:
    facility = scoped_facility(hcode, manage=True)
    if request.method == "GET":
        return _tokens_page(facility)
    scope = request.form.get("scope", "his")
    try:
        if scope not in FORM_SCOPES:
            raise DomainError(api_tokens.TOKEN_SCOPE_UNKNOWN, scopes=", ".join(FORM_SCOPES))
        created = api_tokens.create_token(
            db_session(), facility, request.form.get("name", ""), actor(), scope
        )
    except DomainError as error:
        return _tokens_page(facility, error.http_status, error=error)
    return _tokens_page(
        facility,
        new_secret=created.secret,
        new_name=created.token.name,
        new_scope=created.token.scope,
    )


@clinic.post("/facilities/<hcode>/tokens/<int:token_id>/revoke")
def api_token_revoke(hcode: str, token_id: int) -> PageResult:
    facility = scoped_facility(hcode, manage=True)
    token = db_session().get(ApiToken, token_id)
    if token is None or token.facility_id != facility.id:
        raise DomainError("NOT_FOUND")
    api_tokens.revoke_token(db_session(), token, actor())
    return redirect(url_for("clinic.api_token_list", hcode=facility.hcode))
