"""The web toolkit every front end shares: request context, errors, rate limits, metrics,
OpenAPI, the input guard and security headers. It names no front end: each front end
declares what its blueprints need from its own ``register`` (JSON errors with
:func:`authencode.web.errors.json_api`, rate limits with :func:`authencode.web.limits.per_ip`
and :func:`~authencode.web.limits.per_ip_on_post`, its own body parsing with
:func:`authencode.web.input_guard.parses_own_body`, its pages' policy with
:func:`authencode.web.security_headers.content_policy`, its OpenAPI paths with
:func:`authencode.web.openapi.register_paths`)."""
