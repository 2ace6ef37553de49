"""Users of the emulated instance: password login, callers with roles, and the sys_user record."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.records import Records
from adapter.emulators.servicenow.render import RenderOptions
from adapter.emulators.servicenow.seed import seed_demo_data
from adapter.emulators.servicenow.store import Store


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open(None, Clock())
    seed_demo_data(opened)
    yield opened
    opened.close()


def test_seeded_admin_logs_in_with_its_password_and_holds_the_admin_role(store: Store) -> None:
    caller = store.authenticate("admin", "admin")
    assert caller is not None
    assert caller.user_name == "admin"
    assert caller.has_role("sn_customerservice_agent")


def test_wrong_password_or_unknown_user_is_refused(store: Store) -> None:
    assert store.authenticate("admin", "Admin") is None
    assert store.authenticate("nobody", "nobody") is None


def test_agent_has_the_customer_service_role_and_itil_user_does_not(store: Store) -> None:
    beth = store.caller("beth.anglin")
    abel = store.caller("abel.tuter")
    assert beth is not None
    assert abel is not None
    assert beth.has_role("sn_customerservice_agent")
    assert not abel.has_role("sn_customerservice_agent")
    assert abel.has_role("itil")


def test_caller_by_id_finds_the_same_user_as_by_name(store: Store) -> None:
    beth = store.caller("beth.anglin")
    assert beth is not None
    assert store.caller_by_id(beth.sys_id) == beth


def test_password_is_stored_as_a_salted_hash(store: Store) -> None:
    with store.read() as db:
        stored = [
            row[0] for row in db.execute("SELECT user_password FROM sys_user WHERE user_name = 'admin'")
        ]
    assert stored[0].startswith("pbkdf2_sha256$")
    assert "admin" not in stored[0].split("$", 3)[3]


def test_user_record_is_strings_without_the_password(store: Store) -> None:
    beth = store.caller("beth.anglin")
    assert beth is not None
    record = store.user_record(beth.sys_id)
    assert record is not None
    assert record["name"] == "Beth Anglin"
    assert record["email"] == "beth.anglin@example.com"
    assert record["sys_mod_count"] == "0"
    assert "user_password" not in record
    assert all(isinstance(value, str) for value in record.values())
    assert store.user_record("0" * 32) is None


def test_seed_gives_the_same_records_in_every_database() -> None:
    first, second = Store.open(None, Clock()), Store.open(None, Clock())
    seed_demo_data(first)
    seed_demo_data(second)
    with first.read() as a, second.read() as b:
        for query in (
            "SELECT sys_id, user_name, email FROM sys_user ORDER BY rowid",
            "SELECT sys_id, number, short_description, state, assigned_to, contact FROM task ORDER BY rowid",
            "SELECT element_id, element, value FROM sys_journal_field ORDER BY rowid",
        ):
            rows = list(map(tuple, a.execute(query)))
            assert rows
            assert rows == list(map(tuple, b.execute(query)))
    first.close()
    second.close()


def test_file_database_uses_wal_and_survives_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "instance.db"
    store = Store.open(path, Clock())
    errors: list[BaseException] = []

    def add(index: int) -> None:
        try:
            store.add_user(f"user{index}", "pw", ("itil",))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    store.close()
    assert errors == []
    outside = sqlite3.connect(path)
    assert outside.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outside.execute("SELECT count(*) FROM sys_user").fetchone()[0] == 16
    assert outside.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    outside.close()


def test_repeated_logins_still_check_the_password(store: Store) -> None:
    assert store.authenticate("beth.anglin", "beth.anglin") is not None
    assert store.authenticate("beth.anglin", "beth.anglin") is not None
    assert store.authenticate("beth.anglin", "wrong") is None


def test_a_changed_password_replaces_the_old_one_at_once(store: Store) -> None:
    admin = store.caller("admin")
    beth = store.caller("beth.anglin")
    assert admin is not None
    assert beth is not None
    assert store.authenticate("beth.anglin", "beth.anglin") is not None

    Records(store).update(admin, "sys_user", beth.sys_id, {"user_password": "n3w-secret"}, RenderOptions())

    assert store.authenticate("beth.anglin", "beth.anglin") is None
    assert store.authenticate("beth.anglin", "n3w-secret") == beth


def test_a_file_database_keeps_its_records_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "instance.db"
    first = Store.open(path, Clock())
    seed_demo_data(first)
    first.close()

    reopened = Store.open(path, Clock())

    assert not reopened.is_empty()
    assert reopened.authenticate("beth.anglin", "beth.anglin") is not None
    with reopened.read() as db:
        assert (
            db.execute(
                "SELECT count(*) FROM task WHERE sys_class_name = 'sn_customerservice_case'"
            ).fetchone()[0]
            > 300
        )
    reopened.close()


def test_a_user_deactivated_through_the_table_api_stops_being_a_caller_at_once(store: Store) -> None:
    admin = store.caller("admin")
    beth = store.caller("beth.anglin")
    assert admin is not None
    assert beth is not None
    assert store.caller_by_id(beth.sys_id) == beth

    Records(store).update(admin, "sys_user", beth.sys_id, {"active": "false"}, RenderOptions())

    assert store.caller_by_id(beth.sys_id) is None
    assert store.caller("beth.anglin") is None


def test_a_role_granted_through_the_table_api_shows_in_the_next_lookup(store: Store) -> None:
    admin = store.caller("admin")
    abel = store.caller("abel.tuter")
    assert admin is not None
    assert abel is not None
    assert store.caller_by_id(abel.sys_id) == abel
    assert not abel.has_role("sn_customerservice_agent")
    with store.read() as db:
        role = db.execute(
            "SELECT sys_id FROM sys_user_role WHERE name = 'sn_customerservice_agent'"
        ).fetchone()[0]

    Records(store).insert(admin, "sys_user_has_role", {"user": abel.sys_id, "role": role}, RenderOptions())

    granted = store.caller_by_id(abel.sys_id)
    assert granted is not None
    assert granted.has_role("sn_customerservice_agent")


def test_a_user_deactivated_by_another_process_in_a_file_database_stops_being_a_caller(
    tmp_path: Path,
) -> None:
    path = tmp_path / "instance.db"
    store = Store.open(path, Clock())
    seed_demo_data(store)
    beth = store.caller("beth.anglin")
    assert beth is not None
    assert store.caller_by_id(beth.sys_id) == beth

    outside = sqlite3.connect(path)
    outside.execute("UPDATE sys_user SET active = 'false' WHERE sys_id = ?", (beth.sys_id,))
    outside.commit()
    outside.close()

    assert store.caller_by_id(beth.sys_id) is None
    store.close()
