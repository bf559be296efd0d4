"""The instance's own pages: index, liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template
from sqlalchemy import text

from authencode import __version__
from authencode.app.context import services
from authencode.app.errors import error_response
from authencode.errors import DomainError

core_pages = Blueprint("core", __name__, template_folder="templates")


@core_pages.get("/")
def index() -> str:
    """What this instance offers, for a person who opens its address."""
    rules = sorted(
        {(r.rule, r.endpoint) for r in current_app.url_map.iter_rules()
         if "GET" in (r.methods or ()) and "<" not in r.rule and not r.rule.startswith("/static")}
    )
    settings = services().settings
    return render_template("index.html", rules=rules, version=__version__,
                           environment=settings.environment)


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
