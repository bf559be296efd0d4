"""The self-service kiosk's screen (/kiosk/) and its JSON API (/kiosk/api/).

The kiosk browser's credential is a secret in an http-only, same-site cookie limited to
/kiosk; it opens these routes only (the clinic's pages go by staff log-in, the APIs by
facility tokens). The page reads the card through the reader agent on the kiosk PC, as the
counter page does; these handlers check the read against the kiosk (authencode.services.kiosks).
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, render_template, request

from authencode.cid import mask_cid
from authencode.errors import DomainError
from authencode.models import AuthenCode, Kiosk
from authencode.services import kiosks
from authencode.services.agent import offered_services
from authencode.services.issuance import Issued
from authencode.services.people import person_cid
from authencode.thaidate import date_label, local
from authencode.web.context import db_session, services
from authencode.web.limits import check, client_ip
from clinic_qr.qr_render import render_qr_svg
from clinic_qr.visits import agent_url

kiosk_screen = Blueprint(
    "kiosk",
    __name__,
    url_prefix="/kiosk",
    template_folder="templates",
    static_folder="static/kiosk",
    static_url_path="/static",
)
kiosk_api = Blueprint("kiosk_api", __name__, url_prefix="/kiosk/api")

COOKIE = "kiosk_device"
COOKIE_LIFETIME = 10 * 365 * 24 * 3600  # the kiosk keeps its credential until revoked


def _browser_secret() -> str | None:
    return request.cookies.get(COOKIE)


def _kiosk() -> Kiosk:
    return kiosks.browser_kiosk(db_session(), _browser_secret())


@kiosk_screen.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@kiosk_api.after_request
def _no_store_api(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@kiosk_screen.get("/")
def screen() -> Response:
    """The kiosk's screen: its pairing code until an admin pairs it, then the visit flow."""
    session = db_session()
    settings = services().settings
    try:
        opened = kiosks.open_screen(session, _browser_secret())
    except DomainError as error:
        return make_response(render_template("kiosk/refused.html", error=error), error.http_status)
    kiosk = opened.kiosk
    if opened.pairing_code is not None:
        check("kiosk_pairing", client_ip())
        body = render_template("kiosk/pairing.html", code=opened.pairing_code)
    else:
        facility = kiosk.facility
        assert facility is not None  # a paired kiosk has its facility
        body = render_template(
            "kiosk/screen.html",
            facility=facility,
            services_json=[
                {"code": s.code, "name": s.name_th} for s in offered_services(session, facility.id)
            ],
            agent_url=agent_url(settings),
            idle_seconds=settings.kiosk_idle_seconds,
        )
    response = make_response(body)
    if opened.browser_secret is not None:
        response.set_cookie(
            COOKIE,
            opened.browser_secret,
            max_age=COOKIE_LIFETIME,
            path="/kiosk",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            samesite="Strict",
        )
    return response


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("BAD_REQUEST", detail="a JSON object is expected")
    return body


@kiosk_api.get("/status")
def status() -> Response:
    """Whether this browser is a live, paired kiosk (the pairing screen polls it)."""
    kiosk = _kiosk()
    return jsonify(paired=True, name=kiosk.name)


@kiosk_api.post("/visits")
def start_visit() -> Response:
    """A card was read through this kiosk's agent: greet, rights, today's code, the phone."""
    body = _json_body()
    session, svc = db_session(), services()
    kiosk = _kiosk()
    visit = kiosks.start_visit(
        session,
        svc.protector,
        svc.rights,
        kiosk,
        correlation_id=body.get("correlationId"),
        raw_cid=body.get("pid"),
    )
    person, rights = visit.person, visit.rights
    return jsonify(
        title=person.title_th,
        firstName=person.first_name_th,
        mainRight=rights.main.display_th,
        subRight=rights.sub.display_th if rights.sub else None,
        phoneMasked=visit.phone_masked,
        existing=_slip(visit.existing) if visit.existing else None,
    )


@kiosk_api.post("/codes")
def issue() -> Response:
    """Issue the kiosk code for the read; ``mobile`` absent uses the phone shown masked."""
    body = _json_body()
    kiosk = _kiosk()
    check("kiosk_code", str(kiosk.id))
    mobile = body.get("mobile")
    issued: Issued = kiosks.issue_kiosk_code(
        db_session(),
        services().protector,
        kiosk,
        correlation_id=body.get("correlationId"),
        raw_cid=body.get("pid"),
        service_code=str(body.get("claimType") or ""),
        mobile=mobile if isinstance(mobile, str) and mobile.strip() else None,
    )
    return jsonify(created=issued.created, **_slip(issued.code))


def _slip(code: AuthenCode) -> dict[str, Any]:
    """What the screen and the printed slip show of a code (the CID masked)."""
    svg = render_qr_svg(code.code)
    return {
        "code": code.code,
        "qr": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
        "facility": f"{code.facility.hcode} {code.facility.name}",
        "service": code.service.name_th,
        "serviceCode": code.service_code,
        "date": date_label(local(code.service_at).date()),
        "time": f"{local(code.service_at):%H:%M}",
        "maskedCid": mask_cid(person_cid(services().protector, code.person)),
    }
