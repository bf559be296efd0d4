"""The instance's own pages: index, liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template
from sqlalchemy import text

from authencode.app.context import services
from authencode.app.errors import error_response
from authencode.errors import DomainError

core_pages = Blueprint("core", __name__, template_folder="templates")


@core_pages.get("/")
def index() -> str:
    """A neutral page for a person who opens the address: no route list, no version."""
    return render_template("index.html")


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
