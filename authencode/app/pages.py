"""The instance's own pages: index, liveness and readiness."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template
from sqlalchemy import text

from authencode.errors import DomainError
from authencode.web.context import services
from authencode.web.errors import error_response

core_pages = Blueprint("core", __name__, template_folder="templates")

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
