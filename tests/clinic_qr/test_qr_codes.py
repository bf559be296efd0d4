"""The QR generator: images decode (zxing-cpp) to links the server accepts, and only those."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import select

from authencode.errors import DomainError
from authencode.models import Facility
from authencode.services import qr_tokens
from tests.support.clinic import ClinicClient, decode_qr, pdf_images, svg_to_image

BASE = "http://127.0.0.1:5000/q/"


def _verify(db, protector, scanned: str, now: dt.datetime | None = None):
    with db.transaction() as session:
        return qr_tokens.verify(session, protector, scanned, now=now)


def _refusal(db, protector, scanned: str, now: dt.datetime | None = None) -> DomainError:
    with pytest.raises(DomainError) as info:
        _verify(db, protector, scanned, now)
    return info.value


@pytest.fixture
def staff_client(app, clinic_world) -> ClinicClient:
    cc = ClinicClient(app.test_client())
    cc.login("a-staff")
    return cc


def test_png_decodes_to_a_poster_link_the_server_accepts(
    staff_client, clinic_world, protector
) -> None:
    response = staff_client.get("/clinic/facilities/10675/qr/PG0060001.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert 'filename="qr-10675-PG0060001.png"' in response.headers["Content-Disposition"]
    link = decode_qr(Image.open(io.BytesIO(response.data)))
    assert link.startswith(BASE + "1.10675.PG0060001.0.")
    claim = _verify(clinic_world.db, protector, link)
    assert (claim.hcode, claim.service_code, claim.is_display) == ("10675", "PG0060001", False)
    # the same token in every format, so a printed PNG and PDF of one service agree
    again = staff_client.get("/clinic/facilities/10675/qr/PG0060001.png")
    assert decode_qr(Image.open(io.BytesIO(again.data))) == link


def test_svg_is_labelled_in_thai_and_decodes(staff_client, clinic_world, protector) -> None:
    response = staff_client.get("/clinic/facilities/10675/qr/PG0090001.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "10675 รพ.สต.ต้นทาง" in svg
    assert "การดูแลรักษาในที่พัก (Home Isolation)" in svg and "PG0090001" in svg
    link = decode_qr(svg_to_image(svg))
    assert _verify(clinic_world.db, protector, link).service_code == "PG0090001"


def test_poster_pdf_has_one_a4_page_per_picked_service(
    staff_client, clinic_world, protector
) -> None:
    response = staff_client.get(
        "/clinic/facilities/10675/poster.pdf?service=PG0060001&service=PG0090001"
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.data
    assert pdf.startswith(b"%PDF-")
    assert pdf.count(b"/MediaBox [0 0 595.28 841.89]") + pdf.count(b"/Type /Page\n") >= 2
    links = [decode_qr(image) for image in pdf_images(pdf)]
    assert [_verify(clinic_world.db, protector, link).service_code for link in links] == [
        "PG0060001",
        "PG0090001",
    ]


def test_qr_page_shows_one_qr_per_picked_service(staff_client) -> None:
    page = staff_client.get("/clinic/facilities/10675/qr?service=PG0090001").get_data(as_text=True)
    assert page.count('class="qr-card"') == 1 and 'data-service="PG0090001"' in page
    everything = staff_client.get("/clinic/facilities/10675/qr").get_data(as_text=True)
    assert everything.count('class="qr-card"') == 2


def test_services_not_offered_get_no_qr(staff_client) -> None:
    response = staff_client.get("/clinic/facilities/10675/qr/PG0130001.png")
    assert response.status_code == 422
    assert "หน่วยบริการนี้ไม่ได้เปิดให้บริการประเภทนี้" in response.get_data(as_text=True)


def test_forged_and_tampered_tokens_are_refused(staff_client, clinic_world, protector, app) -> None:
    link = decode_qr(
        Image.open(io.BytesIO(staff_client.get("/clinic/facilities/10675/qr/PG0060001.png").data))
    )
    token = link.rsplit("/", 1)[1]
    version, hcode, service, expiry, kid, signature = token.split(".")

    other = ClinicClient(app.test_client())
    other.login("b-staff")
    b_token = decode_qr(
        Image.open(io.BytesIO(other.get("/clinic/facilities/10676/qr/PG0060001.png").data))
    ).rsplit("/", 1)[1]
    b_kid, b_sig = b_token.split(".")[4:]

    forged = {
        "another facility's key": f"{version}.{hcode}.{service}.{expiry}.{b_kid}.{b_sig}",
        "another facility's token": b_token.replace(".10676.", ".10675."),
        "another service": f"{version}.{hcode}.PG0090001.{expiry}.{kid}.{signature}",
        "made to expire later": f"{version}.{hcode}.{service}.zzzzzz.{kid}.{signature}",
        "signature changed": f"{version}.{hcode}.{service}.{expiry}.{kid}."
        f"{'A' if signature[0] != 'A' else 'B'}{signature[1:]}",
    }
    for why, bad in forged.items():
        assert _refusal(clinic_world.db, protector, BASE + bad).code == "QR_FORGED", why
    assert _refusal(clinic_world.db, protector, "https://example.com/other").code == (
        "QR_MALFORMED"
    )


def test_display_tokens_refresh_and_expire(staff_client, clinic_world, protector) -> None:
    page = staff_client.get("/clinic/facilities/10675/display/PG0060001")
    assert page.status_code == 200
    assert 'data-refresh="30"' in page.get_data(as_text=True)
    current = staff_client.get(
        "/clinic/facilities/10675/display/PG0060001/current.json",
        headers={"Accept": "application/json"},
    ).get_json()
    assert current["refreshSeconds"] == 30 and 80 <= current["validSeconds"] <= 90
    link = decode_qr(svg_to_image(current["svg"]))
    claim = _verify(clinic_world.db, protector, link)
    assert claim.is_display and claim.expires_at is not None
    assert claim.expires_at.isoformat() == current["expiresAt"]
    later = claim.expires_at + dt.timedelta(seconds=1)
    refused = _refusal(clinic_world.db, protector, link, now=later)
    assert refused.code == "QR_EXPIRED" and "หมดอายุ" in refused.message_th


def test_rotating_the_key_revokes_old_posters(app, clinic_world, protector) -> None:
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    old = decode_qr(
        Image.open(io.BytesIO(admin.get("/clinic/facilities/10675/qr/PG0060001.png").data))
    )
    assert admin.post("/clinic/facilities/10675/keys/rotate").status_code == 302
    keys_page = admin.get("/clinic/facilities/10675/keys?rotated=1").get_data(as_text=True)
    assert "โปสเตอร์เดิมใช้ไม่ได้อีกต่อไป" in keys_page
    refused = _refusal(clinic_world.db, protector, old)
    assert refused.code == "QR_REVOKED" and "เคาน์เตอร์" in refused.message_th
    new = decode_qr(
        Image.open(io.BytesIO(admin.get("/clinic/facilities/10675/qr/PG0060001.png").data))
    )
    assert new != old and _verify(clinic_world.db, protector, new).hcode == "10675"
    # facility B's posters are untouched by A's rotation
    with clinic_world.db.transaction() as session:
        b = session.scalar(select(Facility).where(Facility.hcode == "10676"))
        b_token = qr_tokens.sign_poster(session, protector, b, "PG0060001")
    assert _verify(clinic_world.db, protector, b_token).hcode == "10676"


def test_only_facility_admins_rotate_keys_and_manage_tokens(
    staff_client, app, clinic_world
) -> None:
    assert staff_client.post("/clinic/facilities/10675/keys/rotate").status_code == 403
    assert staff_client.get("/clinic/facilities/10675/tokens").status_code == 403
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    created = admin.post("/clinic/facilities/10675/tokens", {"name": "HIS ward 2"})
    page = created.get_data(as_text=True)
    assert created.status_code == 200 and 'id="new-token">ac_' in page
    secret = page.split('id="new-token">', 1)[1].split("<", 1)[0]
    listing = admin.get("/clinic/facilities/10675/tokens").get_data(as_text=True)
    assert "HIS ward 2" in listing and secret not in listing  # shown once only
    # a hospital-system token (the form's default scope): it opens the HIS API
    his_call = {
        "path": "/authencodestatus/api/codes",
        "query_string": {"from": "2026-01-01", "to": "2026-01-02"},
        "headers": {"Authorization": f"Bearer {secret}"},
    }
    assert app.test_client().get(**his_call).status_code == 200
    with clinic_world.db.transaction() as session:
        from authencode.models import ApiToken

        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "HIS ward 2"))
    assert admin.post(f"/clinic/facilities/10675/tokens/{token_id}/revoke").status_code == 302
    assert app.test_client().get(**his_call).status_code == 401
