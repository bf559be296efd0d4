"""Fixtures for the reader agent: real pcscd + vpcd, virtual cards, a fake server, the agent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fake_authen_server import CLINIC_ORIGIN, FACILITY_TOKEN, FakeAuthenServer
from pcsc_stack import PcscDaemon, exclusive_use, wait_for_card
from virtual_card import READER_NAMES, VirtualThaiIdCard


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscDaemon]:
    """pcscd running in the foreground with the vpcd readers, for the whole session."""
    daemon = PcscDaemon(tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    daemon.check_prerequisites()
    with exclusive_use():
        daemon.start()
        try:
            yield daemon
        finally:
            daemon.stop()


InsertCard = Callable[..., VirtualThaiIdCard]


@pytest.fixture
def insert_card(pcscd: PcscDaemon) -> Iterator[InsertCard]:
    """Insert a virtual card into a vpcd reader and wait until pcscd sees it.

    Every card is taken out again after the test, and the test waits for pcscd to notice,
    so the next test starts with empty readers.
    """
    inserted: list[tuple[VirtualThaiIdCard, int]] = []

    def insert(card: VirtualThaiIdCard | None = None, reader_index: int = 0) -> VirtualThaiIdCard:
        card = card or VirtualThaiIdCard()
        card.insert(reader_index)
        inserted.append((card, reader_index))
        wait_for_card(READER_NAMES[reader_index], present=True)
        return card

    yield insert
    for card, reader_index in inserted:
        card.remove()
        wait_for_card(READER_NAMES[reader_index], present=False)


@pytest.fixture
def fake_server() -> Iterator[FakeAuthenServer]:
    """The fake Authen Code server, serving in a thread."""
    server = FakeAuthenServer()
    server.start()
    yield server
    server.stop()


@dataclass
class RunningAgent:
    """The agent's HTTP server running in a thread, and where to reach it."""

    url: str
    port: int
    service: object
    server: object = None  # its AgentHttpServer: a test may stop it (shutdown, server_close)


@pytest.fixture
def agent_factory(
    fake_server: FakeAuthenServer,
) -> Iterator[Callable[..., RunningAgent]]:
    """Start agents (HTTP API on 127.0.0.1, any free port) configured for the fake server."""
    from reader_agent.cli import build_server
    from reader_agent.config import AgentConfig

    servers = []

    def start(
        default_reader: str | None = None,
        server_url: str | None = None,
        api_token: str = FACILITY_TOKEN,
        port: int = 0,
        allowed_origins: tuple[str, ...] = (CLINIC_ORIGIN,),
        kiosk: bool = False,
    ) -> RunningAgent:
        config = AgentConfig(
            server_url=server_url or fake_server.url,
            api_token=api_token,
            port=port,
            default_reader=default_reader,
            allowed_origins=allowed_origins,
            server_timeout=5,
            kiosk=kiosk,
        )
        server = build_server(config)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return RunningAgent(f"http://127.0.0.1:{server.port}", server.port, server.service, server)

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def agent(pcscd: PcscDaemon, agent_factory: Callable[..., RunningAgent]) -> RunningAgent:
    """An agent with no default reader, talking to the fake server."""
    return agent_factory()


# --- the real Authen Code server (live, on PostgreSQL) for end-to-end agent tests ----------

LIVE_HCODE = "10670"
LIVE_OTHER_HCODE = "10671"
LIVE_PIN = "2580"


@dataclass
class LiveAuthenServer:
    """The real server over HTTP, with one clinic and one other facility seeded."""

    url: str
    db: object  # authencode.db.Database of the live application
    token: str  # the clinic's facility API token
    other_token: str  # the other facility's
    staff_id: int


@pytest.fixture
def live_authen_server(live_server: str, live_app, protector) -> LiveAuthenServer:
    """Seed the live server: the clinic (its services, staff with PIN, token), a patient
    whose CID is the virtual card's, and another facility with its own staff and token.

    The staff CIDs are those the tests put on their own virtual staff cards.
    """
    from authencode.passwords import hash_password
    from authencode.services.api_tokens import create_token
    from tests.support.factories import make_facility, make_person, make_staff

    db = live_app.extensions["authencode"].db
    with db.transaction() as session:
        clinic = make_facility(
            session, hcode=LIVE_HCODE, name="โรงพยาบาลตัวอย่าง", services=("PG0060001", "PG0150001")
        )
        other = make_facility(session, hcode=LIVE_OTHER_HCODE, name="คลินิกอีกแห่ง")
        make_person(
            session,
            protector,
            cid="1101700207030",
            first_name_th="สมชาย",
            last_name_th="ใจดี",
            birth_year=1987,
            birth_month=1,
            birth_day=15,
            hosp_main=LIVE_HCODE,
            hosp_main_op=LIVE_HCODE,
        )
        staff = make_staff(
            session, protector, clinic, cid="3100600123450", pin_hash=hash_password(LIVE_PIN)
        )
        make_staff(
            session,
            protector,
            other,
            username="other-staff",
            cid="3100600123468",
            pin_hash=hash_password(LIVE_PIN),
        )
        token = create_token(session, clinic, "reader agent", "test", "agent").secret
        other_token = create_token(session, other, "reader agent", "test", "agent").secret
    return LiveAuthenServer(live_server, db, token, other_token, staff.id)
