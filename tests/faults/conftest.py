"""Fault fixtures: a PostgreSQL cluster of the test's own (stopped and started mid-test), and
settings that point the application and workers at it and at the fake LINE Messaging API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from authencode import migrate
from authencode.settings import Settings
from tests.support.fake_line import FakeLineServer
from tests.support.postgres import PostgresCluster, PostgresNotAvailable
from tests.support.shared import ACCESS_TOKEN, CHANNEL_SECRET, TEST_DATA_KEY, missing_part


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster nobody else uses, so stopping it disturbs no other test."""
    try:
        cluster = PostgresCluster().start()
    except PostgresNotAvailable as exc:
        missing_part(str(exc))
        raise
    migrate.upgrade(cluster.url)
    yield cluster
    cluster.destroy()


@pytest.fixture
def fault_settings(
    own_postgres: PostgresCluster, fake_line: FakeLineServer, tmp_path: Path
) -> Settings:
    return Settings(
        environment="test",
        database_url=own_postgres.url,
        secret_key="test-secret-key-0123456789abcdef",
        data_key=TEST_DATA_KEY,
        instance_path=tmp_path / "instance",
        public_base_url="http://127.0.0.1:5000",
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        line_api_base_url=fake_line.url,
        line_events_inline=True,
    )
