"""Deterministic demo data: users and roles, groups, accounts, contacts, cases, FSO cases and journal entries.

Everything comes from one seeded ``random.Random`` and fixed name lists, so two fresh databases hold the same
records (sys_ids, numbers, texts) apart from timestamps, which are relative to the emulator's clock.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .schema import AGENT
from .store import TIMESTAMP_FORMAT, Store

SEED = 20240601
CASE_COUNT = 320
FSO_CASE_COUNT = 24

# (user_name, first, last, title, roles); the password of each seeded user equals its user_name.
USERS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("admin", "System", "Administrator", "System Administrator", ("admin",)),
    (
        "beth.anglin",
        "Beth",
        "Anglin",
        "Customer Service Agent",
        (AGENT, "sn_customerservice.customer_case_manager"),
    ),
    ("david.loo", "David", "Loo", "Customer Service Agent", (AGENT,)),
    ("fred.luddy", "Fred", "Luddy", "Senior Customer Service Agent", (AGENT,)),
    ("bud.richman", "Bud", "Richman", "Customer Service Agent", (AGENT,)),
    (
        "christen.mitchell",
        "Christen",
        "Mitchell",
        "Customer Service Manager",
        (AGENT, "sn_customerservice_manager"),
    ),
    ("luke.wilson", "Luke", "Wilson", "Financial Services Agent", (AGENT,)),
    ("abel.tuter", "Abel", "Tuter", "IT Service Desk Analyst", ("itil",)),
)


def _sys_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def seed_demo_data(store: Store) -> None:
    """Fill an empty store with the demo instance's users, accounts, contacts, cases and journal entries."""
    rng = random.Random(SEED)
    for user_name, first, last, title, roles in USERS:
        store.add_user(
            user_name,
            user_name,
            roles,
            sys_id="6816f79cc0a8016401c5a33be04be441" if user_name == "admin" else _sys_id(rng),
            fields={
                "first_name": first,
                "last_name": last,
                "name": f"{first} {last}",
                "email": f"{user_name}@example.com",
                "title": title,
                "time_zone": "GMT",
            },
        )
    _seed_records(store, rng)


def _timestamp(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


def _ago(store: Store, rng: random.Random, max_days: int) -> datetime:
    return store.clock.now() - timedelta(seconds=rng.randrange(3600, max_days * 86400))


def _seed_records(store: Store, rng: random.Random) -> None:
    """Accounts, contacts, cases and journal entries; filled in by the demo-data part of the emulator."""
    del store, rng
