"""Which changes become case notifications (pure detection), and how the comment's text is read."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.bridge.changes import RecordChange
from adapter.bridge.notifications import detect, latest_comment
from adapter.settings import load_settings

ME = {"sys_id": "a" * 32, "user_name": "beth.anglin"}


def _change(kind: str = "updated", changed: tuple[str, ...] = (), **fields: Any) -> RecordChange:
    record = {
        "sys_id": {"value": "c" * 32, "display_value": "c" * 32},
        "number": {"value": "CS0001001", "display_value": "CS0001001"},
        "assigned_to": {"value": "a" * 32, "display_value": "Beth Anglin"},
        "sys_updated_by": {"value": "admin", "display_value": "admin"},
        "contact.user_name": {
            "value": "ava.dubois.relecloudtreasury",
            "display_value": "ava.dubois.relecloudtreasury",
        },
        "contact.name": {"value": "Ava Dubois", "display_value": "Ava Dubois"},
    }
    record.update({name: {"value": value, "display_value": value} for name, value in fields.items()})
    return RecordChange("sn_customerservice_case", "c" * 32, "CS0001001", kind, changed, record)  # type: ignore[arg-type]


def test_someone_else_assigning_a_case_to_the_user_is_notified() -> None:
    found = detect(_change(changed=("assigned_to",)), ME)
    assert found is not None
    assert (found.kind, found.author) == ("assigned", "admin")


def test_a_case_created_already_assigned_to_the_user_is_notified() -> None:
    found = detect(_change("created"), ME)
    assert found is not None
    assert found.kind == "assigned"


@pytest.mark.parametrize(
    "change",
    [
        _change(changed=("assigned_to",), sys_updated_by="beth.anglin"),  # the user's own write
        _change(changed=("assigned_to",), assigned_to="b" * 32),  # assigned to someone else
        _change(changed=("state",)),  # an agent's other change to the user's case
        _change("deleted"),
        _change(changed=("assigned_to",), sys_updated_by=""),  # nobody known
    ],
)
def test_other_changes_are_not_notified(change: RecordChange) -> None:
    assert detect(change, ME) is None
    # Positive control: the same record assigned by someone else is.
    assert detect(_change(changed=("assigned_to",)), ME) is not None


def test_the_customers_own_update_of_the_users_case_is_a_comment() -> None:
    found = detect(_change(sys_updated_by="ava.dubois.relecloudtreasury"), ME)
    assert found is not None
    assert (found.kind, found.author) == ("customerComment", "Ava Dubois")


def test_nothing_is_notified_without_a_signed_in_user() -> None:
    assert detect(_change(changed=("assigned_to",)), {}) is None


def test_the_newest_journal_entry_is_the_comment() -> None:
    journal = (
        "2026-12-07 01:00:00 - Ava Dubois (Additional comments)\nStill failing.\nSince Monday.\n\n"
        "2026-12-06 09:00:00 - Beth Anglin (Additional comments)\nLooking into it.\n\n"
    )
    assert latest_comment(journal) == "Still failing.\nSince Monday."
    assert latest_comment("plain text") == "plain text"
    assert len(latest_comment("x\n" + "y" * 2000)) == 500


def test_notifications_are_off_unless_enabled() -> None:
    assert load_settings({}).case_notifications is False
    assert load_settings({"case_notifications": "true"}).case_notifications is True
