"""The instance's own pages: the landing page, liveness and readiness."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import text
from werkzeug.routing import BuildError

from authencode.errors import DomainError
from authencode.qr_svg import render_qr_svg
from authencode.settings import DEV_LINE_BASIC_ID
from authencode.web.context import services
from authencode.web.errors import error_response

core_pages = Blueprint(
    "core",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets/core",
)

# The landing page's links into the front ends, by endpoint (a front end that is not
# installed or not enabled, such as the simulator outside development, is left out):
# (endpoint, Thai, English). Staff's way in is shown everywhere; the rest in development only.
STAFF_LINKS = (
    ("clinic.login", "เข้าสู่ระบบเจ้าหน้าที่", "Staff log-in"),
    ("clinic.register", "ขอบัญชีเจ้าหน้าที่ใหม่", "Request a staff account"),
)
DEVELOPMENT_LINKS = (
    ("dev_line.page", "จำลองแอป LINE (แชท ริชเมนู)", "LINE simulator (chat, rich menu)"),
    ("liff_pages.request", "หน้า LIFF (จำลอง LIFF)", "LIFF pages (LIFF mock)"),
    ("clinic.home", "เว็บเจ้าหน้าที่หน่วยบริการ", "Clinic web app"),
    ("kiosk.screen", "หน้าจอตู้บริการ (Kiosk)", "Kiosk screen"),
    (
        "dev_thaid.discovery",
        "ThaID จำลอง (เปิดจากปุ่ม ThaID ในหน้าครอบครัว)",
        "Development ThaID (opened by the family page's ThaID button)",
    ),
    ("openapi.openapi", "เอกสาร API (OpenAPI)", "API description (OpenAPI)"),
)

CORE_PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {"summary": "Process alive", "responses": {"200": {"description": "alive"}}}
    },
    "/readyz": {
        "get": {
            "summary": "Database reachable",
            "responses": {
                "200": {"description": "ready"},
                "503": {
                    "description": "database unavailable",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
    },
}


@core_pages.get("/")
def index() -> str:
    """The landing page: what this is, how a patient adds the LINE account, where staff log
    in; development links in development only. No route list, no version."""
    settings = services().settings
    lang = "en" if request.args.get("lang") == "en" else "th"
    friend_url = settings.line_add_friend_url
    development = settings.environment == "development"
    return render_template(
        "index.html",
        lang=lang,
        tr=lambda thai, english: english if lang == "en" else thai,
        basic_id=settings.line_basic_id,
        placeholder_id=development and settings.line_basic_id == DEV_LINE_BASIC_ID,
        add_friend_url=friend_url,
        add_friend_qr=Markup(render_qr_svg(friend_url)) if friend_url else None,  # noqa: S704 - our own SVG
        staff_links=_links(STAFF_LINKS, lang),
        development=development,
        development_links=_links(DEVELOPMENT_LINKS, lang) if development else [],
    )


def _links(links: tuple[tuple[str, str, str], ...], lang: str) -> list[tuple[str, str]]:
    """(URL, label) of each endpoint the application has."""
    found = []
    for endpoint, thai, english in links:
        try:
            found.append((url_for(endpoint), english if lang == "en" else thai))
        except BuildError:
            continue
    return found


@core_pages.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@core_pages.get("/readyz")
def readyz() -> Response:
    try:
        with services().db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return error_response(DomainError("DATABASE_UNAVAILABLE"))
    return jsonify(status="ready", database="ok")
