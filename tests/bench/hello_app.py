"""The benchmark's baseline: a bare Flask "hello" app, served by the Procfile's gunicorn line.

Whatever the real application costs on top of Flask, gunicorn and the machine is measured
against this (``tests/bench/bench_http.py``).
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
