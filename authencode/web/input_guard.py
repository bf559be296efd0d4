"""Input no handler can use, refused before any handler sees it.

- Ids in URLs (`<int:...>`) above the largest row id are no route at all (404): passed on,
  they overflow the database's integer and fail as a server error instead of "not found".
- NUL characters in query strings, form fields, URL parts or JSON bodies are a 400:
  PostgreSQL cannot store or compare text holding them, and no real input has one.
- A chunked body (no Content-Length) over MAX_CONTENT_LENGTH is a 413 like any other:
  Werkzeug alone would cut it at the limit and hand the handler the truncated start.

A blueprint that reads its own body (a webhook: one odd event must not refuse a whole
delivery) says so with :func:`parses_own_body`; the NUL check then leaves it alone.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from authencode.db import MAX_ROW_ID

_NUL = "\x00"
_JSON_NUL = b"\\u0000"
_OWN_PARSING = "authencode.parses_own_body"  # app.extensions: blueprint names
_TOO_LARGE = "authencode.body_too_large"


class RowIdConverter(IntegerConverter):
    """`<int:...>` that matches only ids a row can have."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


class ChunkedBodyLimit:
    """WSGI middleware: reads a chunked body into memory, up to the limit, so that it gets
    a Content-Length; a longer one is replaced by nothing and marked too large."""

    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # As in Werkzeug, Transfer-Encoding: chunked wins over any Content-Length.
        if (
            "wsgi.input_terminated" in environ
            and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            body = environ["wsgi.input"].read(self.limit + 1)
            if len(body) > self.limit:
                environ[_TOO_LARGE] = True
                body = b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def init_input_guard(app: Flask) -> None:
    """Install the id converter (before any route is added), the chunked-body limit and
    the NUL check."""
    app.url_map.converters["int"] = RowIdConverter
    app.wsgi_app = ChunkedBodyLimit(  # type: ignore[method-assign]
        app.wsgi_app, app.config["MAX_CONTENT_LENGTH"]
    )
    app.before_request(refuse_input_no_handler_can_use)


def parses_own_body(app: Flask, blueprint: Blueprint) -> None:
    """Declare that ``blueprint`` checks its own input: no NUL check on its requests (the
    chunked-body limit still applies)."""
    app.extensions.setdefault(_OWN_PARSING, set()).add(blueprint.name)


def refuse_input_no_handler_can_use() -> None:
    if request.environ.get(_TOO_LARGE):
        raise RequestEntityTooLarge()
    if request.blueprint in current_app.extensions.get(_OWN_PARSING, ()):
        return
    texts = [
        *request.args.keys(),
        *request.args.values(),
        *(str(v) for v in (request.view_args or {}).values()),
    ]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        texts += [*request.form.keys(), *request.form.values()]
    if any(_NUL in text for text in texts) or (
        request.is_json and _JSON_NUL in request.get_data(cache=True)
    ):
        raise BadRequest("NUL characters are not accepted")
