"""GET /openapi.json: every JSON API, assembled from the paths each front end declares."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from authencode import __version__
from authencode.models.agent import TOKEN_SCOPES

openapi_pages = Blueprint("openapi", __name__)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "message_th"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "message_th": {"type": "string"},
                "detail": {"type": "string"},
            },
        }
    },
}


def error_responses(*statuses: int) -> dict[str, Any]:
    """The JSON error body for each status, for use in a front end's path declarations."""
    return {
        str(s): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for s in statuses
    }


def register_paths(
    app: Any, paths: dict[str, Any], security_schemes: dict[str, Any] | None = None
) -> None:
    """Called by a front end when its blueprint is registered: its paths, and the security
    schemes they name beyond the facility API tokens."""
    app.extensions.setdefault("openapi_paths", {}).update(paths)
    app.extensions.setdefault("openapi_schemes", {}).update(security_schemes or {})


def with_common_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation with input may answer 400 (e.g. NUL characters, see
    authencode.web.input_guard), and every one with a body 413 (over the size limit)."""
    out: dict[str, Any] = {}
    for path, operations in paths.items():
        out[path] = {}
        for method, operation in operations.items():
            common = (
                *(
                    (400,)
                    if operation.get("parameters") or "{" in path or "requestBody" in operation
                    else ()
                ),
                *((413,) if "requestBody" in operation else ()),
            )
            extra = {
                k: v for k, v in error_responses(*common).items() if k not in operation["responses"]
            }
            out[path][method] = {**operation, "responses": {**operation["responses"], **extra}}
    return out


@openapi_pages.get("/openapi.json")
def openapi() -> Response:
    paths = with_common_errors(current_app.extensions.get("openapi_paths", {}))
    return jsonify(
        {
            "openapi": "3.0.3",
            "info": {
                "title": "Authen Code",
                "version": __version__,
                "description": "Visit authentication service: the JSON APIs of its "
                "patient pages, reader agents and hospital systems.",
            },
            "paths": paths,
            "components": {
                "schemas": {"Error": ERROR_SCHEMA},
                "securitySchemes": {
                    **{
                        f"{scope}Token": {
                            "type": "http",
                            "scheme": "bearer",
                            "description": f"facility API token of scope {scope} "
                            f"(authencode token create HCODE NAME --scope {scope})",
                        }
                        for scope in TOKEN_SCOPES
                    },
                    **current_app.extensions.get("openapi_schemes", {}),
                },
            },
        }
    )
