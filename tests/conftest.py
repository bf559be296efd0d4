"""Fixtures: the same suite runs on SQLite and on a real PostgreSQL cluster."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from authencode import migrate
from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.settings import Settings
from tests.support.browser import CHROMIUM_FLAGS, artifact_path, chromium_path
from tests.support.fake_line import FakeLineServer
from tests.support.live_server import free_port, serve
from tests.support.mail import SmtpServer
from tests.support.postgres import PostgresCluster, PostgresNotAvailable
from tests.support.redis_server import RedisNotAvailable, RedisServer
from tests.support.shared import ACCESS_TOKEN, TEST_DATA_KEY, missing_part, reserve_vpcd_ports

_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    """Before any test opens a socket: keep the virtual readers' ports free for pcscd."""
    reserve_vpcd_ports()


@pytest.fixture
def fake_line() -> Iterator[FakeLineServer]:
    """A local stand-in for LINE's Messaging API, answering the channel's token."""
    server = FakeLineServer(ACCESS_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except RedisNotAvailable as exc:
        missing_part(str(exc))
        raise
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster | str]:
    """A PostgreSQL server: TEST_DATABASE_URL, or a throwaway cluster from installed binaries."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    try:
        cluster = PostgresCluster().start()
    except PostgresNotAvailable as exc:
        missing_part(str(exc))
        return
    yield cluster
    cluster.destroy()


def _pg_admin_url(postgres: PostgresCluster | str) -> str:
    if isinstance(postgres, str):
        from authencode.settings import normalise_database_url

        return normalise_database_url(postgres)
    return postgres.url


@pytest.fixture(scope="session")
def pg_template(postgres: PostgresCluster | str) -> str:
    """A migrated template database that each test's database is cloned from."""
    admin = _pg_admin_url(postgres)
    name = f"authencode_tpl_{os.getpid()}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    migrate.upgrade(admin.rsplit("/", 1)[0] + "/" + name)
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    yield from _pg_database(
        request.getfixturevalue("postgres"), request.getfixturevalue("pg_template")
    )


@pytest.fixture
def pg_url(postgres: PostgresCluster | str, pg_template: str) -> Iterator[str]:
    """For behaviour only PostgreSQL's concurrency shows (SQLite serialises its writers)."""
    yield from _pg_database(postgres, pg_template)


def _pg_database(postgres: PostgresCluster | str, template: str) -> Iterator[str]:
    admin = _pg_admin_url(postgres)
    name = f"t_{os.getpid()}_{next(_counter)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield admin.rsplit("/", 1)[0] + "/" + name
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.sessionmaker() as session:
        yield session


@pytest.fixture
def protector() -> DataProtector:
    return DataProtector(TEST_DATA_KEY)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        secret_key="test-secret-key-0123456789abcdef",
        data_key=TEST_DATA_KEY,
        instance_path=tmp_path / "instance",
        public_base_url="http://127.0.0.1:5000",
        # The webhook applies what it stored before answering (the workers' code), so a
        # test that chats through the webhook reads the reply right after posting.
        line_events_inline=True,
    )


@pytest.fixture
def app(settings: Settings):
    from authencode.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["authencode"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


# --- real servers for browsers, agents and mail -------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A local SMTP server; `.sink.wait_for(address)` returns a delivered message."""
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def live_port() -> int:
    return free_port()


@pytest.fixture
def live_settings(pg_url: str, tmp_path: Path, live_port: int) -> Settings:
    """Settings for a live server on PostgreSQL, whose PUBLIC_BASE_URL is that server."""
    return Settings(
        environment="test",
        database_url=pg_url,
        secret_key="test-secret-key-0123456789abcdef",
        data_key=TEST_DATA_KEY,
        instance_path=tmp_path / "instance",
        public_base_url=f"http://127.0.0.1:{live_port}",
        line_events_inline=True,
    )


@pytest.fixture
def live_app(live_settings: Settings):
    from authencode.app import create_app

    app = create_app(live_settings)
    yield app
    app.extensions["authencode"].db.dispose()


@pytest.fixture
def live_server(live_app, live_port: int) -> Iterator[str]:
    """The real application over HTTP; yields its base URL (equal to PUBLIC_BASE_URL)."""
    with serve(live_app, live_port) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright (no browser download)."""
    executable = chromium_path()
    if executable is None:
        missing_part("chromium is not installed (scripts/install-system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A desktop-sized page (the clinic web app), Thai locale."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield from _without_csp_violations(page)
    context.close()


@pytest.fixture
def mobile_page(browser):
    """A 360 px wide phone page (LIFF), Thai locale."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield from _without_csp_violations(page)
    context.close()


def _without_csp_violations(page):
    """Yield the page; fail the test if the browser reported a Content-Security-Policy
    violation meanwhile (a page whose script or style the policy blocks is broken). A test
    that provokes one on purpose empties ``page.csp_violations``."""
    page.csp_violations = []
    page.on(
        "console",
        lambda m: (
            page.csp_violations.append(m.text) if "Content Security Policy" in m.text else None
        ),
    )
    yield page
    assert not page.csp_violations, page.csp_violations


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):
    """screenshot(page, "label") saves a full-page PNG under .cache/test-artifacts/<test>/."""

    def take(page, label: str) -> Path:
        path = artifact_path(request.node.name, label)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
