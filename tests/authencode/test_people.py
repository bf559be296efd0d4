"""Registry persons (authencode.services.people): found by CID through its keyed hash only,
and their rights as recorded here, with Thai names and units."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.services import people
from tests.support.factories import make_facility, make_person, new_cid


def test_a_person_is_found_by_the_hash_of_a_valid_cid(
    session: Session, protector: DataProtector
) -> None:
    cid = new_cid()
    person = make_person(session, protector, cid)
    assert people.get_person(session, protector, f"{cid[0]}-{cid[1:5]}-{cid[5:10]}-{cid[10:]}") is (
        person
    )
    assert cid not in repr(person.cid_hash) and cid.encode() not in person.cid_enc
    assert people.person_cid(protector, person) == cid
    masked = people.person_masked_cid(protector, person)
    assert masked != cid and masked.endswith(cid[-1])
    for raw, code in (("", "CID_REQUIRED"), (cid[:-1] + "0" if cid[-1] != "0" else cid[:-1] + "1",
                      "CID_CHECK_DIGIT"), (new_cid(), "PERSON_NOT_FOUND")):  # fmt: skip
        with pytest.raises(DomainError) as caught:
            people.get_person(session, protector, raw)
        assert caught.value.code == code


def test_rights_as_recorded_with_names_and_units(
    session: Session, protector: DataProtector
) -> None:
    make_facility(session, "10675", "รพ.สต.บ้านทดสอบ")
    person = make_person(
        session, protector, main_right="UCS", sub_right="ZZ", hosp_main="10675", hosp_sub="99999"
    )
    rights = people.LocalRegistryRights().rights_for(session, person)
    assert rights.main.code == "UCS" and rights.main.display_th.startswith("(UCS) ")
    assert rights.sub is not None and (rights.sub.code, rights.sub.name_th) == ("ZZ", "ZZ")
    assert rights.hosp_main == people.UnitRef("10675", "รพ.สต.บ้านทดสอบ")
    assert rights.hosp_sub == people.UnitRef("99999", "")  # a unit not known here
    assert rights.hosp_main_op is None
    nobody = make_person(session, protector, main_right=None, sub_right=None)
    none = people.LocalRegistryRights().rights_for(session, nobody)
    assert (none.main.code, none.main.display_th, none.sub) == (None, people.NO_RIGHT_TH, None)
