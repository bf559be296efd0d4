"""/liff/api: the holder's own data (PDPA access) and erasing it (issue 22).

Only ever the authenticated account's own: the LINE user is the ID token's `sub`, and no
route takes an account, a person or a link from the request.
"""

from __future__ import annotations

from flask import Response, jsonify

from authencode.errors import DomainError
from authencode.services import consent, erasure, my_data
from authencode.web.context import db_session, services
from liff_web.api import _account, _body, liff_api
from linebot_app import notify

ERASE_CONFIRMATION = "erase"


@liff_api.get("/my-data")
def my_data_view() -> Response:
    """Everything the service holds about the holder; the JSON download is this answer."""
    settings = services().settings
    answer = my_data.collect(db_session(), services().protector, _account())
    answer["withdrawal_terms"] = consent.withdrawal_terms(
        settings.retention.withdrawn_accounts.days
    )
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@liff_api.post("/my-data/erase")
def erase_my_data() -> Response:
    """Erase the holder's data; the confirmation goes to the chat once, with the erasure."""
    if _body().get("confirm") != ERASE_CONFIRMATION:
        raise DomainError("FIELD_INVALID", detail='confirm: "erase"')
    session, account = db_session(), _account()
    done = erasure.erase(session, account, channel="liff")
    if done.created:
        notify.data_erased(session, account, done.request)
    return jsonify(erasure=my_data.erasure_json(done.request), created=done.created)
