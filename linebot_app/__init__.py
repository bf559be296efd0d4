"""The LINE chatbot: webhook, event dispatch, Thai messages, rich menus, outbox sender."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the LINE webhook (and, in development, the LINE simulator)."""
    from linebot_app import simulator
    from linebot_app.state import init_state
    from linebot_app.webhook import bp as line_webhook

    init_state(app)
    app.register_blueprint(line_webhook)
    if simulator.enabled(app.extensions["authencode"].settings):
        simulator.register(app)
