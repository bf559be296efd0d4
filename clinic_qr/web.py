"""The clinic blueprint: language, CSRF, signed-in staff, error pages and security headers.

Every POST carries the session's CSRF token (Flask-WTF's CSRFProtect, checked here for the
clinic's blueprint only: the JSON APIs authenticate by token and the LINE webhook by
signature); every page but the public ones needs a live server-side session (idle timeout)
and, after a first login, a changed password.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote_plus, urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from authencode import reference, thaidate
from authencode.cid import mask_cid
from authencode.errors import DomainError, register
from authencode.models import StaffUser
from authencode.services import mail, staff_access, staff_auth
from authencode.services.login_throttle import DeviceCookies
from authencode.settings import LoginPolicy
from authencode.web.context import db_session, services
from clinic_qr.person_lookup import REF_PARAM, holds_cid, query_without_cids

log = logging.getLogger(__name__)

clinic = Blueprint(
    "clinic",
    __name__,
    url_prefix="/clinic",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

CSRF_INVALID = register(
    "CSRF_INVALID",
    "invalid",
    "This form has expired or did not come from this site. Please reload the page and try again.",
    "แบบฟอร์มหมดอายุหรือไม่ได้ส่งมาจากเว็บไซต์นี้ กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง",
)
SESSION_EXPIRED = register(
    "SESSION_EXPIRED",
    "unauthorized",
    "Your session has ended. Please log in again.",
    "หมดเวลาการใช้งาน กรุณาเข้าสู่ระบบใหม่อีกครั้ง",
)
LOGIN_REQUIRED = register("LOGIN_REQUIRED", "unauthorized", "Please log in.", "กรุณาเข้าสู่ระบบ")

# The form's token is the session's (rotated at log-in), signed; it lasts as long as the
# session, as the hand-written check did, and no Referer is required over HTTPS.
csrf = CSRFProtect()
CSRF_CONFIG = {
    "WTF_CSRF_CHECK_DEFAULT": False,  # only the clinic's pages: _before calls csrf.protect()
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": False,
}

LANGUAGES = ("th", "en")
DEVICE_COOKIE = "clinic_device"
F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R", bound=BaseResponse)
PageResult = ResponseReturnValue


def public(view: F) -> F:
    """Mark a view as reachable without signing in."""
    view.clinic_public = True  # type: ignore[attr-defined]
    return view


def lang() -> str:
    chosen = session.get("lang")
    return chosen if isinstance(chosen, str) and chosen in LANGUAGES else "th"


def tr(thai: str, english: str) -> str:
    """Thai first; English when the visitor switched to it."""
    return english if lang() == "en" else thai


def init_csrf(app: Flask) -> None:
    for key, value in CSRF_CONFIG.items():
        app.config.setdefault(key, value)
    csrf.init_app(app)


def csrf_token() -> str:
    """The token a form sends back (signed from the session's, which is made on first use)."""
    return generate_csrf()


def policy() -> LoginPolicy:
    """The log-in policy, read from the environment once at start-up (Settings.login)."""
    return services().settings.login


def device_cookies() -> DeviceCookies:
    return DeviceCookies(services().settings.secret_key, policy().device_lifetime)


def remember_device(response: R, value: str) -> R:
    """Set the browser's device cookie: log-ins from it skip the throttles others caused."""
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(policy().device_lifetime.total_seconds()),
        path=url_for("clinic.home"),
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Strict",
    )
    return response


def staff() -> StaffUser:
    """The signed-in account (views behind the login check only)."""
    return g.clinic_staff


def actor() -> str:
    return f"staff:{staff().id}"


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"clinic/{template}", **context), status


def mail_after_commit() -> None:
    """Try to send queued email once the request's transaction has committed."""
    g.clinic_mail_queued = True


def safe_next(target: str | None) -> str:
    """Only a path inside the clinic app, never another site, nor one with a CID in it."""
    if target and not holds_cid(unquote_plus(target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/clinic/"):
            return target
    return url_for("clinic.home")


def begin_login(sid: str) -> None:
    """A fresh session for the signed-in account: new id, new CSRF token."""
    language = lang()
    session.clear()  # the CSRF token too: the next form gets a new one
    g.pop("csrf_token", None)  # (CSRFProtect's per-request copy of the old one)
    session["sid"] = sid
    session["lang"] = language


def end_login() -> None:
    language = lang()
    session.clear()
    session["lang"] = language


def label(kind: str, key: str) -> str:
    """A stored key's label in the page's language (kind: a table of LABELS)."""
    return reference.label(LABELS[kind], key, lang())


def labels(kind: str) -> dict[str, str]:
    """A whole table of labels in the page's language (for a view's template)."""
    return {key: label(kind, key) for key in LABELS[kind]}


def audit_label(action: str, details: dict[str, object]) -> str:
    return reference.audit_label(action, details, lang())


# The label tables the pages read (all defined in authencode.reference).
LABELS = {
    "audit": reference.AUDIT_ACTIONS,
    "channel": reference.CHANNEL_LABELS,
    "code_status": reference.CODE_STATUS_LABELS,
    "erasure": reference.ERASURE_STATUSES,
    "key": reference.CREDENTIAL_STATUSES,
    "kiosk": reference.CREDENTIAL_STATUSES,
    "link_level": reference.LINK_LEVELS,
    "method": reference.METHOD_LABELS,
    "pcu": reference.PCU_REQUEST_STATUSES,
    "staff": reference.STAFF_STATUSES,
    "token": reference.CREDENTIAL_STATUSES,
}


@clinic.app_template_global("tr")
def _tr(thai: str, english: str) -> str:
    return tr(thai, english)


@clinic.context_processor
def _context() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "lang": lang(),
        "me": g.get("clinic_staff"),
        "date_label": lambda day: thaidate.date_label(day, lang()),
        "numeric_date": lambda day: thaidate.numeric_date(day, lang()),
        "datetime_label": lambda moment: thaidate.datetime_label(moment, lang()),
        "label": label,
        "audit_label": audit_label,
        "mask_cid": mask_cid,
        "role_name": lambda role: tr(*staff_access.ROLE_NAMES.get(role, (role, role))),
        "can_view": staff_access.can_view_facility,
        "can_manage": staff_access.can_manage_facility,
    }


@clinic.before_request
def _before() -> ResponseReturnValue | None:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    if request.method == "POST":
        try:
            csrf.protect()
        except CSRFError:
            return _error_page(DomainError(CSRF_INVALID))
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint == "clinic.static" or getattr(view, "clinic_public", False):
        return None
    had_session = "sid" in session
    account = staff_auth.session_staff(db_session(), session.get("sid"), policy())
    if account is None:
        end_login()
        error = DomainError(SESSION_EXPIRED if had_session else LOGIN_REQUIRED)
        if _wants_json():
            return _json_error(error)
        return redirect(
            url_for(
                "clinic.login",
                next=_return_path(),
                expired=1 if had_session else None,
            )
        )
    g.clinic_staff = account
    if account.must_change_password and request.endpoint not in (
        "clinic.change_password",
        "clinic.logout",
    ):
        return redirect(url_for("clinic.change_password"))
    return None


@clinic.after_request
def _after(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    if response.status_code >= 400:
        g.pop("clinic_mail_queued", None)
    return response


@clinic.teardown_request
def _send_queued_mail(exc: BaseException | None) -> None:
    # Teardown runs after the transaction committed (the app's after_request). Sending is a
    # background thread so a slow mail server never delays the page; it is best effort and
    # what fails stays pending for the worker. (Not response.call_on_close: a development
    # server skips that when the browser drops the connection right after a redirect.)
    if g.pop("clinic_mail_queued", False) and exc is None:
        threading.Thread(
            target=_deliver_mail, args=(services(),), name="clinic-mail", daemon=True
        ).start()


def _deliver_mail(svc: Any) -> None:
    # Best effort right after the commit; whatever fails stays pending for the worker.
    try:
        mail.deliver_due_email(
            svc.db,
            svc.settings.smtp_url,
            svc.protector,
            log_only=svc.settings.environment == "development",
        )
    except Exception:
        log.exception("sending queued mail after the request failed; the worker retries")


def _return_path() -> str:
    """Where a log-in comes back to: this page, without a CID or a lookup reference (the
    reference is this session's, refused in the next one)."""
    if holds_cid(request.path):
        return url_for("clinic.home")
    kept = query_without_cids(request.args.items(multi=True), drop=(REF_PARAM,))
    return request.path + ("?" + urlencode(kept) if kept else "")


def _wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def _json_error(error: DomainError) -> Response:
    response = jsonify({"error": error.to_dict()})
    response.status_code = error.http_status
    return response


def _error_page(error: DomainError) -> tuple[str, int]:
    return render("error.html", error.http_status, error=error)


@clinic.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response | tuple[str, int]:
    if _wants_json():
        return _json_error(error)
    return _error_page(error)


@clinic.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    return _error_page(DomainError("BODY_TOO_LARGE"))
