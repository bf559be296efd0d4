"""No citizen ID in any clinic URL: not in a link, a form's action, a redirect, nor an address
the pages lead to, so none lands in browser history or a proxy's log.

Each role (facility staff, facility admin, system admin, registry office) looks a demo person
up in every way the pages offer (the counter's lookup, the records' and the report's filter,
typed plain and with dashes); then the walk opens every GET route of the url_map and follows
every link, frame and redirect of every page reached. Old ``?cid=`` addresses get a message,
and a lookup reference works only in the session that made it, for its lifetime.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit

import pytest
from sqlalchemy import select

from authencode.cid import format_cid
from authencode.db import utcnow
from authencode.demo import DEMO_HCODE, DEMO_PEOPLE, load_demo
from authencode.models import Person, StaffUser
from authencode.passwords import hash_password
from authencode.ratelimit import parse_limits
from authencode.services import issuance, lookup_refs
from authencode.services.people import find_person
from authencode.settings import Settings
from authencode.thaidate import service_day
from tests.support.clinic import PASSWORD, ClinicClient

BASE = f"/clinic/facilities/{DEMO_HCODE}"
PATIENT = DEMO_PEOPLE[0]  # นายสมชาย ใจดี
ROLES = ("staff", "clinic-admin", "admin", "registry")
# Attributes that hold a URL the browser requests or keeps in its history.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "srcset"}
SEPARATORS = re.compile(r"[\s\-+._\u2010-\u2015\u2212]")
MAX_PAGES = 400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No rate limits: every role looks up and walks many pages in a minute."""
    return settings.with_overrides(rate_limits=parse_limits("off"))


@pytest.fixture
def demo(app, protector) -> dict[str, int]:
    """The demo data (its logins include the registry office) and codes of the demo patient."""
    db = app.extensions["authencode"].db
    with db.transaction() as session:
        load_demo(session, protector, service_day())
        session.flush()
        for staff in session.scalars(select(StaffUser)):  # one password for every login
            staff.password_hash = hash_password(PASSWORD)
        person = find_person(session, protector, PATIENT.cid)
        assert isinstance(person, Person)
        staff_id = session.scalars(select(StaffUser.id).where(StaffUser.username == "staff")).one()
        ids = {"staff_id": staff_id}
        for service, channel in (("PG0060001", "smartcard"), ("PG0090001", "line")):
            ids[f"code_{channel}"] = ids["code_id"] = issuance.issue_code(
                session,
                person,
                hcode=DEMO_HCODE,
                service_code=service,
                phones="0812345678",
                channel=channel,
                recorder_staff_id=staff_id if channel == "smartcard" else None,
                hn="HN-1",
            ).code.id
    return ids


def cid_in(url: str) -> bool:
    """Whether a URL holds a CID: 13 digits in a row once decoded, separators aside."""
    text = unquote_plus(unquote_plus(url))
    return re.search(r"\d{13}", SEPARATORS.sub("", text)) is not None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES or name.endswith("-url") or name.endswith("-href"):
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            if tag == "meta" and name == "content" and "url=" in value.lower():
                self.urls.append(value.split("=", 1)[1])


def links_of(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def _logged_in(app, username: str) -> ClinicClient:
    cc = ClinicClient(app.test_client())
    assert cc.login(username).status_code == 302
    return cc


def _lookups(cc: ClinicClient) -> list[str]:
    """Every way the pages look a person up, typed plain and with dashes: where they lead."""
    today = service_day().isoformat()
    landed = []
    for typed in (PATIENT.cid, format_cid(PATIENT.cid)):
        for path, form in (
            (f"{BASE}/visit/lookup", {"cid": typed, "method": "cid_photo"}),
            (f"{BASE}/records", {"cid": typed}),
            (f"{BASE}/report", {"cid": typed, "date_from": today, "date_to": today}),
        ):
            response = cc.post(path, form)
            location = response.headers.get("Location")
            if location:
                landed.append(location)
    return landed


def _rule_urls(app, values: dict[str, Any]) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("clinic.") or "GET" not in (rule.methods or set()):
            continue
        if rule.endpoint in ("clinic.static", "clinic.reset_password"):
            continue
        known = {"hcode": DEMO_HCODE, "service_code": "PG0060001", **values}
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(known[name])).replace(
                f"<{name}>", str(known[name])
            )
        urls.append(path)
    return urls


def _walk(cc: ClinicClient, start: list[str]) -> tuple[list[str], set[str]]:
    """Open the pages breadth first, following links and redirects inside /clinic/; returns
    the URLs that held a CID (where seen) and the paths of the pages opened."""
    bad: list[str] = []
    seen: set[str] = set()
    queue = deque(start)
    opened: set[str] = set()
    while queue and len(opened) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        if cid_in(url):
            bad.append(f"requested {url}")
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith("/clinic/"):
            continue  # another site or a non-clinic page: checked above, not opened
        if parts.path.startswith("/clinic/static/"):
            continue
        response = cc.get(url)
        opened.add(parts.path)
        location = response.headers.get("Location")
        if location:
            if cid_in(location):
                bad.append(f"{url} redirects to {location}")
            queue.append(urljoin(url, location))
        if response.mimetype != "text/html":
            continue
        for link in links_of(response.get_data(as_text=True)):
            target = urljoin(url, link)
            if cid_in(link):
                bad.append(f"{url} links to {link}")
            queue.append(urlsplit(target)._replace(scheme="", netloc="").geturl())
    return bad, opened


def test_the_url_check_sees_a_cid_in_every_spelling() -> None:
    """The control for the walk: what it would have flagged."""
    cid = PATIENT.cid
    for url in (
        f"{BASE}/records?cid={cid}",
        f"{BASE}/visit?cid={format_cid(cid)}",
        f"/clinic/login?next=%2Fclinic%2Frecords%3Fcid%3D{cid}",
        f"{BASE}/records?cid={cid[:4]}+{cid[4:]}",
    ):
        assert cid_in(url), url
    assert not cid_in(f"{BASE}/records?date_from=2026-12-01&date_to=2026-12-02&page=2")
    assert links_of(f'<a href="/x?cid={cid}">a</a><form action="/y">') == [
        f"/x?cid={cid}",
        "/y",
    ]


@pytest.mark.parametrize("username", ROLES)
def test_no_clinic_url_holds_a_cid_after_lookups(app, demo, username) -> None:
    cc = _logged_in(app, username)
    landed = _lookups(cc)
    if username in ("staff", "clinic-admin", "admin"):  # the facility's own pages
        assert len(landed) == 6, landed
        assert all("person=" in url for url in landed)
        looked_up = cc.get(landed[0]).get_data(as_text=True)
        assert "สมชาย" in looked_up and 'data-cid="1-1017-xxxxx-03-0"' in looked_up
    values = {"code_id": demo["code_id"], "staff_id": demo["staff_id"]}
    bad, opened = _walk(cc, ["/clinic/", *landed, *_rule_urls(app, values)])
    assert bad == []
    # the walk really went through the app, and to the person's records from the lists
    assert len(opened) > 20
    if username != "registry":
        codes = (demo["code_smartcard"], demo["code_line"])
        assert {f"{BASE}/records/{i}/person" for i in codes} <= opened, sorted(opened)


@pytest.mark.parametrize(
    "path",
    [
        f"{BASE}/visit?cid={PATIENT.cid}",
        f"{BASE}/visit?method=cid_photo&cid={format_cid(PATIENT.cid)}",
        f"{BASE}/visit?certifier_cid={PATIENT.cid}",
        f"{BASE}/records?cid={PATIENT.cid}",
        f"{BASE}/report?cid={PATIENT.cid}&date_from=2026-12-01",
        f"{BASE}/report.csv?cid={PATIENT.cid}",
        f"{BASE}/report.xlsx?cid={PATIENT.cid}",
    ],
)
def test_an_old_cid_address_gets_a_message_not_a_lookup(app, demo, path) -> None:
    cc = _logged_in(app, "staff")
    response = cc.get(path)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "ระบบไม่รับเลขประจำตัวประชาชนทางที่อยู่เว็บ" in body
    assert "สมชาย" not in body  # no lookup was made
    assert PATIENT.cid not in SEPARATORS.sub("", body)  # nor the value echoed
    assert not any(cid_in(link) for link in links_of(body))


def test_signing_in_from_an_old_cid_address_does_not_carry_the_cid(app, demo) -> None:
    client = app.test_client()
    response = client.get(f"{BASE}/records?cid={PATIENT.cid}&date_from=2026-12-01")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/clinic/login" in location and not cid_in(location)
    assert "date_from" in unquote_plus(location)  # the rest of the address is kept
    typed_in_path = client.get(f"/clinic/facilities/{PATIENT.cid}/records")
    assert not cid_in(typed_in_path.headers["Location"])
    # a log-in link made to carry one anyway lands on the home page instead
    cc = ClinicClient(app.test_client())
    cc.get("/clinic/login")
    crafted = f"{BASE}/records?cid={format_cid(PATIENT.cid)}"
    done = cc.post("/clinic/login", {"username": "staff", "password": PASSWORD, "next": crafted})
    assert done.status_code == 302 and done.headers["Location"] == "/clinic/"


def _ref_of(cc: ClinicClient) -> str:
    location = cc.post(f"{BASE}/records", {"cid": PATIENT.cid}).headers["Location"]
    match = re.search(r"[?&]person=([^&]+)", location)
    assert match is not None
    return match.group(1)


def _sid(cc: ClinicClient) -> str:
    with cc.client.session_transaction() as flask_session:
        return str(flask_session["sid"])


@pytest.mark.parametrize("where", ["records", "report", "report.csv", "visit"])
def test_a_reference_from_another_session_is_refused(app, demo, where) -> None:
    owner = _logged_in(app, "staff")
    ref = _ref_of(owner)
    assert "สมชาย" in owner.get(f"{BASE}/records?person={ref}").get_data(as_text=True)
    thieves = {
        "another staff member": _logged_in(app, "clinic-admin"),
        "the same account, another browser": _logged_in(app, "staff"),
    }
    for who, thief in thieves.items():
        response = thief.get(f"{BASE}/{where}?person={ref}")
        body = response.get_data(as_text=True)
        assert response.status_code == 400, who
        assert "ลิงก์การค้นหานี้ใช้ไม่ได้" in body and "สมชาย" not in body, who
    # logging out and in again: the old session's references stop working too
    owner.post("/clinic/logout")
    owner.login("staff")
    assert owner.get(f"{BASE}/{where}?person={ref}").status_code == 400


def test_an_expired_or_altered_reference_is_refused(app, demo, protector) -> None:
    cc = _logged_in(app, "staff")
    sid = _sid(cc)
    made = utcnow() - lookup_refs.LIFETIME - dt.timedelta(seconds=1)
    expired = lookup_refs.make_ref(protector, PATIENT.cid, sid, now=made)
    response = cc.get(f"{BASE}/records?person={expired}")
    body = response.get_data(as_text=True)
    assert response.status_code == 410 and "การค้นหานี้หมดอายุแล้ว" in body
    assert "สมชาย" not in body and f"person={expired}" not in body  # links leave it out
    fresh = lookup_refs.make_ref(protector, PATIENT.cid, sid)
    assert "สมชาย" in cc.get(f"{BASE}/records?person={fresh}").get_data(as_text=True)
    flipped = fresh[:-3] + ("A" if fresh[-3] != "A" else "B") + fresh[-2:]
    for bad in (flipped, fresh[:-4], "x" * 80, "%00", "A" * 5000):
        assert cc.get(f"{BASE}/records?person={bad}").status_code == 400, bad
    # kept in the filter form and posted again after it expired: a message, no search
    posted = cc.post(f"{BASE}/records", {"person": expired, "date_from": "2026-12-01"})
    assert posted.status_code == 410 and "สมชาย" not in posted.get_data(as_text=True)


def test_the_filter_form_keeps_and_clears_the_person(app, demo) -> None:
    cc = _logged_in(app, "staff")
    ref = _ref_of(cc)
    page = cc.get(f"{BASE}/records?person={ref}").get_data(as_text=True)
    assert 'id="person-filter"' in page and "1-1017-xxxxx-03-0" in page
    kept = cc.post(f"{BASE}/records", {"person": ref, "channel": "line"})
    assert kept.status_code == 303 and f"person={ref}" in kept.headers["Location"]
    cleared = cc.post(f"{BASE}/records", {"person": ref, "clear_person": "1"})
    assert cleared.status_code == 303 and "person=" not in cleared.headers["Location"]


@pytest.mark.parametrize("path", [f"{BASE}/visit/lookup", f"{BASE}/records", f"{BASE}/report"])
def test_a_lookup_posted_without_the_forms_token_is_refused(app, demo, path) -> None:
    """Another site cannot make a staff member's browser look a person up (CSRF)."""
    cc = _logged_in(app, "staff")
    response = cc.post(path, {"cid": PATIENT.cid}, csrf=False)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "แบบฟอร์มหมดอายุ" in body
    assert "Location" not in response.headers and "สมชาย" not in body
