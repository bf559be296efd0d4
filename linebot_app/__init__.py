"""The LINE chatbot: webhook, event dispatch, Thai messages, rich menus, outbox sender."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the LINE webhook (and, in development, the LINE simulator)."""
    from authencode.web.input_guard import parses_own_body
    from linebot_app import simulator
    from linebot_app.state import init_state
    from linebot_app.webhook import bp as line_webhook

    init_state(app)
    app.register_blueprint(line_webhook)
    parses_own_body(app, line_webhook)  # one odd event must not refuse a whole delivery
    if simulator.enabled(app.extensions["authencode"].settings):
        simulator.register(app)
