"""Each version of a record is broadcast once, with the fields that changed."""

from __future__ import annotations

from adapter.bridge.changes import ChangeTracker

TABLE = "sn_customerservice_case"


def version(mod_count: int, **fields: str) -> dict[str, str]:
    return {"sys_id": "c" * 32, "number": "CS0001001", "sys_mod_count": str(mod_count), **fields}


def test_first_sighting_of_an_unmodified_record_is_a_creation() -> None:
    change = ChangeTracker().observe(TABLE, version(0, state="1"))
    assert change is not None
    assert change.change == "created"
    assert change.number == "CS0001001"


def test_an_update_lists_only_the_fields_the_user_changed() -> None:
    tracker = ChangeTracker()
    tracker.observe(TABLE, version(3, state="1", priority="3", sys_updated_on="2026-11-29 09:00:00"))
    change = tracker.observe(
        TABLE, version(4, state="10", priority="3", sys_updated_on="2026-11-29 09:05:00")
    )
    assert change is not None
    assert change.change == "updated"
    assert change.changed_fields == ("state",)


def test_the_same_version_seen_twice_is_reported_once() -> None:
    tracker = ChangeTracker()
    assert tracker.observe(TABLE, version(4, state="10"), created=False) is not None
    assert tracker.observe(TABLE, version(4, state="10")) is None


def test_an_older_version_arriving_late_is_ignored() -> None:
    tracker = ChangeTracker()
    tracker.observe(TABLE, version(5, state="6"))
    assert tracker.observe(TABLE, version(4, state="10")) is None


def test_own_insert_is_a_creation_and_deletion_remembers_the_number() -> None:
    tracker = ChangeTracker()
    created = tracker.observe(TABLE, version(0), created=True)
    assert created is not None
    assert created.change == "created"
    deleted = tracker.forget(TABLE, "c" * 32)
    assert deleted.change == "deleted"
    assert deleted.number == "CS0001001"
    assert len(tracker) == 0


def test_memory_is_bounded_by_forgetting_the_least_recently_seen() -> None:
    tracker = ChangeTracker(capacity=2)
    for index in range(3):
        tracker.observe(TABLE, {"sys_id": f"{index:032x}", "sys_mod_count": "1"})
    assert len(tracker) == 2
    again = tracker.observe(TABLE, {"sys_id": f"{0:032x}", "sys_mod_count": "1"})
    assert again is not None
    assert again.change == "updated"


def test_primed_versions_are_not_reported_but_later_changes_say_what_moved() -> None:
    tracker = ChangeTracker()
    tracker.prime(TABLE, [version(3, state="1", priority="3")])
    assert tracker.observe(TABLE, version(3, state="1", priority="3")) is None
    change = tracker.observe(TABLE, version(4, state="10", priority="3"))
    assert change is not None
    assert change.changed_fields == ("state",)
