"""Verify a patient's link at the counter: type or scan the code from their LINE, check the ID
card (reader agent or by eye), confirm (the rules: authencode.services.counter_verify).

Wrong codes are counted per staff member and per facility (rate rules ``verify_code_staff``,
``verify_code_facility``); past either limit the page refuses codes for the rest of the hour.
"""

from __future__ import annotations

from flask import g, request

from authencode.errors import DomainError
from authencode.models import Facility, Person
from authencode.ratelimit import VERIFY_CODES_EXCEEDED, RateLimitedError
from authencode.reference import FAMILY_RELATIONS
from authencode.services import counter_verify, registration
from authencode.services.people import person_masked_cid
from authencode.thaidate import MONTHS_SHORT, MONTHS_SHORT_EN, display_year, service_day
from authencode.web.context import db_session, services
from authencode.web.limits import limiter
from authencode.web.metrics import note_rate_limited
from clinic_qr.facility_pages import scoped_facility
from clinic_qr.visits import agent_url
from clinic_qr.web import PageResult, clinic, lang, render, staff, tr
from linebot_app import notify

# A wrong, expired or used code counts as a guess; a mistyped length does not.
_GUESSES = (
    counter_verify.VERIFY_CODE_UNKNOWN,
    counter_verify.VERIFY_CODE_EXPIRED,
    counter_verify.VERIFY_CODE_USED,
)


def _guess_keys(facility: Facility) -> tuple[tuple[str, str], ...]:
    return (("verify_code_staff", str(staff().id)), ("verify_code_facility", str(facility.id)))


def _refuse_when_over(facility: Facility) -> None:
    """Past the hour's wrong codes for this staff member or facility: refuse before looking."""
    rate = limiter()
    for rule, key in _guess_keys(facility):
        limit = rate.limits.get(rule, 0)
        decision = rate.hit(rule, key, cost=0)
        if limit and decision.count >= limit:
            note_rate_limited(rule)
            g.retry_after = decision.retry_after  # the Retry-After header of the 429 page
            raise RateLimitedError(decision.retry_after, VERIFY_CODES_EXCEEDED)


def _count_guess(facility: Facility) -> None:
    for rule, key in _guess_keys(facility):
        limiter().hit(rule, key)


def _look_up(facility: Facility, code: str) -> counter_verify.CounterCase:
    _refuse_when_over(facility)
    try:
        return counter_verify.look_up(db_session(), services().protector, code)
    except DomainError as error:
        if error.code in _GUESSES:
            _count_guess(facility)
        raise


def _page(
    facility: Facility,
    *,
    case: counter_verify.CounterCase | None = None,
    error: DomainError | None = None,
    code: str = "",
    done: bool = False,
) -> PageResult:
    protector = services().protector
    masked = {}
    if case is not None:
        masked = {
            p.id: person_masked_cid(protector, p)
            for p in (case.person, case.guardian)
            if p is not None
        }
    return render(
        "verify.html",
        error.http_status if error else 200,
        facility=facility,
        case=case,
        error=error,
        code=code,
        done=done,
        masked=masked,
        today=service_day(),
        relations=registration.RELATIONS,
        relation_labels={r.code: tr(r.label_th, r.label_en) for r in FAMILY_RELATIONS},
        birth_label=birth_label,
        agent_url=agent_url(services().settings),
        texts=_texts(),
        form=request.form,
    )


def birth_label(person: Person) -> str:
    """The registry's birth date in the page's language and calendar (BE in Thai), leaving
    out an unknown day or month."""
    language = lang()
    months = MONTHS_SHORT_EN if language == "en" else MONTHS_SHORT
    parts = [str(person.birth_day)] if person.birth_day and person.birth_month else []
    if person.birth_month:
        parts.append(months[person.birth_month - 1])
    return " ".join([*parts, str(display_year(person.birth_year, language))])


def _texts() -> dict[str, str]:
    return {
        "noAgent": tr(
            "ไม่พบโปรแกรมอ่านบัตร (reader agent) ที่เครื่องนี้ ตรวจบัตรด้วยตนเองแทนได้",
            "No reader agent on this PC; check the card by eye instead.",
        ),
        "noReader": tr(
            "ไม่พบเครื่องอ่านบัตร ตรวจบัตรด้วยตนเองแทนได้",
            "No card reader found; check the card by eye instead.",
        ),
        "noCard": tr(
            "ไม่พบบัตรในเครื่องอ่านบัตร กรุณาเสียบบัตรประชาชน", "No card in the reader; insert the ID card."
        ),
        "reading": tr("กำลังอ่านบัตร…", "Reading the card…"),
        "readOk": tr(
            "อ่านบัตรแล้ว กดยืนยันเพื่อตรวจว่าตรงกับบุคคลนี้",
            "Card read; confirm to check it is this person's.",
        ),
        "readFailed": tr("อ่านบัตรไม่สำเร็จ", "Could not read the card"),
    }


@clinic.route("/facilities/<hcode>/verify", methods=["GET", "POST"])
def verify_link(hcode: str) -> PageResult:
    """GET: the code field; POST: the code's person and what to check before confirming."""
    facility = scoped_facility(hcode)
    if request.method == "GET":
        return _page(facility)
    code = request.form.get("code", "")
    try:
        case = _look_up(facility, code)
    except DomainError as error:
        return _page(facility, error=error, code=code)
    return _page(facility, case=case, code=counter_verify.parse_code(code))


@clinic.post("/facilities/<hcode>/verify/confirm")
def verify_confirm(hcode: str) -> PageResult:
    """Verify the link: the card read must be the person's (or the guardian's)."""
    facility = scoped_facility(hcode)
    f = request.form
    code = f.get("code", "")
    card_check = f.get("card_check", "")
    if card_check == "eye" and not f.get("eye_checked"):
        card_check = ""
    check = counter_verify.CounterCheck(
        card_check, f.get("correlation_id", ""), f.get("relation", "")
    )
    session = db_session()
    _refuse_when_over(facility)
    try:
        result = counter_verify.confirm(
            session, services().protector, code, check, staff_id=staff().id, facility=facility
        )
    except DomainError as error:
        if error.code in _GUESSES:
            _count_guess(facility)
        if error.code == counter_verify.VERIFY_CARD_MISMATCH:
            session.commit()  # keep the refusal counted against the code, and its audit entry
        try:
            case = counter_verify.look_up(session, services().protector, code)
        except DomainError:
            return _page(facility, error=error, code=code)
        return _page(facility, case=case, error=error, code=code)
    notify.link_verified(
        session, result.case.link, method="counter", displaced=result.verified.displaced_account_ids
    )
    return _page(facility, case=result.case, done=True)
