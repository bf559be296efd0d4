"""One place where domain errors and HTTP errors become the JSON error format of DESIGN.md."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from authencode.errors import CATALOGUE, DomainError

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}
_JSON_APIS = "authencode.json_apis"  # app.extensions: blueprint name -> the path it owns


def error_response(error: DomainError, status: int | None = None) -> Response:
    response = jsonify({"error": error.to_dict()})
    response.status_code = status or error.http_status
    if error.kind == "rate_limited" and "retry_after" in error.params:
        response.headers["Retry-After"] = str(error.params["retry_after"])
    return response


def json_api(app: Flask, blueprint: Blueprint, prefix: str | None = None) -> None:
    """Declare ``blueprint`` a JSON API: its HTTP errors (404, 405, 413, 400...) answer in the
    JSON error format, also for paths under ``prefix`` (default: its url_prefix) that no
    route matches. Called by the front end that registers it."""
    app.extensions.setdefault(_JSON_APIS, {})[blueprint.name] = prefix or blueprint.url_prefix


def wants_json() -> bool:
    """JSON for APIs and programs; pages keep their own HTML error handlers."""
    apis: dict[str, str | None] = current_app.extensions.get(_JSON_APIS, {})
    if request.blueprint in apis or request.path.startswith(
        tuple(prefix for prefix in apis.values() if prefix)
    ):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response | HTTPException:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else None)
        if code is None or code not in CATALOGUE or not wants_json():
            return error
        return error_response(DomainError(code), status)

    app.register_error_handler(DBAPIError, database_error_response)


def database_error_response(error: DBAPIError) -> Response:
    """503 with Retry-After when the database is unreachable; anything else stays a bug."""
    if not _is_unavailable(error):
        raise error
    log.warning("database unavailable: %s", type(error.orig).__name__)
    response = error_response(DomainError("DATABASE_UNAVAILABLE"))
    response.headers["Retry-After"] = "5"
    return response


def _is_unavailable(error: DBAPIError) -> bool:
    if error.connection_invalidated:
        return True
    name = type(error.orig).__name__
    return isinstance(error, OperationalError) and name in (
        "OperationalError",
        "ConnectionFailure",
        "ConnectionTimeout",
        "AdminShutdown",
        "CannotConnectNow",
    )
