"""What the LIFF API answers: persons, codes and rights as JSON (CIDs and phones masked)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from authencode.crypto import DataProtector
from authencode.models import AuthenCode, Facility, FamilyLink, PcuChangeRequest, Person
from authencode.phone import mask_phone
from authencode.services import link_trust, unit_words
from authencode.services.pcu_change import PcuStatus, current_unit
from authencode.services.people import RightRef, Rights, UnitRef, person_masked_cid
from authencode.services.registration import RightsView
from authencode.thaidate import BE_OFFSET, LANGUAGES, be_datetime, date_label, datetime_label, local

Json = dict[str, Any]


def moment_labels(moment: dt.datetime) -> dict[str, str]:
    """A moment as each language's reader reads it: BE in Thai, CE in English."""
    return {lang: datetime_label(moment, lang) for lang in LANGUAGES}


def datetime_en(moment: dt.datetime | None) -> str | None:
    """The English (Common Era) twin of a ``*_be`` field."""
    return datetime_label(moment, "en") if moment is not None else None


def right_json(right: RightRef | None) -> Json | None:
    if right is None:
        return None
    return {
        "code": right.code,
        "name_th": right.name_th,
        "name_en": right.name_en,
        "display_th": right.display_th,
        "display_en": f"({right.code}) {right.name_en}" if right.code else right.name_en,
    }


def unit_json(unit: UnitRef | None) -> Json | None:
    """A registered unit, with its label as every page names it ("name (code)")."""
    if unit is None:
        return None
    label = unit_words.unit_label(unit.hcode, {unit.hcode: unit.hname} if unit.hname else {})
    return {"hcode": unit.hcode, "hname": unit.hname, "label": label}


def person_name_en(person: Person) -> str:
    return person.full_name_en or person.full_name_th


def level_json(link: FamilyLink) -> Json:
    """The link's level, its Thai name and what it means (how to verify)."""
    return {
        "level": link.level,
        "level_th": link_trust.LEVEL_TH[link.level],
        "level_en": link_trust.LEVEL_EN[link.level],
        "level_note_th": link_trust.level_note_th(link),
    }


def member_json(protector: DataProtector, link: FamilyLink, view: RightsView | None) -> Json:
    """A linked person as the link's level allows: a pending link shows only the masked CID;
    an unverified one whether the right allows the service, not which right it is."""
    person = link.person
    detail = view.detail if view else None
    visible = view is not None
    return {
        "id": link.id,
        "slot": link.slot,
        "is_self": link.slot == 0,
        "relation": link.relation,
        **level_json(link),
        "name": person.full_name_th if visible else None,
        "name_en": person_name_en(person) if visible else None,
        "masked_cid": person_masked_cid(protector, person),
        "phone_masked": mask_phone(link.phone),
        "eligible": view.eligible if view else None,
        "main_right": right_json(detail.main) if detail else None,
        "sub_right": right_json(detail.sub) if detail else None,
    }


def code_json(protector: DataProtector, code: AuthenCode) -> Json:
    return {
        "code": code.code,
        "status": code.status,
        "service_code": code.service_code,
        "service_name_th": code.service.name_th,
        "service_name_en": code.service.name_en,
        "hcode": code.facility.hcode,
        "facility_name": code.facility.name,
        "service_date": code.service_date.isoformat(),
        "service_at": local(code.service_at).isoformat(timespec="seconds"),
        "service_at_be": be_datetime(code.service_at),
        "service_at_en": datetime_en(code.service_at),
        "person_id": code.person_id,
        "person_name": code.person.full_name_th,
        "person_name_en": person_name_en(code.person),
        "masked_cid": person_masked_cid(protector, code.person),
        "channel": code.channel,
    }


def pcu_request_json(row: PcuChangeRequest) -> Json:
    return {
        "id": row.id,
        "status": row.status,
        "from_hcode": row.from_hcode,
        "to_hcode": row.to_hcode,
        "fiscal_year_be": row.fiscal_year + BE_OFFSET,
        "fiscal_year": row.fiscal_year,
        "requested_at_be": be_datetime(row.requested_at),
        "requested_at_en": datetime_en(row.requested_at),
        "decided_at_be": be_datetime(row.decided_at) if row.decided_at else None,
        "decided_at_en": datetime_en(row.decided_at),
    }


def eligibility_json(protector: DataProtector, link: FamilyLink, view: RightsView) -> Json:
    """The rights answer of an unverified link: eligible or not, and how to see more."""
    person = link.person
    return {
        "member_id": link.id,
        "name": person.full_name_th,
        "name_en": person_name_en(person),
        **level_json(link),
        "masked_cid": person_masked_cid(protector, person),
        "eligible": view.eligible,
        "detail": False,
    }


def rights_json(
    protector: DataProtector,
    link: FamilyLink,
    found: Rights,
    pcu: PcuStatus,
    facility_names: dict[str, str],
    eligible: bool,
) -> Json:
    """The detailed rights answer; every text about units and their changes comes from
    authencode.services.unit_words, as the chat and the clinic page show them."""
    person = link.person
    pending = pcu_request_json(pcu.pending) if pcu.pending else None
    if pcu.pending is not None and pending is not None:
        pending["to_hname"] = facility_names.get(pcu.pending.to_hcode, "")
        for lang in ("th", "en"):
            words = unit_words.change_words(pcu.pending, facility_names, lang)
            pending[f"text_{lang}"] = words.pending
            pending[f"main_unchanged_{lang}"] = words.main_unchanged
    return {
        "member_id": link.id,
        "name": person.full_name_th,
        "name_en": person_name_en(person),
        **level_json(link),
        "eligible": eligible,
        "detail": True,
        "masked_cid": person_masked_cid(protector, person),
        "main_right": right_json(found.main),
        "sub_right": right_json(found.sub),
        "hosp_main": unit_json(found.hosp_main),
        "hosp_sub": unit_json(found.hosp_sub),
        "hosp_main_op": unit_json(found.hosp_main_op),
        "primary_care_unit": current_unit(person),
        "checked_at_be": be_datetime(found.checked_at),
        "checked_at_en": datetime_en(found.checked_at),
        "checked_date_be": date_label(local(found.checked_at).date()),
        "pcu_change": {
            "fiscal_year_be": pcu.fiscal_year + BE_OFFSET,
            "fiscal_year": pcu.fiscal_year,
            "used": pcu.used,
            "pending_count": pcu.pending_count,
            "limit": pcu.limit,
            "remaining": pcu.remaining,
            "quota_th": unit_words.quota_text(pcu, "th"),
            "quota_en": unit_words.quota_text(pcu, "en"),
            "pending": pending,
        },
    }


def facility_json(facility: Facility) -> Json:
    return {
        "hcode": facility.hcode,
        "name": facility.name,
        "label": unit_words.unit_label(facility.hcode, {facility.hcode: facility.name}),
        "province": facility.province_name or "",
    }
