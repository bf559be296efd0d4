"""A facility's kiosks on the clinic app: pair one (the code its screen shows), list them
with when they were last seen, and revoke one at once. Facility admins only."""

from __future__ import annotations

from flask import redirect, request, url_for

from authencode.errors import DomainError
from authencode.models import Facility, Kiosk
from authencode.services import kiosks
from authencode.web.context import db_session, services
from clinic_qr.facility_pages import scoped_facility
from clinic_qr.visits import agent_url
from clinic_qr.web import PageResult, actor, clinic, render


def _page(facility: Facility, status: int = 200, **extra: object) -> PageResult:
    return render(
        "kiosks.html",
        status,
        facility=facility,
        kiosks=kiosks.facility_kiosks(db_session(), facility),
        last_seen=kiosks.last_seen,
        public_base_url=services().settings.public_base_url,
        agent_url=agent_url(services().settings),
        form=request.form,
        **extra,
    )


@clinic.route("/facilities/<hcode>/kiosks", methods=["GET", "POST"])
def kiosk_list(hcode: str) -> PageResult:
    facility = scoped_facility(hcode, manage=True)
    if request.method == "GET":
        return _page(facility)
    try:
        paired = kiosks.pair(
            db_session(),
            facility,
            request.form.get("name", ""),
            actor(),
            request.form.get("pairing_code"),
        )
    except DomainError as error:
        return _page(facility, error.http_status, error=error)
    return _page(facility, new_kiosk=paired.kiosk, new_secret=paired.token_secret)


@clinic.post("/facilities/<hcode>/kiosks/<int:kiosk_id>/revoke")
def kiosk_revoke(hcode: str, kiosk_id: int) -> PageResult:
    facility = scoped_facility(hcode, manage=True)
    kiosk = db_session().get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.facility_id != facility.id:
        raise DomainError("NOT_FOUND")
    kiosks.revoke(db_session(), kiosk, actor())
    return redirect(url_for("clinic.kiosk_list", hcode=facility.hcode))
