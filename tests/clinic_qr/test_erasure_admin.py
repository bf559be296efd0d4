"""The registry office's queue of erasures (clinic web app), on SQLite and PostgreSQL: only the
registry office and the system admin see it and mark an erasure handled, once, with a token."""

from __future__ import annotations

import pytest

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.models import ErasureRequest
from authencode.services import consent, erasure, line_accounts
from authencode.services.registration import RegistrationPolicy
from tests.support.clinic import ClinicClient, World
from tests.support.factories import make_person, new_cid, register_self


def _erased(db: Database, protector: DataProtector) -> int:
    with db.transaction() as session:
        cid = new_cid()
        make_person(session, protector, cid, first_name_th="มานี", last_name_th="มีนา")
        account, _ = line_accounts.get_or_create_account(session, "U" + "e" * 32)
        consent.accept(session, account, consent.CONSENT_VERSION)
        register_self(session, protector, account, cid, "0812345678", RegistrationPolicy())
        return erasure.erase(session, account).request.id


@pytest.mark.parametrize("username", ["a-admin", "a-staff"])
def test_only_the_registry_office_and_the_system_admin_see_erasures(
    clinic_client: ClinicClient, clinic_world: World, protector: DataProtector, username: str
) -> None:
    db = clinic_world.db
    row_id = _erased(db, protector)
    clinic_client.login(username)
    assert "/clinic/erasures" not in clinic_client.get("/clinic/").get_data(as_text=True)
    assert clinic_client.get("/clinic/erasures").status_code == 403
    assert clinic_client.post(f"/clinic/erasures/{row_id}/review").status_code == 403

    root = ClinicClient(clinic_client.client.application.test_client())
    root.login("root")
    html = root.get("/clinic/erasures").get_data(as_text=True)
    assert f'data-erasure="{row_id}"' in html and "มานี มีนา" in html
    assert root.post("/clinic/erasures/999999/review").status_code == 404
    assert root.post(f"/clinic/erasures/{row_id}/review", csrf=False).status_code in (400, 403)
    assert root.post(f"/clinic/erasures/{row_id}/review").status_code == 302
    assert root.post(f"/clinic/erasures/{row_id}/review").status_code == 409
    with db.sessionmaker() as session:
        row = session.get_one(ErasureRequest, row_id)
        assert row.reviewed_by_staff_id == clinic_world.ids["root"]
    handled = root.get("/clinic/erasures").get_data(as_text=True)
    assert handled.index(f'data-erasure="{row_id}"') > handled.index('id="reviewed-erasures"')
