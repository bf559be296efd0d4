"""The landing page at /: what this is, how a patient adds the LINE account, where staff log
in; development tools only in development. At 360x740 in Chromium it fits the phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from authencode.settings import Settings
from tests.support.clinic import decode_qr
from tests.support.live_server import free_port, serve
from tests.support.shared import TEST_DATA_KEY

BASIC_ID = "@authencode"
ADD_FRIEND = "https://line.me/R/ti/p/@authencode"


def _settings(environment: str, db_url: str, tmp_path: Path, **more: object) -> Settings:
    return Settings(
        environment=environment,
        database_url=db_url,
        secret_key="9f2c4e7a1b8d3f60c5e29a7b4d1f8e3c",
        data_key=TEST_DATA_KEY,
        instance_path=tmp_path / "instance",
        **({"line_basic_id": BASIC_ID} | more),  # type: ignore[arg-type]
    )


@pytest.fixture(params=["production", "development"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(environment, base URL) of the app served live under that environment's settings."""
    from authencode.app import create_app

    port = free_port()
    extra = {"public_base_url": f"http://127.0.0.1:{port}"}
    if request.param == "development":  # as Settings.from_env makes them: simulator on
        extra |= {"line_api_base_url": f"http://127.0.0.1:{port}/dev/line/api"}
    # The page reads no table: an empty SQLite file will do, on one backend.
    db_url = f"sqlite:///{tmp_path / 'landing.sqlite3'}"
    app = create_app(_settings(request.param, db_url, tmp_path, **extra))
    with serve(app, port) as url:
        yield request.param, url
    app.extensions["authencode"].db.dispose()


def test_landing_page_fits_a_phone_and_shows_the_way_in(
    landing: tuple[str, str], mobile_page, screenshot
) -> None:
    environment, base = landing
    mobile_page.goto(f"{base}/")
    for lang in ("th", "en"):
        screenshot(mobile_page, f"landing-{environment}-{lang}")
        assert mobile_page.locator("html").get_attribute("lang") == lang
        _check_page(mobile_page, environment)
        if lang == "th":  # the switch leads to English
            mobile_page.locator("#lang-switch").click()
            mobile_page.wait_for_url(re.compile(r".*\?lang=en$"))
    # the staff's link is not dead
    mobile_page.locator("#staff-login").click()
    mobile_page.wait_for_url(re.compile(r".*/clinic/login.*"))
    assert mobile_page.locator("input[name=username]").count() == 1


def _check_page(page, environment: str) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), (
        "the page scrolls sideways at 360 px"
    )
    assert page.locator("#basic-id").inner_text() == BASIC_ID
    assert page.locator("#add-friend").get_attribute("href") == ADD_FRIEND
    assert page.locator("#staff-login").get_attribute("href") == "/clinic/login"
    # the add-friend QR code, as the phone shows it, leads to the same link
    assert decode_qr(_image(page.locator(".friend-qr").screenshot())) == ADD_FRIEND
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    dev_links = [h for h in hrefs if h.startswith(("/dev/", "/liff", "/kiosk", "/openapi"))]
    if environment == "production":
        assert dev_links == [] and page.locator("#development").count() == 0
    else:
        assert "/dev/line/" in dev_links and "/openapi.json" in dev_links
        assert any(h.startswith("/liff/") for h in dev_links)


def test_landing_page_without_a_basic_id_asks_the_staff(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'id="no-basic-id"' in page and "line.me" not in page


def test_unknown_lang_falls_back_to_thai(client) -> None:
    for value in ("xx", "<script>", ""):
        page = client.get("/", query_string={"lang": value}).get_data(as_text=True)
        assert '<html lang="th">' in page and "<script>" not in page.split("<body>", 1)[1]


def _image(png: bytes) -> Image.Image:
    import io

    return Image.open(io.BytesIO(png))


def test_development_placeholder_id_is_called_one(tmp_path: Path) -> None:
    from authencode.app import create_app
    from authencode.settings import DEV_LINE_BASIC_ID

    db_url = f"sqlite:///{tmp_path / 'landing.sqlite3'}"
    for basic_id, said in ((DEV_LINE_BASIC_ID, True), (BASIC_ID, False)):
        app = create_app(_settings("development", db_url, tmp_path, line_basic_id=basic_id))
        page = app.test_client().get("/").get_data(as_text=True)
        assert ('id="placeholder-id"' in page) is said
        assert basic_id in page
        app.extensions["authencode"].db.dispose()
