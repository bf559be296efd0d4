"""The LINE chatbot: webhook, event dispatch, Thai messages, rich menus, outbox sender."""

from __future__ import annotations

import threading

from flask import Flask


def register(app: Flask) -> None:
    """Register the LINE webhook (and, in development, the LINE simulator)."""
    from authencode.web.input_guard import parses_own_body
    from linebot_app import assistant, simulator
    from linebot_app.state import init_state
    from linebot_app.webhook import bp as line_webhook

    init_state(app)
    app.register_blueprint(line_webhook)
    parses_own_body(app, line_webhook)  # one odd event must not refuse a whole delivery
    settings = app.extensions["authencode"].settings
    if settings.line_events_inline:  # events applied here: the Thai dictionary, built aside
        threading.Thread(target=assistant.warm, name="thai-words", daemon=True).start()
    if simulator.enabled(settings):
        simulator.register(app)
