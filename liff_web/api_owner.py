"""/liff/api: the person's own say, from their verified own LINE account (issue 17).

Who has linked them (relation, level, since when; the project keeps no LINE display names,
so each is "another LINE account"), removing any of those links, approving or declining a
pending one, and "this was not me" about a code another account asked for in their name.
"""

from __future__ import annotations

from flask import Response, jsonify

from authencode.errors import DomainError
from authencode.models import FamilyLink
from authencode.reference import RELATION_LABELS, labelled
from authencode.services import link_approvals, person_say
from authencode.thaidate import date_label, local
from authencode.web.context import db_session, services
from liff_web import views
from liff_web.api import _account, _body, liff_api
from linebot_app import notify

Json = views.Json


def _link_json(link: FamilyLink, approval_ids: dict[int, int]) -> Json:
    return {
        "id": link.id,
        "account_th": notify.OTHER_ACCOUNT_TH,
        "account_en": notify.OTHER_ACCOUNT_EN,
        "is_self": link.slot == 0,
        "relation": link.relation,
        **labelled("relation", RELATION_LABELS, link.relation),
        "level": link.level,
        "level_th": notify.LEVELS_TH.get(link.level, link.level),
        "since": local(link.created_at).date().isoformat(),
        "since_be": notify.since_th(link),
        "since_en": date_label(local(link.created_at).date(), "en"),
        "approval_id": approval_ids.get(link.id),
    }


@liff_api.get("/linked-by")
def linked_by() -> Response:
    """Other accounts' links to the holder, and the codes they asked for in the holder's name."""
    session, protector = db_session(), services().protector
    account = _account()
    links = person_say.linked_by(session, account)
    approvals = {a.link_id: a.id for a in link_approvals.open_for(session, account)}
    codes = person_say.codes_through_others(session, account)
    return jsonify(
        links=[_link_json(link, approvals) for link in links],
        codes=[
            {
                **views.code_json(protector, code),
                "id": code.id,
                "disputed": code.disputed_at is not None,
            }
            for code in codes
        ],
    )


@liff_api.delete("/linked-by/<link_id>")
def remove_linked_by(link_id: str) -> Response:
    person_say.remove_link(db_session(), _account(), link_id)
    return jsonify(removed=True)


@liff_api.post("/not-me")
def not_me() -> Response:
    """ "This was not me" about a code: the account that asked loses its link to the holder,
    and its codes in the holder's name are flagged for the facility's review."""
    body = _body()
    result = person_say.not_me(db_session(), _account(), code_id=body.get("code_id"))
    return jsonify(
        removed_link=result.removed is not None,
        flagged=[code.code for code in result.flagged],
        message_th=notify.not_me_done(result),
        message_en=notify.not_me_done(result, "en"),
    )


@liff_api.post("/approvals/<approval_id>")
def decide_approval(approval_id: str) -> Response:
    body = _body()
    session, account = db_session(), _account()
    decision = str(body.get("decision") or "")
    if decision == "approve":
        outcome = link_approvals.approve(session, approval_id, account)
        # Approving another account as oneself moves the person there: both are told.
        notify.self_link_reclaimed(session, outcome.link, outcome.displaced_account_ids)
    elif decision == "decline":
        closed = link_approvals.decline(session, approval_id, account)
        if closed is not None:
            notify.approval_ended(session, closed, expired=False)
    else:
        raise DomainError("FIELD_INVALID", detail="decision: approve or decline")
    return jsonify(decision=decision)
