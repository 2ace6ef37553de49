"""Each version of a record is broadcast once, with the fields that changed."""

from __future__ import annotations

from adapter.bridge.changes import _SHARED_FIELD_SETS, ChangeTracker

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


def _record(index: int, mod_count: int) -> dict[str, str]:
    return {"sys_id": f"{index:032x}", "sys_mod_count": str(mod_count)}


def _still_known(tracker: ChangeTracker, index: int, mod_count: int) -> bool:
    """True when the tracker still remembers this version (seeing it again reports nothing)."""
    return tracker.observe(TABLE, _record(index, mod_count)) is None


def test_a_record_seen_again_unchanged_is_kept_over_one_not_seen_since() -> None:
    tracker = ChangeTracker(capacity=2)
    tracker.observe(TABLE, _record(0, 1))
    tracker.observe(TABLE, _record(1, 1))
    assert tracker.observe(TABLE, _record(0, 1)) is None  # record 0 is the most recently seen now
    tracker.observe(TABLE, _record(2, 1))
    assert _still_known(tracker, 0, 1)
    assert not _still_known(tracker, 1, 1)


def test_a_record_that_changed_is_kept_over_one_not_seen_since() -> None:
    tracker = ChangeTracker(capacity=2)
    tracker.observe(TABLE, _record(0, 1))
    tracker.observe(TABLE, _record(1, 1))
    assert tracker.observe(TABLE, _record(0, 2)) is not None
    tracker.observe(TABLE, _record(2, 1))
    assert _still_known(tracker, 0, 2)
    assert not _still_known(tracker, 1, 1)


def test_priming_never_replaces_a_newer_version_already_seen() -> None:
    # The first read of a watched table can finish after a poll or our own write saw a newer version.
    tracker = ChangeTracker()
    tracker.observe(TABLE, version(5, state="10"))
    tracker.prime(TABLE, [version(4, state="1"), {"number": "CS0009999", "sys_mod_count": "1"}])
    assert tracker.observe(TABLE, version(5, state="10")) is None
    assert len(tracker) == 1


def test_a_version_without_a_readable_sys_mod_count_is_reported_once_and_breaks_nothing() -> None:
    # Such a version cannot be ordered against another: it is reported when first seen, then only a
    # version with a count tells a change.
    tracker = ChangeTracker()
    odd = {"sys_id": "d" * 32, "number": "CS0001002", "sys_mod_count": ""}
    assert tracker.observe(TABLE, odd) is not None
    assert tracker.observe(TABLE, odd) is None
    assert tracker.observe(TABLE, {**odd, "sys_mod_count": "n/a"}) is None
    change = tracker.observe(TABLE, {"sys_id": "d" * 32, "number": "CS0001002", "sys_mod_count": "1"})
    assert change is not None
    assert change.change == "updated"


def test_versions_with_the_same_fields_share_one_field_tuple_up_to_a_bound() -> None:
    # Memory per remembered record: the field names are stored once per distinct set, and apps that ask
    # for ever new field sets cannot grow that table without limit.
    tracker = ChangeTracker()
    for index in range(3):
        tracker.observe(TABLE, {**_record(index, 1), "state": "1", "priority": "3"})
    versions = list(tracker._seen.values())
    assert versions[0].fields is versions[1].fields is versions[2].fields
    for index in range(_SHARED_FIELD_SETS + 10):
        tracker.observe(TABLE, {**_record(100 + index, 1), f"u_field_{index}": "x"})
    assert len(tracker._field_sets) == _SHARED_FIELD_SETS
