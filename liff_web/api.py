"""/liff/api: the JSON API of the LIFF pages. Every call carries a LIFF ID token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from authencode.errors import DomainError
from authencode.models import Facility, FamilyLink, LineAccount
from authencode.services import (
    consent,
    conversations,
    counter_verify,
    line_accounts,
    link_trust,
    patient_codes,
    pcu_change,
    qr_tokens,
    registration,
)
from authencode.services import facilities as facility_services
from authencode.thaidate import local, service_day
from authencode.web.context import db_session, services
from authencode.web.limits import check
from clinic_qr.qr_render import render_qr_svg
from liff_web import thaid, views
from liff_web.state import liff_state as state
from linebot_app import notify

liff_api = Blueprint("liff_api", __name__, url_prefix="/liff/api")


@liff_api.before_request
def _authenticate() -> None:
    """Every call: verify the ID token; the LINE user is its `sub`, never a body field."""
    g.line_user = state().verifier.verify_header(request.headers.get("Authorization"))
    check("liff_user", g.line_user.user_id)  # per LINE user (per IP: liff_web.register)


def _account() -> LineAccount:
    account, _ = line_accounts.get_or_create_account(db_session(), g.line_user.user_id)
    return account


def _cid_lookup() -> None:
    """One more citizen ID looked up for this LINE user: 429 CID_LOOKUPS_EXCEEDED past the
    hour's limit (``cid_lookup``), before the registry is asked."""
    check("cid_lookup", g.line_user.user_id)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("BAD_REQUEST", detail="a JSON object is expected")
    return body


def _member(link: FamilyLink) -> dict[str, Any]:
    """One linked person, as much as the link's level allows (a pending link: almost nothing)."""
    session, svc = db_session(), services()
    view = None
    if link_trust.can(link, link_trust.ELIGIBILITY):
        view = registration.rights_view(session, svc.rights, services().registration, link)
    return views.member_json(svc.protector, link, view)


def _members(account: LineAccount) -> list[dict[str, Any]]:
    return [_member(link) for link in registration.links_of(db_session(), account)]


@liff_api.get("/me")
def me() -> Response:
    """Consent state and the persons this LINE account acts for."""
    account = _account()
    members = _members(account)
    return jsonify(
        {
            "consent": {
                "given": consent.is_current(account.consent_version),
                "version": consent.CONSENT_VERSION,
            },
            "self": next((m for m in members if m["is_self"]), None),
            "members": members,
            "max_family": registration.MAX_FAMILY_MEMBERS,
            "relations": list(registration.RELATIONS),
            "thaid": state().thaid is not None,
        }
    )


@liff_api.get("/consent")
def consent_text() -> Response:
    account = _account()
    return jsonify(
        version=consent.CONSENT_VERSION,
        title_th=consent.CONSENT_TITLE_TH,
        text_th=consent.CONSENT_TEXT_TH,
        given=consent.is_current(account.consent_version),
    )


@liff_api.post("/consent")
def decide_consent() -> Response:
    body = _body()
    account = _account()
    decision = str(body.get("decision") or "")
    version = str(body.get("version") or "")
    if decision == "accept":
        consent.accept(db_session(), account, version, channel="liff")
        # The confirmation in the chat also switches the rich menu to the member menu.
        notify.consent_given(db_session(), services().settings, account)
    elif decision == "decline":
        consent.decline(db_session(), account, version, channel="liff")
    else:
        raise DomainError("FIELD_INVALID", detail="decision: accept or decline")
    return jsonify(decision=decision, given=consent.is_current(account.consent_version))


WITHDRAW_CONFIRMATION = "withdraw"


@liff_api.post("/consent/withdraw")
def withdraw_consent() -> Response:
    """Withdraw consent (asked once on the page): the links and an unfinished dialogue go,
    codes, consent history and audit stay; told in the chat. Sent again (a double tap, two
    tabs at once) it answers the withdrawal already recorded."""
    if _body().get("confirm") != WITHDRAW_CONFIRMATION:
        raise DomainError("FIELD_INVALID", detail='confirm: "withdraw"')
    session, account = db_session(), _account()
    done = consent.withdraw_once(session, account, channel="liff")
    if done.created:
        conversations.finish_all(session, account)  # answers typed so far go too
        notify.consent_withdrawn(session, account)
    return jsonify(
        withdrawn=True,
        created=done.created,
        decided_at=views.moment_labels(done.record.decided_at),
    )


@liff_api.post("/register")
def register_self() -> Response:
    body = _body()
    _cid_lookup()
    session, account, protector = db_session(), _account(), services().protector
    # A retry finds the link made (only the mobile changes): confirmed in the chat once. Of
    # parallel first requests one makes the link, the others are refused (nothing sent).
    new = registration.self_link(session, account) is None
    link = registration.register_self(
        session,
        protector,
        account,
        body.get("cid"),
        body.get("phone"),
        body.get("birthDate"),
        services().registration,
    )
    notify.link_added(session, link)  # the person's own verified account is told or asked
    if new:
        notify.registered_on_liff(session, protector, link)
    answer: dict[str, Any] = {"member": _member(link)}
    if link.level == "pending":  # the ID is another LINE account's own: how to reclaim it
        answer["notice"] = {
            "code": "SELF_PENDING",
            "message": registration.SELF_PENDING_EN,
            "message_th": registration.SELF_PENDING_TH,
        }
    return jsonify(answer)


@liff_api.get("/members")
def list_members() -> Response:
    return jsonify(members=_members(_account()), max_family=registration.MAX_FAMILY_MEMBERS)


@liff_api.post("/members")
def add_member() -> Response:
    body = _body()
    _cid_lookup()
    link = registration.add_family_member(
        db_session(),
        services().protector,
        _account(),
        body.get("cid"),
        body.get("phone"),
        body.get("birthDate"),
        body.get("relation"),
        services().registration,
    )
    notify.link_added(db_session(), link)  # the person's own verified account is told or asked
    response = jsonify(member=_member(link))
    response.status_code = 201
    return response


@liff_api.delete("/members/<member_id>")
def remove_member(member_id: str) -> Response:
    registration.remove_family_member(db_session(), _account(), member_id)
    return jsonify(removed=True)


@liff_api.post("/members/<member_id>/thaid")
def start_thaid(member_id: str) -> Response:
    """Verify this link with ThaID: the URL to open (and a cookie binding this browser)."""
    return thaid.start(_account(), member_id)


@liff_api.post("/codes")
def request_code() -> Response:
    """Scanned clinic QR → today's code for the chosen person, also pushed to the chat."""
    body = _body()
    session, svc = db_session(), services()
    account = _account()
    issued, link = patient_codes.request_by_qr(
        session,
        svc.protector,
        account,
        body.get("member_id"),
        str(body.get("scanned") or ""),
        services().registration,
    )
    code = issued.code
    if issued.created:
        # Queued in this request's transaction: the push exists exactly when the code does.
        notify.code_issued(session, svc.protector, account, code)
        notify.code_for_person(session, code, link)  # the person told, if not this account
    response = jsonify(code=views.code_json(svc.protector, code), created=issued.created)
    response.status_code = 201 if issued.created else 200
    return response


@liff_api.get("/qr")
def qr_preview() -> Response:
    """What a clinic QR opened with the phone's camera asks for (facility and service), checked
    as a request would check it, before the patient asks: an expired QR is refused now."""
    _account()
    session = db_session()
    claim = qr_tokens.verify(session, services().protector, request.args.get("scanned", ""))
    facility = session.get(Facility, claim.facility_id)
    assert facility is not None  # the claim's key belongs to it
    service = facility_services.offered_service(session, facility, claim.service_code)
    return jsonify(
        hcode=facility.hcode,
        facility_name=facility.name,
        service_code=service.code,
        service_name_th=service.name_th,
        service_name_en=service.name_en,
        expires_at=views.moment_labels(claim.expires_at) if claim.expires_at else None,
    )


@liff_api.get("/codes")
def list_codes() -> Response:
    """Today's codes and the request history of the persons the account acts for."""
    session, svc = db_session(), services()
    account = _account()
    person_id = None
    if request.args.get("member_id"):
        link = registration.get_link(session, account, request.args["member_id"])
        link_trust.require(link, link_trust.OWN_HISTORY)
        person_id = link.person_id
    today = patient_codes.codes_for_account(
        session, account, person_id=person_id, day=service_day()
    )
    history = patient_codes.codes_for_account(session, account, person_id=person_id)
    return jsonify(
        today=[views.code_json(svc.protector, c) for c in today],
        history=[views.code_json(svc.protector, c) for c in history],
    )


@liff_api.get("/members/<member_id>/rights")
def member_rights(member_id: str) -> Response:
    """Main and sub right, registered units, and the unit changes used this fiscal year;
    through an unverified link only whether the right allows the service."""
    session, svc = db_session(), services()
    link = registration.get_link(session, _account(), member_id)
    view = registration.rights_view(session, svc.rights, services().registration, link)
    if view.detail is None:
        return jsonify(views.eligibility_json(svc.protector, link, view))
    status = pcu_change.status_for(session, link.person)
    names = pcu_change.facility_names(session, [status.pending] if status.pending else [])
    return jsonify(
        views.rights_json(svc.protector, link, view.detail, status, names, view.eligible)
    )


@liff_api.get("/facilities")
def facilities() -> Response:
    _account()
    found = pcu_change.search_facilities(db_session(), request.args.get("q", ""))
    return jsonify(facilities=[views.facility_json(f) for f in found])


@liff_api.post("/pcu-changes")
def request_pcu_change() -> Response:
    body = _body()
    session = db_session()
    account = _account()
    consent.require_consent(account)
    link = registration.get_link(session, account, body.get("member_id"))
    row = pcu_change.request_change(session, link, body.get("hcode"))
    response = jsonify(request=views.pcu_request_json(row))
    response.status_code = 201
    return response


@liff_api.post("/members/<member_id>/verification-code")
def verification_code(member_id: str) -> Response:
    """A one-time code (6 digits, and as a QR) to verify this link at a clinic counter."""
    session, svc = db_session(), services()
    account = _account()
    consent.require_consent(account)
    link = registration.get_link(session, account, member_id)
    issued = counter_verify.issue_code(session, svc.protector, link)
    response = jsonify(
        code=issued.code,
        qr_svg=render_qr_svg(issued.code),
        expires_at=local(issued.expires_at).isoformat(timespec="seconds"),
        ttl_seconds=int(counter_verify.CODE_TTL.total_seconds()),
    )
    response.status_code = 201
    return response
