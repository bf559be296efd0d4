"""Every audit action the code can write has a Thai and an English label, and the labels
read as the clinic shows them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from authencode import reference
from tests.support.audit_actions import Unresolved, written_actions

THAI = re.compile("[\u0e00-\u0e7f]")
ROOT = Path(__file__).resolve().parents[2]


def test_every_action_the_code_writes_has_a_label() -> None:
    written = written_actions(ROOT)
    assert {"code.issue", "code.cancel", "staff.approve", "consent.withdrawn"} <= set(written)
    missing = {
        action: where for action, where in written.items() if action not in reference.AUDIT_ACTIONS
    }
    assert not missing, f"audit actions without a label in authencode.reference: {missing}"


def test_no_label_for_an_action_nothing_writes() -> None:
    assert set(reference.AUDIT_ACTIONS) <= set(written_actions(ROOT))


def test_labels_are_thai_and_english_sentences() -> None:
    for action, (thai, english) in reference.AUDIT_ACTIONS.items():
        assert THAI.search(thai), action
        assert english and not THAI.search(english) and "." not in english, action


def test_an_edit_names_its_fields_in_the_language() -> None:
    details: dict[str, object] = {"fields": ["an", "hn", "phones", "service_code"], "reason": "x"}
    assert (
        reference.audit_label("code.edit", details, "th")
        == "แก้ไขรายการ (AN, HN, เบอร์โทรศัพท์, บริการ)"
    )
    assert (
        reference.audit_label("code.edit", details, "en")
        == "Edited the record (AN, HN, phone numbers, service)"
    )
    assert reference.audit_label("code.cancel", {}, "th") == "ยกเลิกรหัส Authen Code"


def test_the_reader_follows_parameters_and_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    """A new action is found wherever it is written; one the reader cannot work out fails
    the walk instead of slipping past it."""
    package = tmp_path / "authencode"
    package.mkdir()
    (package / "a.py").write_text(
        "from authencode.services import audit\n"
        "def _log(session, action):\n"
        "    audit.record(session, 'cli', action, '')\n"
        "def one(session, ok):\n"
        "    _log(session, 'thing.done' if ok else 'thing.failed')\n"
        "    audit.record(session, 'cli', f\"thing.{'x' if ok else 'y'}\")\n",
        encoding="utf-8",
    )
    assert set(written_actions(tmp_path)) == {"thing.done", "thing.failed", "thing.x", "thing.y"}
    (package / "b.py").write_text(
        "from authencode.services import audit\n"
        "def two(session, row):\n"
        "    audit.record(session, 'cli', f'thing.{row.status}')\n",
        encoding="utf-8",
    )
    with pytest.raises(Unresolved, match=r"row\.status"):
        written_actions(tmp_path)
