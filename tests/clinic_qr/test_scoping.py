"""Facility scoping: staff of facility A can neither see nor change facility B's data.

Every route of the clinic blueprint is tried, read from the application's url_map, so a new
route is covered the day it is added.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from authencode.models import (
    ApiToken,
    AuthenCode,
    Facility,
    FacilityKey,
    FacilityService,
    Kiosk,
    StaffUser,
)
from authencode.ratelimit import parse_limits
from authencode.services import kiosks, visits
from authencode.settings import Settings
from tests.support.clinic import ClinicClient, World, png_bytes
from tests.support.factories import make_person

# Reachable without an account; they show nothing of any facility's data but the list of
# facilities a person may register with.
PUBLIC = {
    "clinic.login",
    "clinic.register",
    "clinic.forgot_password",
    "clinic.reset_password",
    "clinic.static",
}
# Routes without a facility in them that act on the caller's own session only.
OWN_SESSION = {"clinic.logout", "clinic.change_password"}
# The registry office's pages: no facility's, and refused to facility accounts.
REGISTRY_OFFICE = {"clinic.pcu_changes", "clinic.erasures"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No log-in rate limit: the walk below logs in afresh for every route (dozens a minute)."""
    return settings.with_overrides(rate_limits=parse_limits("off"))


@pytest.fixture
def clinic_world(clinic_world: World, protector) -> World:
    """The shared world plus one visit confirmed with a photo at each facility."""
    with clinic_world.db.transaction() as session:
        for side, hcode in (("a", clinic_world.a_hcode), ("b", clinic_world.b_hcode)):
            person = make_person(session, protector)
            request = visits.VisitRequest(
                method="cid_photo",
                cid=protector.decrypt(person.cid_enc),
                phones="0812345678",
                service_code="PG0060001",
                photo=png_bytes(),
            )
            issued = visits.confirm_visit(
                session, protector, clinic_world.ids[f"{side}-staff"], hcode, request
            )
            clinic_world.ids[f"{side}_code"] = issued.code.id
            facility = session.get_one(Facility, clinic_world.ids[f"{side}_facility"])
            clinic_world.ids[f"{side}_kiosk"] = kiosks.pair(
                session, facility, f"{side} kiosk", "test"
            ).kiosk.id
    return clinic_world


def _clinic_rules(app) -> list[Any]:
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("clinic.") and r.endpoint not in PUBLIC
    ]


def _url(rule, values: dict[str, Any]) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", str(values[name])).replace(
            f"<{name}>", str(values[name])
        )
    return path


def _values(world: World, side: str) -> dict[str, Any]:
    return {
        "hcode": world.a_hcode if side == "a" else world.b_hcode,
        "staff_id": world.ids[f"{side}-pending"],
        "token_id": world.ids[f"{side}_token"],
        "service_code": "PG0060001",
        "code_id": world.ids[f"{side}_code"],
        "request_id": 1,
        "kiosk_id": world.ids[f"{side}_kiosk"],
    }


def _b_state(world: World) -> tuple[Any, ...]:
    """Everything of facility B a request could change."""
    b = world.ids["b_facility"]
    with world.db.transaction() as session:
        staff = session.execute(
            select(
                StaffUser.id,
                StaffUser.role,
                StaffUser.status,
                StaffUser.password_hash,
                StaffUser.pin_hash,
            )
            .where(StaffUser.facility_id == b)
            .order_by(StaffUser.id)
        ).all()
        services = session.execute(
            select(FacilityService.service_code, FacilityService.active)
            .where(FacilityService.facility_id == b)
            .order_by(FacilityService.service_code)
        ).all()
        keys = session.execute(
            select(FacilityKey.kid, FacilityKey.revoked_at)
            .where(FacilityKey.facility_id == b)
            .order_by(FacilityKey.id)
        ).all()
        tokens = session.execute(
            select(ApiToken.id, ApiToken.revoked_at)
            .where(ApiToken.facility_id == b)
            .order_by(ApiToken.id)
        ).all()
        codes = session.execute(
            select(
                AuthenCode.id,
                AuthenCode.status,
                AuthenCode.service_code,
                AuthenCode.phones,
                AuthenCode.hn,
                AuthenCode.an,
            )
            .where(AuthenCode.facility_id == b)
            .order_by(AuthenCode.id)
        ).all()
        kiosk_rows = session.execute(
            select(Kiosk.id, Kiosk.facility_id, Kiosk.revoked_at)
            .where(Kiosk.facility_id == b)
            .order_by(Kiosk.id)
        ).all()
    return tuple(map(tuple, (staff, services, keys, tokens, codes, kiosk_rows)))


# Form fields a POST could carry, so a refusal comes from the scope check, not a bad form.
FORM = {
    "role": "facility_admin",
    "active": "0",
    "name": "taken over",
    "service": "PG0130001",
    "hcode": "10676",
    "current_password": "x",
    "new_password": "y" * 12,
    "confirm_password": "y" * 12,
    "reason": "taken over",
    "cancel_reason": "taken over",
    "phones": "0899999999",
    "hn": "HN1",
    "method": "cid_photo",
    "cid": "1101700207030",
}


def test_every_clinic_route_is_tried(app) -> None:
    endpoints = {r.endpoint for r in _clinic_rules(app)}
    # a guard that the url_map walk below really sees the staff routes
    assert {
        "clinic.qr_png",
        "clinic.qr_rotate",
        "clinic.staff_approve",
        "clinic.api_token_revoke",
        "clinic.facility_services",
        "clinic.visit_confirm",
        "clinic.record_cancel",
        "clinic.record_edit",
        "clinic.report_csv",
    } <= endpoints


@pytest.mark.parametrize("username", ["a-admin", "a-staff"])
def test_facility_a_cannot_see_or_change_facility_b(app, clinic_world, username) -> None:
    world = clinic_world
    before = _b_state(world)
    b_markers = ("10676", "รพ.ปลายทาง", "b-admin", "b-staff", "b-pending", "b HIS")
    leaks: list[str] = []
    for rule in _clinic_rules(app):
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            cc = ClinicClient(app.test_client())
            assert cc.login(username).status_code == 302
            url = _url(rule, _values(world, "b"))
            response = cc.get(url) if method == "GET" else cc.post(url, FORM)
            body = (
                response.get_data(as_text=True)
                if response.mimetype in ("text/html", "application/json", "image/svg+xml")
                else ""
            )
            if rule.arguments:
                if response.status_code not in (403, 404):
                    leaks.append(f"{method} {url}: {response.status_code}")
            elif any(marker in body for marker in b_markers):
                leaks.append(f"{method} {url}: shows facility B")
            if _b_state(world) != before:
                leaks.append(f"{method} {url}: changed facility B")
                before = _b_state(world)
    assert leaks == []


def test_the_same_routes_work_for_facility_a_itself(app, clinic_world) -> None:
    """The control: the refusals above come from scoping, not from broken URLs."""
    cc = ClinicClient(app.test_client())
    cc.login("a-admin")
    failures = []
    for rule in _clinic_rules(app):
        if "GET" not in (rule.methods or set()) or rule.endpoint in OWN_SESSION:
            continue
        url = _url(rule, _values(clinic_world, "a"))
        response = cc.get(url)
        # the factory's pending account has no document
        expected = 404 if rule.endpoint == "clinic.staff_document" else 200
        if rule.endpoint in REGISTRY_OFFICE:
            expected = 403
        if response.status_code != expected:
            failures.append(f"GET {url}: {response.status_code}")
    assert failures == []


def test_system_admins_see_every_facility(app, clinic_world) -> None:
    cc = ClinicClient(app.test_client())
    cc.login("root")
    listing = cc.get("/clinic/facilities").get_data(as_text=True)
    assert "10675" in listing and "10676" in listing
    assert cc.get("/clinic/facilities/10676/keys").status_code == 200
    queue = cc.get("/clinic/staff").get_data(as_text=True)
    assert 'data-username="a-pending"' in queue and 'data-username="b-pending"' in queue


def test_only_system_admins_create_facilities(app, clinic_world) -> None:
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    assert admin.post("/clinic/facilities", {"hcode": "10999", "name": "ใหม่"}).status_code == 403
    root = ClinicClient(app.test_client())
    root.login("root")
    created = root.post("/clinic/facilities", {"hcode": "10999", "name": "รพ.สต.ใหม่"})
    assert created.status_code == 302 and created.headers["Location"].endswith(
        "/clinic/facilities/10999"
    )
    bad = root.post("/clinic/facilities", {"hcode": "12", "name": "x"})
    assert bad.status_code == 400 and "รหัสหน่วยบริการต้องเป็นตัวเลข 5 หลัก" in bad.get_data(as_text=True)
    assert (
        root.post(
            "/clinic/facilities/10999/services", {"service": ["PG0060001", "PG0150001"]}
        ).status_code
        == 302
    )
    qr = root.get("/clinic/facilities/10999/qr").get_data(as_text=True)
    assert 'data-service="PG0150001"' in qr and 'data-service="PG0090001"' not in qr
