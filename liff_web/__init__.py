"""The LIFF pages patients open inside LINE, and their JSON API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the LIFF pages, their JSON API and its OpenAPI paths on the application."""
