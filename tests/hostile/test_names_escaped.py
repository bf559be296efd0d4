"""Names carrying HTML, script or spreadsheet formulas — from the registry import, a facility
or a staff member's own registration, or read off a card — are shown as text everywhere:
escaped in every clinic page, plain text in the JSON the LIFF pages and the agent hand to
their scripts (which only ever set textContent), text components in Flex messages, and
inert cells in the CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from linebot.v3.messaging import FlexMessage
from openpyxl import load_workbook
from sqlalchemy import select

from authencode.models import ApiToken, AuthenCode, Facility, OutboxMessage, Person, StaffUser
from authencode.services import issuance
from authencode.services.registry_import import import_registry, parse_text
from authencode.thaidate import service_day
from linebot_app.flex import code_message, code_view
from reader_agent.agent_service import card_fields
from reader_agent.thai_id import parse_card
from tests.support.clinic import ClinicClient
from tests.support.clinic import World as ClinicWorld
from tests.support.factories import new_cid
from tests.support.liff import JwksServer, bearer, new_user_id, registered
from tests.support.liff import World as LiffWorld

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FORMULA = "=cmd|' /C calc'!A0"
ROOT = Path(__file__).resolve().parents[2]


class _Markup(HTMLParser):
    """What a browser would run: script bodies, event-handler attributes, javascript: links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.active: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.active.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert(1)" in data:
            self.active.append(f"script: {data[:80]}")


def assert_inert(html: str, *, shows: tuple[str, ...] = ()) -> None:
    """No hostile markup is live in the page, and each of `shows` appears as text."""
    parser = _Markup()
    parser.feed(html)
    assert not parser.active, parser.active
    assert SCRIPT not in html and "<img src=x" not in html
    text = _Text()
    text.feed(html)
    for wanted in shows:
        assert wanted in text.text, wanted


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""

    def handle_data(self, data: str) -> None:
        self.text += data

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.text += " ".join(v or "" for _, v in attrs)  # values of inputs count as shown


REGISTRY_CSV = (
    "cid,title_th,first_name_th,middle_name_th,last_name_th,first_name_en,last_name_en,sex,"
    "birth_date,main_right\n"
    '{cid},"{title}","{first}",,"{last}","{first}","{last}",1,25300115,UCS\n'
)


def _hostile_person(db: Any, protector: Any) -> tuple[str, Person]:
    """A registry person imported from CSV with a formula title and markup names."""
    cid = new_cid()
    text = REGISTRY_CSV.format(
        cid=cid, title=FORMULA.replace('"', '""'), first=SCRIPT, last=IMG.replace('"', '""')
    )
    with db.transaction() as session:
        import_registry(session, protector, parse_text(text))
    with db.sessionmaker() as session:
        person = session.scalar(select(Person).where(Person.first_name_th == SCRIPT))
        assert person is not None and person.last_name_th == IMG
        assert person.title_th == FORMULA
    return cid, person


@pytest.fixture
def hostile_clinic(app: Any, protector: Any, clinic_world: ClinicWorld) -> dict[str, Any]:
    """Facility A named with markup, its staff member and an API token too, and a hostile
    registry person with a code issued there."""
    db = clinic_world.db
    cid, person = _hostile_person(db, protector)
    with db.transaction() as session:
        facility = session.scalar(select(Facility).where(Facility.hcode == clinic_world.a_hcode))
        assert facility is not None
        facility.name = f"รพ.สต.{IMG}"
        staff = session.get(StaffUser, clinic_world.ids["a-staff"])
        assert staff is not None
        staff.first_name, staff.last_name = SCRIPT, IMG
        token = session.get(ApiToken, clinic_world.ids["a_token"])
        assert token is not None
        token.name = SCRIPT
        row = session.get(Person, person.id)
        assert row is not None
        code = issuance.issue_code(
            session,
            row,
            hcode=clinic_world.a_hcode,
            service_code="PG0060001",
            phones="0812345678",
            channel="line",
            verify_method="line_qr",
            hn="<b>HN</b>",
        ).code
        code_id = code.id
    return {"cid": cid, "code_id": code_id, "staff_id": clinic_world.ids["a-staff"]}


def test_every_clinic_page_shows_hostile_names_as_text(
    clinic_client: ClinicClient, clinic_world: ClinicWorld, hostile_clinic: dict[str, Any]
) -> None:
    assert clinic_client.login("a-admin").status_code == 302
    base = f"/clinic/facilities/{clinic_world.a_hcode}"
    code_id, cid = hostile_clinic["code_id"], hostile_clinic["cid"]
    today = service_day().isoformat()
    # a CID is looked up by POST; the pages name the person by a reference
    searched = clinic_client.post(
        f"{base}/records", {"cid": cid, "date_from": today, "date_to": today}
    ).headers["Location"]
    looked_up = clinic_client.post(f"{base}/visit/lookup", {"cid": cid}).headers["Location"]
    pages = {
        "/clinic/": (IMG,),
        base: (IMG,),
        f"{base}/records": (SCRIPT, IMG),
        searched: (SCRIPT,),
        f"{base}/records/{code_id}": (SCRIPT, IMG),
        f"{base}/records/{code_id}/person": (SCRIPT,),
        f"{base}/visits/{code_id}": (SCRIPT,),
        looked_up: (SCRIPT,),
        f"{base}/report?date_from={today}&date_to={today}": (),
        f"{base}/qr": (IMG,),
        f"{base}/display/PG0060001": (),
        f"{base}/tokens": (SCRIPT,),
        f"{base}/kiosks": (),
        f"{base}/keys": (),
        "/clinic/staff": (SCRIPT,),
        f"/clinic/staff/{hostile_clinic['staff_id']}": (SCRIPT, IMG),
        # markup typed into a search box comes back in the form, escaped
        f"{base}/records?code={SCRIPT}&cid={IMG}": (),
    }
    for path, shows in pages.items():
        response = clinic_client.get(path)
        assert response.status_code in (200, 400), (path, response.status_code)
        assert response.mimetype == "text/html"
        assert_inert(response.get_data(as_text=True), shows=shows)


def test_the_qr_svg_keeps_a_hostile_facility_name_as_text(
    clinic_client: ClinicClient, clinic_world: ClinicWorld, hostile_clinic: dict[str, Any]
) -> None:
    assert clinic_client.login("a-admin").status_code == 302
    response = clinic_client.get(f"/clinic/facilities/{clinic_world.a_hcode}/qr/PG0060001.svg")
    assert response.status_code == 200
    svg = response.get_data(as_text=True)
    assert "<img" not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg


def test_exports_keep_names_as_inert_text(
    clinic_client: ClinicClient, clinic_world: ClinicWorld, hostile_clinic: dict[str, Any]
) -> None:
    assert clinic_client.login("a-admin").status_code == 302
    today = service_day().isoformat()
    query = f"?date_from={today}&date_to={today}"
    base = f"/clinic/facilities/{clinic_world.a_hcode}"
    response = clinic_client.get(f"{base}/report.csv{query}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    name = next(cell for cell in cells if SCRIPT in cell)
    assert name.startswith("'=")  # Excel and LibreOffice show it, never run it
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)
    assert IMG in name

    response = clinic_client.get(f"{base}/report.xlsx{query}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    values = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value]
    hostile = next(cell for cell in values if SCRIPT in str(cell.value))
    assert hostile.data_type == "s" and hostile.value.startswith("=")  # a string, no formula
    assert all(cell.data_type != "f" for cell in values)


def test_the_liff_api_and_the_pushed_flex_message_carry_names_as_text(
    client: Any, jwks: JwksServer, world: LiffWorld, protector: Any
) -> None:
    cid, person = _hostile_person(world.db, protector)
    token = jwks.token(new_user_id())
    member = registered(
        client,
        token,
        cid,
        birth=f"{person.birth_year}-{person.birth_month or 0:02d}-{person.birth_day or 0:02d}",
    )
    assert member["name"] == f"{FORMULA}{SCRIPT} {IMG}"
    response = client.post(
        "/liff/api/codes",
        headers=bearer(token),
        json={"member_id": member["id"], "scanned": world.display_url()},
    )
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    assert response.json["code"]["person_name"] == member["name"]
    with world.session() as session:
        pushes = [
            json.loads(row.payload) if isinstance(row.payload, str) else row.payload
            for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
        code = session.scalars(select(AuthenCode)).one()
        built = code_message(code_view(protector, code))
    flex = [m for push in pushes for m in _messages(push) if m.get("type") == "flex"]
    assert flex == [built]
    texts = _flex_texts(built["contents"])
    assert member["name"] in texts  # the whole name, unescaped, as a text component
    FlexMessage.from_dict(built)  # and LINE's own model accepts the message


def _messages(push: Any) -> list[dict[str, Any]]:
    if isinstance(push, dict):
        return list(push.get("messages", [push]))
    return list(push)


def _flex_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "text" else []
        return found + [t for value in node.values() for t in _flex_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _flex_texts(item)]
    return []


def test_a_card_with_markup_in_its_name_gives_the_agent_plain_text() -> None:
    name = f"นาย#{SCRIPT}#{IMG}#ใจดี".encode("cp874")
    fields = {
        "cid": b"1101700207030",
        "name_th": name.ljust(100, b" "),
        "name_en": b"Mr.#John##Doe".ljust(100, b" "),
        "birth_date": b"25300115",
        "sex": b"1",
        "issuer": b"x",
        "issue_date": b"25600101",
        "expiry_date": b"99999999",
        "address": b"1#",
    }
    answer = card_fields(parse_card(fields, None))
    assert (answer["fname"], answer["lname"]) == (f"{SCRIPT} {IMG}", "ใจดี")


_HTML_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\.html\(")


@pytest.mark.parametrize(
    "script",
    [
        "liff_web/static/liff/liff.js",
        "clinic_qr/static/clinic/visit.js",
        "clinic_qr/static/clinic/display.js",
        "clinic_qr/static/clinic/slip.js",
        "clinic_qr/static/clinic/verify.js",
    ],
)
def test_page_scripts_only_ever_set_text(script: str) -> None:
    """The LIFF pages and the clinic's card-read form render names from JSON in the
    browser; they may do so only through textContent, never as markup."""
    source = (ROOT / script).read_text(encoding="utf-8")
    assert not _HTML_SINKS.search(source), script
