"""deploy/prometheus: the alert rules load, fire on trouble and stay quiet otherwise."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from authencode.settings import Settings
from tests.deploy.tools import DEPLOY, replace_exactly, run, tool

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
CASES = Path(__file__).with_name("alerts_test.yml")


def test_rules_are_valid() -> None:
    result = run(tool("promtool", "prometheus"), "check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_each_alert_fires_on_trouble_only() -> None:
    result = run(tool("promtool", "prometheus"), "test", "rules", CASES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_case() -> None:
    alerts = set(re.findall(r"^\s+- alert: (\w+)$", ALERTS.read_text(), re.MULTILINE))
    tested = set(re.findall(r"^\s+alertname: (\w+)$", CASES.read_text(), re.MULTILINE))
    assert alerts == tested


def test_a_rule_that_no_longer_fires_fails_its_case(tmp_path: Path) -> None:
    """The cases can fail: with the database alert's threshold wrong, they do."""
    broken = tmp_path / "deploy" / "prometheus" / "alerts.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        replace_exactly(
            ALERTS.read_text(), "authencode_database_up == 0", "authencode_database_up < 0"
        )
    )
    cases = tmp_path / "tests" / "deploy" / "alerts_test.yml"
    cases.parent.mkdir(parents=True)
    cases.write_text(CASES.read_text())
    result = run(tool("promtool", "prometheus"), "test", "rules", cases)
    assert result.returncode != 0
    assert "AuthencodeDatabaseDown" in result.stdout + result.stderr


def test_scrape_config_loads_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "authencode-alerts.yml"
    rules.write_text(ALERTS.read_text())
    config = tmp_path / "prometheus.yml"
    config.write_text(
        replace_exactly(
            (DEPLOY / "prometheus" / "prometheus.yml").read_text(),
            "/etc/prometheus/authencode-alerts.yml",
            str(rules),
        )
    )
    result = run(tool("promtool", "prometheus"), "check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_rules_name_series_the_app_exports(settings: Settings, redis_server: Any) -> None:
    """A renamed metric or endpoint would leave an alert that can never fire."""
    from authencode.app import create_app

    app = create_app(settings.with_overrides(redis_url=redis_server.url))
    try:
        client = app.test_client()
        client.post("/line/webhook", data=b"{}")  # unsigned: refused, and counted
        body = client.get("/metrics").get_data(as_text=True)
    finally:
        app.extensions["authencode"].db.dispose()
    exported = {name for name, _labels in _samples(body)}
    expressions = re.findall(r"expr: (?:>-\n)?((?:.+\n)+?)\s+(?:for|labels):", ALERTS.read_text())
    named = set(re.findall(r"\b(authencode_\w+)", "".join(expressions)))
    assert named >= {"authencode_database_up", "authencode_http_requests_total"}
    assert named <= exported
    endpoints = {
        labels["endpoint"]
        for name, labels in _samples(body)
        if name == "authencode_http_requests_total"
    }
    assert "line_webhook.webhook" in endpoints
    assert 'endpoint="line_webhook.webhook"' in "".join(expressions)


def _samples(body: str) -> list[tuple[str, dict[str, str]]]:
    return [
        (sample.name, sample.labels)
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    ]
