"""The emulator's SQLite database: one locked connection, the schema's tables, users and numbering.

Starlette runs sync endpoints on worker threads and async ones on the event loop, so every use of the
connection goes through ``read()`` or ``transaction()``, which hold one re-entrant lock: requests are
serialised at the database, which is what keeps concurrent writers from corrupting anything. File databases
use WAL so that an outside reader (a test, ``sqlite3`` on the command line) never blocks the emulator.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .clock import Clock
from .identity import Caller
from .schema import CLASS_FIELD, SCHEMA, FieldType, Schema

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_HASH_ITERATIONS = 20_000
_CALLER_CACHE_SIZE = 1024
_NUMBER_START = {"CS": 1001, "ACCT": 1001, "INC": 10001, "TASK": 10001}


def quote(identifier: str) -> str:
    """An SQL identifier in double quotes; identifiers come from the schema only, never from a request."""
    return '"' + identifier.replace('"', '""') + '"'


def new_sys_id() -> str:
    """A fresh 32-hex sys_id."""
    return secrets.token_hex(16)


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted PBKDF2-SHA256 hash in the form ``pbkdf2_sha256$<iterations>$<salt>$<hash>``."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _HASH_ITERATIONS)
    return f"pbkdf2_sha256${_HASH_ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by ``hash_password`` (constant-time compare)."""
    try:
        scheme, iterations, salt, expected = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


class Store:
    """The emulated instance's database. Open with ``Store.open``; close with ``close()``."""

    def __init__(
        self, connection: sqlite3.Connection, clock: Clock, schema: Schema, *, shared_file: bool = False
    ) -> None:
        self._connection = connection
        self._lock = threading.RLock()
        # Every request authenticates as a user, and users change rarely: callers are remembered together
        # with the number of transactions ended so far (plus SQLite's data_version for a file another
        # process may write), and looked up again as soon as anything may have been written.
        self._transactions = 0
        self._writing = False
        self._shared_file = shared_file
        self._callers: dict[tuple[str, str], tuple[tuple[int, int], Caller | None]] = {}
        # Basic auth sends the password with every request; a keyed digest of credentials already checked
        # against a stored hash spares a PBKDF2 run per request (a new stored hash invalidates the entry).
        self._verified: dict[tuple[str, str], bytes] = {}
        self._verified_key = os.urandom(32)
        self.clock = clock
        self.schema = schema

    @classmethod
    def open(cls, path: Path | None, clock: Clock) -> Store:
        """Open (and create if needed) the database at ``path``, or an in-memory one for ``None``."""
        connection = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False, isolation_level=None
        )
        connection.row_factory = sqlite3.Row
        if path is not None:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        store = cls(connection, clock, SCHEMA, shared_file=path is not None)
        store._create_tables()
        return store

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        with self._lock:
            self._connection.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads, held exclusively for the block."""
        with self._lock:
            yield self._connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one transaction: committed when the block ends, rolled back on error."""
        with self._lock:
            self._writing = True
            try:
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self._connection
                except BaseException:
                    self._connection.execute("ROLLBACK")
                    raise
                self._connection.execute("COMMIT")
            finally:
                self._writing = False
                self._transactions += 1

    def now(self) -> str:
        """The emulated time as ServiceNow stores it (UTC ``YYYY-MM-DD HH:MM:SS``)."""
        return self.clock.now().strftime(TIMESTAMP_FORMAT)

    def _create_tables(self) -> None:
        roots = [name for name in self.schema.names() if self.schema.table(name).parent is None]
        with self.transaction() as db:
            for root in roots:
                columns = []
                for name, f in self.schema.columns(root).items():
                    if name == "sys_id":
                        columns.append('"sys_id" TEXT NOT NULL UNIQUE COLLATE NOCASE')
                    elif f.type is FieldType.INTEGER:
                        columns.append(f"{quote(name)} INTEGER")
                    else:
                        columns.append(f"{quote(name)} TEXT NOT NULL DEFAULT '' COLLATE NOCASE")
                db.execute(f"CREATE TABLE IF NOT EXISTS {quote(root)} ({', '.join(columns)})")
                db.execute(
                    f"CREATE INDEX IF NOT EXISTS {quote(root + '_updated')} ON {quote(root)} (sys_updated_on)"
                )
                if self.schema.is_extensible(root):
                    index = quote(root + "_class")
                    db.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {quote(root)} (sys_class_name)")
            db.execute(
                "CREATE INDEX IF NOT EXISTS sys_journal_field_element "
                "ON sys_journal_field (element_id, element)"
            )
            db.execute("CREATE TABLE IF NOT EXISTS sys_number_counter (name TEXT PRIMARY KEY, next INTEGER)")

    def is_empty(self) -> bool:
        """Whether the database holds no user yet (a fresh file or memory)."""
        with self.read() as db:
            return int(db.execute("SELECT count(*) FROM sys_user").fetchone()[0]) == 0

    def next_number(self, db: sqlite3.Connection, table: str) -> str | None:
        """The next ``number`` of ``table`` (``CS0001001`` ...), or None for tables without numbering."""
        prefix_and_key = self.schema.number_prefix(table)
        if prefix_and_key is None:
            return None
        prefix, key = prefix_and_key
        row = db.execute("SELECT next FROM sys_number_counter WHERE name = ?", (key,)).fetchone()
        value = int(row[0]) if row is not None else _NUMBER_START.get(prefix, 1001)
        db.execute(
            "INSERT INTO sys_number_counter (name, next) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET next = excluded.next",
            (key, value + 1),
        )
        return f"{prefix}{value:07d}"

    def insert_row(self, db: sqlite3.Connection, table: str, values: Mapping[str, object]) -> None:
        """Insert stored column values as given, adding ``sys_class_name`` for extensible hierarchies."""
        root = self.schema.root(table)
        row = dict(values)
        if self.schema.is_extensible(table):
            row[CLASS_FIELD.name] = table
        names = ", ".join(quote(name) for name in row)
        marks = ", ".join("?" for _ in row)
        sql = f"INSERT INTO {quote(root)} ({names}) VALUES ({marks})"  # noqa: S608 (schema identifiers only)
        db.execute(sql, tuple(row.values()))

    def add_user(
        self,
        user_name: str,
        password: str | None,
        roles: tuple[str, ...],
        *,
        sys_id: str | None = None,
        table: str = "sys_user",
        fields: Mapping[str, str] | None = None,
    ) -> str:
        """Create a user (or contact) with a salted password hash and roles; returns its sys_id."""
        now = self.now()
        user_id = sys_id or new_sys_id()
        values: dict[str, object] = {
            "sys_id": user_id,
            "sys_created_on": now,
            "sys_created_by": "system",
            "sys_updated_on": now,
            "sys_updated_by": "system",
            "sys_mod_count": 0,
            "user_name": user_name,
            "active": "true",
            "vip": "false",
            "locked_out": "false",
            "roles": ",".join(roles),
            "user_password": hash_password(password) if password is not None else "",
            **(fields or {}),
        }
        with self.transaction() as db:
            self.insert_row(db, table, values)
            for role in roles:
                self._link_role(db, user_id, role, now)
        return user_id

    def grant(self, db: sqlite3.Connection, user_id: str, password: str, roles: tuple[str, ...]) -> None:
        """Let an existing user (e.g. a contact) sign in with ``password`` and give them ``roles``."""
        now = self.now()
        db.execute(
            "UPDATE sys_user SET user_password = ?, roles = ? WHERE sys_id = ?",
            (hash_password(password), ",".join(roles), user_id),
        )
        for role in roles:
            self._link_role(db, user_id, role, now)

    def _link_role(self, db: sqlite3.Connection, user_id: str, role: str, now: str) -> None:
        self.insert_row(
            db,
            "sys_user_has_role",
            {
                "sys_id": new_sys_id(),
                "sys_created_on": now,
                "sys_created_by": "system",
                "sys_updated_on": now,
                "sys_updated_by": "system",
                "sys_mod_count": 0,
                "user": user_id,
                "role": self._role_id(db, role, now),
            },
        )

    def _role_id(self, db: sqlite3.Connection, role: str, now: str) -> str:
        row = db.execute("SELECT sys_id FROM sys_user_role WHERE name = ?", (role,)).fetchone()
        if row is not None:
            return str(row[0])
        role_id = new_sys_id()
        self.insert_row(
            db,
            "sys_user_role",
            {
                "sys_id": role_id,
                "sys_created_on": now,
                "sys_created_by": "system",
                "sys_updated_on": now,
                "sys_updated_by": "system",
                "sys_mod_count": 0,
                "name": role,
            },
        )
        return role_id

    def authenticate(self, user_name: str, password: str) -> Caller | None:
        """The caller for a correct user name and password of an active, unlocked user; else None."""
        with self.read() as db:
            row = db.execute(
                "SELECT user_password FROM sys_user "
                "WHERE user_name = ? AND active = 'true' AND locked_out = 'false'",
                (user_name,),
            ).fetchone()
        if row is None or not row[0]:
            return None
        stored = str(row[0])
        digest = hmac.new(self._verified_key, password.encode(), hashlib.sha256).digest()
        known = self._verified.get((user_name, stored))
        if known is None or not hmac.compare_digest(known, digest):
            if not verify_password(password, stored):
                return None
            with self._lock:
                self._verified[(user_name, stored)] = digest
        return self.caller(user_name)

    def caller(self, user_name: str) -> Caller | None:
        """The active user named ``user_name`` as a caller, or None."""
        return self._caller_where("u.user_name = ?", user_name)

    def caller_by_id(self, sys_id: str) -> Caller | None:
        """The active user with ``sys_id`` as a caller, or None."""
        return self._caller_where("u.sys_id = ?", sys_id)

    def version(self) -> tuple[int, int] | None:
        """What the database holds, as a value that changes whenever a transaction ends here or another
        process commits to the file; ``None`` inside a transaction. Read it under ``read()`` to keep a result
        together with the version it was read at."""
        with self._lock:
            if self._writing:
                return None
            return (self._transactions, self._data_version(self._connection))

    def _caller_where(self, condition: str, value: str) -> Caller | None:
        with self.read() as db:
            version = self.version()
            if version is None:
                return self._load_caller(db, condition, value)
            key = (condition, value)
            remembered = self._callers.get(key)
            if remembered is not None and remembered[0] == version:
                return remembered[1]
            caller = self._load_caller(db, condition, value)
            if len(self._callers) >= _CALLER_CACHE_SIZE:
                self._callers.clear()
            self._callers[key] = (version, caller)
            return caller

    def _data_version(self, db: sqlite3.Connection) -> int:
        """Moves when another connection commits to the same file; always 0 for a database in memory."""
        return int(db.execute("PRAGMA data_version").fetchone()[0]) if self._shared_file else 0

    def _load_caller(self, db: sqlite3.Connection, condition: str, value: str) -> Caller | None:
        row = db.execute(
            f"SELECT u.sys_id, u.user_name FROM sys_user u WHERE {condition} AND u.active = 'true'",  # noqa: S608
            (value,),
        ).fetchone()
        if row is None:
            return None
        roles = db.execute(
            "SELECT r.name FROM sys_user_has_role h JOIN sys_user_role r ON r.sys_id = h.role "
            "WHERE h.user = ?",
            (row["sys_id"],),
        ).fetchall()
        return Caller(
            sys_id=str(row["sys_id"]), user_name=str(row["user_name"]), roles=frozenset(r[0] for r in roles)
        )

    def user_record(self, sys_id: str) -> dict[str, str] | None:
        """The sys_user row (fields of ``sys_user`` plus ``sys_class_name``) as strings, password left out."""
        fields = self.schema.fields("sys_user")
        names = [name for name, f in fields.items() if f.is_stored and f.type is not FieldType.PASSWORD]
        with self.read() as db:
            row = db.execute(
                f"SELECT {', '.join(quote(n) for n in names)} FROM sys_user WHERE sys_id = ?",  # noqa: S608
                (sys_id,),
            ).fetchone()
        if row is None:
            return None
        return {name: "" if row[name] is None else str(row[name]) for name in names}
