"""The clinic web app's test helpers and fixtures: two facilities with their staff, a signed-in
client, and decoding of the QR codes it prints (tests/clinic_qr/conftest.py and others use them)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from authencode.db import Database
from authencode.models import Facility
from authencode.passwords import hash_password
from authencode.services.api_tokens import create_token
from tests.support.factories import make_facility, make_staff, new_cid
from tests.support.live_server import serve

PASSWORD = "clinic-password-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def png_bytes(size: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), "white").save(out, format="PNG")
    return out.getvalue()


class ClinicClient:
    """A Flask test client that knows the clinic's CSRF token and how to log in."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        self._remember(response)
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any
    ) -> Any:
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            if not self.csrf:
                self.get("/clinic/login")
            data["csrf_token"] = self.csrf
        response = self.client.post(path, data=data, **kwargs)
        self._remember(response)
        return response

    def login(self, username: str, password: str = PASSWORD) -> Any:
        self.get("/clinic/login")
        response = self.post("/clinic/login", {"username": username, "password": password})
        self.get("/clinic/password" if response.status_code == 302 else "/clinic/login")
        return response

    def _remember(self, response: Any) -> None:
        if response.mimetype == "text/html":
            found = _CSRF.search(response.get_data(as_text=True))
            if found:
                self.csrf = found.group(1)


def log_in_in_browser(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the clinic's log-in form (no wait: a refused log-in stays on it)."""
    page.goto(f"{base}/clinic/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def signed_in(
    client: Any,
    db: Database,
    protector: Any,
    username: str,
    role: str,
    facility: Facility | None = None,
) -> ClinicClient:
    """A new active staff member (the test password, no change asked), signed in."""
    with db.transaction() as session:
        make_staff(
            session,
            protector,
            session.merge(facility) if facility is not None else None,
            username=username,
            role=role,
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
    signed = ClinicClient(client)
    signed.login(username)
    return signed


@pytest.fixture
def clinic_client(client) -> ClinicClient:
    return ClinicClient(client)


@dataclass
class World:
    db: Database
    a_hcode: str
    b_hcode: str
    ids: dict[str, int]


@pytest.fixture
def clinic_world(app, protector) -> World:
    """Facility A (10675) and B (10676), each with an admin, a staff member, a pending
    registration and an API token; plus a system admin."""
    db = app.extensions["authencode"].db
    ids: dict[str, int] = {}
    password = hash_password(PASSWORD)
    with db.transaction() as session:
        for key, hcode, name in (("a", "10675", "รพ.สต.ต้นทาง"), ("b", "10676", "รพ.ปลายทาง")):
            facility = make_facility(session, hcode=hcode, name=name)
            ids[f"{key}_facility"] = facility.id
            for role, username in (("facility_admin", f"{key}-admin"), ("staff", f"{key}-staff")):
                user = make_staff(
                    session,
                    protector,
                    facility,
                    username=username,
                    role=role,
                    password_hash=password,
                    must_change_password=False,
                )
                ids[username] = user.id
            pending = make_staff(
                session, protector, facility, username=f"{key}-pending", cid=new_cid("5")
            )
            pending.status = "pending"
            ids[f"{key}-pending"] = pending.id
            ids[f"{key}_token"] = create_token(session, facility, f"{key} HIS", "test").token.id
        root = make_staff(
            session,
            protector,
            None,
            username="root",
            role="system_admin",
            password_hash=password,
            must_change_password=False,
        )
        ids["root"] = root.id
    return World(db, "10675", "10676", ids)


@pytest.fixture
def mail_live_server(live_settings, live_port, smtp_server) -> Iterator[tuple[str, Any]]:
    """The real app over HTTP (PostgreSQL) that sends its mail to the local SMTP server."""
    from authencode.app import create_app

    app = create_app(live_settings.with_overrides(smtp_url=smtp_server.url))
    with serve(app, live_port) as url:
        yield url, app
    app.extensions["authencode"].db.dispose()


# --- reading QR codes back out of what the app produced -----------------------------------

_SVG_RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-\d+z")
_PDF_OBJECT = re.compile(rb"\d+ 0 obj\n<<(.*?)>>\n(stream\n|endobj)", re.S)


def decode_qr(image: Image.Image) -> str:
    """The text of the one QR code in the image, read by zxing-cpp."""
    import zxingcpp

    found = zxingcpp.read_barcodes(image.convert("L"))
    assert len(found) == 1, f"expected one QR code, found {len(found)}"
    return str(found[0].text)


def svg_to_image(svg: str, scale: int = 8) -> Image.Image:
    """Rasterise the module runs of an SVG the app drew (quiet zone included)."""
    runs = [tuple(map(int, m)) for m in _SVG_RUN.findall(svg)]
    size = max(x + w for x, _, w in runs) + 4
    image = Image.new("L", (size * scale, size * scale), 255)
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    for x, y, w in runs:
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + 1) * scale - 1], fill=0)
    return image


def pdf_images(pdf: bytes) -> list[Image.Image]:
    """The grey images embedded in a PDF (Flate with PNG predictors is a PNG's IDAT)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    images: list[Image.Image] = []
    for match in _PDF_OBJECT.finditer(pdf):
        head = match.group(1)
        if b"/Subtype /Image" not in head or match.group(2) != b"stream\n":
            continue
        assert b"/DeviceGray" in head and b"/FlateDecode" in head and b"/Predictor 15" in head
        width = int(re.search(rb"/Width (\d+)", head).group(1))  # type: ignore[union-attr]
        height = int(re.search(rb"/Height (\d+)", head).group(1))  # type: ignore[union-attr]
        length = int(re.search(rb"/Length (\d+)", head).group(1))  # type: ignore[union-attr]
        stream = pdf[match.end() : match.end() + length]
        png = (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", stream)
            + chunk(b"IEND", b"")
        )
        images.append(Image.open(io.BytesIO(png)))
    return images
