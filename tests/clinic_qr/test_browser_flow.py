"""The whole account and QR flow in headless Chromium against the real server and SMTP."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

from authencode.passwords import hash_password
from authencode.services import qr_tokens
from tests.support.clinic import PASSWORD, decode_qr, log_in_in_browser, pdf_images, png_bytes
from tests.support.factories import make_facility, make_staff, new_cid


def _fill_registration(page, cid: str, username: str, document: Path) -> None:
    page.fill("input[name=cid]", cid)
    page.fill("input[name=first_name]", "มาลัย")
    page.fill("input[name=last_name]", "รู้เที่ยง")
    page.fill("input[name=employee_code]", "6009")
    page.select_option("select[name=affiliation]", "สำนักงานปลัดกระทรวงสาธารณสุข")
    page.select_option("select[name=facility]", "10675")
    page.fill("input[name=position]", "นักวิชาการสาธารณสุข")
    page.fill("input[name=house_no]", "12")
    page.fill("input[name=subdistrict]", "ดอยหล่อ")
    page.fill("input[name=district]", "ดอยหล่อ")
    page.fill("input[name=province]", "เชียงใหม่")
    page.fill("input[name=postcode]", "50160")
    page.fill("input[name=email]", "malai@clinic.example")
    page.fill("input[name=username]", username)
    page.set_input_files("input[name=document]", str(document))


def _log_out(page) -> None:
    page.click("header button.link")
    page.wait_for_url("**/clinic/login")


def test_register_approve_email_first_login_and_download_qr(
    mail_live_server, smtp_server, page, screenshot, protector, tmp_path
) -> None:
    base, app = mail_live_server
    page.set_default_timeout(30_000)  # a loaded CI machine hashes passwords slowly
    db = app.extensions["authencode"].db
    with db.transaction() as session:
        clinic = make_facility(session, hcode="10675", name="โรงพยาบาลชุมชนดอยหล่อ")
        make_staff(
            session,
            protector,
            clinic,
            username="clinic-admin",
            role="facility_admin",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
    document = tmp_path / "id-card.png"
    document.write_bytes(png_bytes())
    cid = new_cid("1")

    # register
    page.goto(f"{base}/clinic/login")
    page.click("text=สมัครเข้าใช้งานในระบบ")
    _fill_registration(page, cid, "malai", document)
    screenshot(page, "01-registration-form")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=ส่งคำขอสมัครใช้งานแล้ว")

    # the same CID again: ADM007, and what was typed stays in the form
    page.goto(f"{base}/clinic/register")
    _fill_registration(page, cid, "malai2", document)
    page.click("main button[type=submit]")
    alert = page.locator("div.error")
    alert.wait_for()
    assert "ADM007 – ไม่สามารถสมัครเข้าใช้งานระบบได้" in alert.inner_text()
    assert page.input_value("input[name=first_name]") == "มาลัย"
    screenshot(page, "02-duplicate-cid-adm007")

    # a facility admin approves
    log_in_in_browser(page, base, "clinic-admin", PASSWORD)
    page.goto(f"{base}/clinic/staff")
    page.click("tr[data-username=malai] >> text=พิจารณา")
    screenshot(page, "03-approval")
    page.click("#approve")
    page.wait_for_selector("text=อนุมัติแล้ว")
    _log_out(page)

    # the initial password arrives by email (sent right after the approval's commit)
    body = smtp_server.sink.wait_for("malai@clinic.example", timeout=30).get_content()
    assert "กรุณาเปลี่ยนรหัสผ่านใหม่เมื่อเข้าสู่ระบบเพื่อความปลอดภัย" in body
    initial = re.search(r"รหัสผ่าน : (\S+)", body).group(1)  # type: ignore[union-attr]

    # first login forces a password change
    log_in_in_browser(page, base, "malai", initial)
    page.wait_for_url("**/clinic/password")
    assert page.locator("text=กรุณาเปลี่ยนรหัสผ่าน สำหรับการเข้าระบบครั้งแรก").is_visible()
    page.goto(f"{base}/clinic/")  # nothing else opens before the change
    page.wait_for_url("**/clinic/password")
    page.fill("input[name=current_password]", initial)
    page.fill("input[name=new_password]", "malai-own-pass-2569")
    page.fill("input[name=confirm_password]", "malai-own-pass-2569")
    screenshot(page, "04-first-login-change")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=เปลี่ยนรหัสผ่านเรียบร้อยแล้ว")
    _log_out(page)

    # log in with the new password and download the QR codes
    log_in_in_browser(page, base, "malai", "malai-own-pass-2569")
    page.wait_for_url(f"{base}/clinic/")
    page.click("text=คิวอาร์โค้ดบริการ")
    page.wait_for_selector("figure.qr-card")
    screenshot(page, "05-qr-codes")
    card = page.locator("figure[data-service=PG0060001]")
    files = {}
    for kind in ("png", "svg", "pdf"):
        with page.expect_download() as info:
            card.locator(f"a.{kind}").click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        files[kind] = target
    assert files["png"].name == "qr-10675-PG0060001.png"

    links = [
        decode_qr(Image.open(files["png"])),
        decode_qr(pdf_images(files["pdf"].read_bytes())[0]),
    ]
    # the SVG as Chromium draws it
    svg = files["svg"].read_text().split("?>", 1)[1]
    page.goto("about:blank")  # off the clinic page: its CSP forbids the inline style below
    page.set_content(f"<!doctype html><body style='margin:0'>{svg}</body>")
    shot = tmp_path / "svg.png"
    page.locator("svg").screenshot(path=str(shot))
    links.append(decode_qr(Image.open(shot)))
    assert len(set(links)) == 1 and links[0].startswith(f"{base}/q/")
    with db.transaction() as session:
        claim = qr_tokens.verify(session, protector, links[0])
    assert (claim.hcode, claim.service_code) == ("10675", "PG0060001")


def test_counter_display_shows_a_fresh_expiring_qr(
    live_server, live_app, page, screenshot, protector
) -> None:
    page.set_default_timeout(30_000)
    db = live_app.extensions["authencode"].db
    with db.transaction() as session:
        clinic = make_facility(session, hcode="10675", name="โรงพยาบาลชุมชนดอยหล่อ")
        make_staff(
            session,
            protector,
            clinic,
            username="counter",
            role="staff",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
    log_in_in_browser(page, live_server, "counter", PASSWORD)
    page.wait_for_url(f"{live_server}/clinic/")
    page.goto(f"{live_server}/clinic/facilities/10675/display/PG0060001")
    page.wait_for_selector("#countdown:not(:empty)")
    screenshot(page, "counter-display")
    shot = page.locator("#qr").screenshot()
    link = decode_qr(Image.open(io.BytesIO(shot)))
    with db.transaction() as session:
        claim = qr_tokens.verify(session, protector, link)
    assert claim.is_display and claim.service_code == "PG0060001"
