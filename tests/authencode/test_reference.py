"""Reference data is defined once: the scripts and templates carry no copy of its labels, the
models' check constraints and the readers take it from authencode.reference."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from authencode import reference
from authencode.models import AuthenCode
from authencode.services import issuance, report_exports

ROOT = Path(__file__).resolve().parents[2]
FRONT_END_FILES = sorted(
    path
    for package in ("liff_web", "clinic_qr", "linebot_app")
    for pattern in ("templates/**/*.html", "static/**/*.js")
    for path in (ROOT / package).glob(pattern)
    if "vendor" not in path.parts
)
THAI = re.compile("[\u0e00-\u0e7f]")


def _thai_strings(value: object) -> set[str]:
    """Every string with Thai letters in a reference constant (tuples, dicts, dataclasses)."""
    if isinstance(value, str):
        return {value} if THAI.search(value) else set()
    if isinstance(value, dict):
        return _thai_strings(list(value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _thai_strings(dataclasses.astuple(value))
    if isinstance(value, tuple | list | set | frozenset):
        return set().union(*(_thai_strings(item) for item in value))
    return set()


# Every Thai label of authencode.reference, found by walking its constants (a new one is
# covered without editing this test), but the statuses' and the audit log's: everyday words
# ("ใช้งาน", "อนุมัติ", "เข้าสู่ระบบ") that buttons and headings use in their own sense.
EVERYDAY = (
    "STATUS_LABELS_TH",
    "CODE_STATUS_LABELS",
    "STAFF_STATUSES",
    "PCU_REQUEST_STATUSES",
    "ERASURE_STATUSES",
    "CREDENTIAL_STATUSES",
    "LINK_LEVELS",
    "CODE_FIELDS",
    "AUDIT_ACTIONS",
    "CONSENT_DECISIONS",  # the audit log's words for them
)
THAI_LABELS = set().union(
    *(
        _thai_strings(getattr(reference, name))
        for name in dir(reference)
        if name.isupper() and name not in EVERYDAY
    )
)
LABELS = sorted(
    {
        *THAI_LABELS,
        *(relation.label_en for relation in reference.FAMILY_RELATIONS),
        *reference.SELF_PAGE_LABELS.values(),
    }
)


def test_the_labels_walked_include_each_kind() -> None:
    for label in (
        reference.RELATION_LABELS_TH["child"],
        reference.CHANNEL_LABELS_TH["line"],
        reference.METHOD_LABELS_TH["photo"],
        reference.RIGHTS[("main", "UCS")].label_th,
        reference.RIGHTS[("sub", "89")].label_th,
        reference.NO_RIGHT_TH,
        reference.SELF_RELATION_TH,
        reference.SELF_PAGE_LABELS["th"],
        reference.CERTIFIER_RELATIONS["staff"][0],
    ):
        assert label in LABELS, label


def test_front_end_files_are_found() -> None:
    names = {path.name for path in FRONT_END_FILES}
    assert {"liff.js", "family.html", "base.html"} <= names


@pytest.mark.parametrize("label", LABELS)
def test_no_script_or_template_copies_a_label(label: str) -> None:
    """A label of authencode.reference appears in no .js or template file as a whole string
    (quoted, or a tag's whole text): they take it from the one definition."""
    copies = [
        str(path.relative_to(ROOT))
        for path in FRONT_END_FILES
        if f"'{label}'" in (text := path.read_text(encoding="utf-8"))
        or f">{label}<" in text
        or f'"{label}"' in text
    ]
    assert copies == []


def test_check_constraints_are_built_from_the_tuples() -> None:
    table = AuthenCode.metadata.tables[AuthenCode.__tablename__]
    checks = {
        str(c.name).rsplit("_", 2)[-2] + "_known": str(c.sqltext)
        for c in table.constraints
        if isinstance(c, sa.CheckConstraint)
    }
    for channel in reference.CHANNELS:
        assert f"'{channel}'" in checks["channel_known"]
    for status in reference.CODE_STATUSES:
        assert f"'{status}'" in checks["status_known"]


def test_every_channel_has_a_method_and_labels() -> None:
    for channel in reference.CHANNELS:
        method = issuance.DEFAULT_METHOD[channel]
        assert reference.CHANNEL_LABELS_TH[channel] and reference.METHOD_LABELS_TH[method]
    assert set(report_exports.SELF_RECORDED_TH) == {"line", "kiosk"}


def test_rights_are_read_from_the_reference() -> None:
    """The rights lookup and the export labels take a right's name from authencode.reference;
    a code it does not know shows as itself."""
    from authencode.services.people import _right

    ucs = _right("main", "UCS")
    assert ucs is not None
    assert ucs.display_th == f"(UCS) {reference.RIGHTS[('main', 'UCS')].label_th}"
    assert _right("main", "XYZ") == type(ucs)("XYZ", "XYZ", "XYZ")
    assert _right("sub", None) is None
