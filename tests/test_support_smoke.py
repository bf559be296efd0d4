"""The shared real parts the page tests rely on: live server, browser, local SMTP."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage


def test_browser_reads_thai_from_the_live_server(live_server: str, page, screenshot) -> None:
    page.goto(f"{live_server}/")
    assert page.locator("html").get_attribute("lang") in ("th", "th-TH")
    assert "Authen" in page.title()
    assert screenshot(page, "index").stat().st_size > 0


def test_local_smtp_server_receives_mail(smtp_server) -> None:
    message = EmailMessage()
    message["From"] = "noreply@authen.example"
    message["To"] = "staff@clinic.example"
    message["Subject"] = "ทดสอบ"
    message.set_content("สวัสดี")
    host, port = smtp_server.url.removeprefix("smtp://").split(":")
    with smtplib.SMTP(host, int(port)) as smtp:
        smtp.send_message(message)
    got = smtp_server.sink.wait_for("staff@clinic.example")
    assert got["Subject"] == "ทดสอบ" and "สวัสดี" in got.get_content()
