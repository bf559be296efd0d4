"""Reference data is defined once: the scripts and templates carry no copy of its labels, the
models' check constraints and the readers take it from authencode.reference."""

from __future__ import annotations

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
LABELS = sorted(
    {
        *reference.RELATION_LABELS_TH.values(),
        *(relation.label_en for relation in reference.FAMILY_RELATIONS),
        *reference.CHANNEL_LABELS_TH.values(),
        *reference.METHOD_LABELS_TH.values(),
        *reference.SELF_RECORDED_TH.values(),
    }
)


def test_front_end_files_are_found() -> None:
    names = {path.name for path in FRONT_END_FILES}
    assert {"liff.js", "family.html", "base.html"} <= names


@pytest.mark.parametrize("label", LABELS)
def test_no_script_or_template_copies_a_label(label: str) -> None:
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
