"""Deterministic demo data: users and roles, groups, accounts, contacts, cases, FSO cases, tasks, incidents
and journal entries.

Everything comes from seeded ``random.Random`` instances and fixed name lists, so two fresh databases hold the
same records (sys_ids, numbers, texts) apart from timestamps, which are relative to the emulator's clock.
Each account's primary contact can sign in to the customer portal (password = user name, as every seeded
user), so that a customer's own comments can be made as the customer.

Why one module: it is mostly fixed data (names, subjects, weighted states) and the loops that draw from it
with one random generator per part, in an order that fixes every sys_id and number. Split apart, the lists
would live away from the one loop that indexes each of them, and a change to the draw order in one file would
silently change the records another file's data produce.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta

from .schema import AGENT, CUSTOMER
from .store import TIMESTAMP_FORMAT, Store

SEED = 20240601
# Tasks and the larger incident set come from their own generator, so the older records keep their values.
WORK_SEED = 20241115
TASK_COUNT = 40
INCIDENT_COUNT = 48
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


_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("Boxeo Financial", "Chicago", "USA", "boxeofinancial.com"),
    ("Northwind Traders", "Seattle", "USA", "northwindtraders.com"),
    ("Contoso Bank", "London", "United Kingdom", "contosobank.co.uk"),
    ("Fabrikam Insurance", "Toronto", "Canada", "fabrikaminsurance.ca"),
    ("Litware Capital", "New York", "USA", "litwarecapital.com"),
    ("Tailspin Mutual", "Dublin", "Ireland", "tailspinmutual.ie"),
    ("Adatum Securities", "Frankfurt", "Germany", "adatum-securities.de"),
    ("Wingtip Wealth", "Sydney", "Australia", "wingtipwealth.com.au"),
    ("Proseware Lending", "Austin", "USA", "prosewarelending.com"),
    ("Woodgrove Credit Union", "Denver", "USA", "woodgrovecu.org"),
    ("Lamna Payments", "Singapore", "Singapore", "lamnapay.sg"),
    ("Trey Asset Management", "Zurich", "Switzerland", "treyam.ch"),
    ("Coho Brokerage", "Boston", "USA", "cohobrokerage.com"),
    ("Alpine Ski House Finance", "Denver", "USA", "alpineskihousefinance.com"),
    ("Margie's Travel Money", "Paris", "France", "margiestravelmoney.fr"),
    ("Relecloud Treasury", "Amsterdam", "Netherlands", "relecloudtreasury.nl"),
)
_FIRST = (
    "Ava",
    "Liam",
    "Maya",
    "Noah",
    "Priya",
    "Lucas",
    "Sofia",
    "Ethan",
    "Chloe",
    "Mateo",
    "Hana",
    "Omar",
    "Grace",
    "Kenji",
    "Isla",
    "Diego",
    "Amara",
    "Felix",
    "Leila",
    "Jonas",
    "Zara",
    "Marco",
    "Nina",
    "Ravi",
)
_LAST = (
    "Bennett",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Patel",
    "Nakamura",
    "Garcia",
    "O'Brien",
    "Schmidt",
    "Haddad",
    "Kowalski",
    "Rossi",
    "Fischer",
    "Mensah",
    "Jensen",
    "Alvarez",
    "Novak",
    "Chen",
    "Dubois",
    "Walsh",
)
_SUBJECTS: tuple[tuple[str, str, str], ...] = (
    ("Unable to log in to online banking portal", "issue", "Online Banking"),
    ("Wire transfer pending for more than 48 hours", "issue", "Payments"),
    ("Request to update registered mailing address", "request", "Account Services"),
    ("Card declined at point of sale", "issue", "Cards"),
    ("Question about foreign exchange fees on statement", "question", "Payments"),
    ("Two-factor authentication codes not arriving", "issue", "Online Banking"),
    ("Dispute of duplicate charge", "issue", "Cards"),
    ("Request for a copy of the annual tax statement", "request", "Account Services"),
    ("API access token for treasury integration expired", "issue", "Treasury API"),
    ("Change of authorised signatories", "request", "Account Services"),
    ("Statement export to CSV fails", "issue", "Online Banking"),
    ("Clarification on overdraft interest calculation", "question", "Lending"),
    ("Loan repayment schedule shows wrong amount", "issue", "Lending"),
    ("Add new user to corporate portal", "request", "Online Banking"),
    ("Direct debit collected twice this month", "issue", "Payments"),
    ("How to set up payment approval workflows", "question", "Treasury API"),
)
_FSO_SUBJECTS = (
    "Mortgage payment holiday request",
    "Beneficiary change on investment account",
    "Credit limit increase request",
    "Fraud alert on business account",
    "Early loan settlement quote",
    "Dormant account reactivation",
)
# (state, weight): most cases are open work; some are finished.
_STATES = (("1", 14), ("10", 30), ("18", 14), ("6", 16), ("3", 20), ("7", 6))
_PRIORITIES = (("1", 6), ("2", 20), ("3", 44), ("4", 30))
_CHANNELS = ("phone", "email", "web", "chat")
_AGENT_COMMENTS = (
    "Thanks for reaching out. I am looking into this now and will update you shortly.",
    "Could you please confirm the last four digits of the affected account?",
    "We have escalated this to our payments operations team.",
    "The issue has been fixed on our side; please let us know if it persists.",
)
_CONTACT_COMMENTS = (
    "This is still happening this morning, please advise.",
    "I have attached the statement showing the duplicate entry.",
    "Confirmed, the last four digits are 4821.",
    "Thank you, everything works again.",
)
_WORK_NOTES = (
    "Checked the transaction log: the transfer is held by the sanctions screening queue.",
    "Reproduced with a test account; raising a defect with the portal team.",
    "Customer verified by phone using security questions.",
    "Waiting for the customer to send the requested documents.",
)


def _timestamp(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def _system_fields(
    sys_id: str, created: datetime, updated: datetime, by: str, mod_count: int
) -> dict[str, object]:
    return {
        "sys_id": sys_id,
        "sys_created_on": _timestamp(created),
        "sys_created_by": by,
        "sys_updated_on": _timestamp(updated),
        "sys_updated_by": by,
        "sys_mod_count": mod_count,
    }


def _seed_records(store: Store, rng: random.Random) -> None:
    """Groups, accounts and contacts, cases in every state, FSO cases, incidents, journal entries."""
    now = store.clock.now().replace(microsecond=0)
    agents = {
        user: caller.sys_id
        for user, *_ in USERS
        if (caller := store.caller(user)) is not None and AGENT in caller.roles
    }
    itil = store.caller("abel.tuter")
    year_ago = now - timedelta(days=365)
    with store.transaction() as db:
        groups = {}
        for name, manager in (
            ("Customer Service Support", "christen.mitchell"),
            ("Financial Services Operations", "luke.wilson"),
            ("Tier 2 Support", "fred.luddy"),
        ):
            groups[name] = _sys_id(rng)
            store.insert_row(
                db,
                "sys_user_group",
                {
                    **_system_fields(groups[name], year_ago, year_ago, "admin", 0),
                    "name": name,
                    "manager": agents[manager],
                    "email": name.lower().replace(" ", ".") + "@example.com",
                    "active": "true",
                },
            )
        for user_name, user_id in agents.items():
            group = (
                "Financial Services Operations" if user_name == "luke.wilson" else "Customer Service Support"
            )
            store.insert_row(
                db,
                "sys_user_grmember",
                {
                    **_system_fields(_sys_id(rng), year_ago, year_ago, "admin", 0),
                    "group": groups[group],
                    "user": user_id,
                },
            )
        contacts: list[tuple[str, str, str]] = []  # (contact sys_id, account sys_id, user_name)
        taken: set[str] = set()
        for name, city, country, domain in _ACCOUNTS:
            account_id = _sys_id(rng)
            created = year_ago + timedelta(days=rng.randrange(0, 60))
            members = []
            for _ in range(rng.randrange(3, 6)):
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                local = f"{first}.{last}".lower().replace("'", "")
                if local in taken:
                    continue
                taken.add(local)
                user_name = f"{local}.{domain.split('.')[0]}"
                contact_id = _sys_id(rng)
                store.insert_row(
                    db,
                    "customer_contact",
                    {
                        **_system_fields(contact_id, created, created, "admin", 0),
                        "user_name": user_name,
                        "first_name": first,
                        "last_name": last,
                        "name": f"{first} {last}",
                        "email": f"{local}@{domain}",
                        "title": rng.choice(
                            ("Finance Manager", "Treasurer", "Operations Lead", "Controller", "CFO")
                        ),
                        "phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                        "account": account_id,
                        "company": account_id,
                        "active": "true",
                        "vip": "true" if rng.random() < 0.1 else "false",
                        "locked_out": "false",
                        "time_zone": "GMT",
                    },
                )
                members.append((contact_id, account_id, user_name))
            store.insert_row(
                db,
                "customer_account",
                {
                    **_system_fields(account_id, created, created, "admin", 0),
                    "number": store.next_number(db, "customer_account"),
                    "name": name,
                    "city": city,
                    "country": country,
                    "website": f"https://www.{domain}",
                    "phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                    "customer": "true",
                    "primary_contact": members[0][0],
                },
            )
            store.grant(db, members[0][0], members[0][2], (CUSTOMER,))
            contacts.extend(members)
        agent_names = sorted(agents)
        for index in range(CASE_COUNT + FSO_CASE_COUNT):
            fso = index >= CASE_COUNT
            table = "sn_bom_financial_service" if fso else "sn_customerservice_case"
            contact_id, account_id, contact_user = rng.choice(contacts)
            state = _weighted(rng, _STATES)
            opened = now - timedelta(seconds=rng.randrange(3600, 120 * 86400))
            updated = min(now, opened + timedelta(seconds=rng.randrange(60, 20 * 86400)))
            agent = "luke.wilson" if fso else rng.choice(agent_names)
            assigned = "" if state == "1" and rng.random() < 0.6 else agents[agent]
            mod_count = rng.randrange(0, 9) if state != "1" else rng.randrange(0, 2)
            number = store.next_number(db, table)
            if fso:
                subject, category, product = rng.choice(_FSO_SUBJECTS), "request", "Financial Services"
            else:
                subject, category, product = rng.choice(_SUBJECTS)
            case_id = _sys_id(rng)
            finished = state in ("3", "7")
            values: dict[str, object] = {
                **_system_fields(case_id, opened, updated, agent if assigned else "admin", mod_count),
                "number": number,
                "task_effective_number": number,
                "short_description": subject,
                "description": f"{subject}. Reported by {contact_user} via the customer portal.",
                "state": int(state),
                "active": "false" if finished else "true",
                "priority": int(_weighted(rng, _PRIORITIES)),
                "impact": rng.randrange(1, 4),
                "urgency": rng.randrange(1, 4),
                "assigned_to": assigned,
                "assignment_group": groups[
                    "Financial Services Operations" if fso else "Customer Service Support"
                ],
                "opened_by": agents[agent],
                "opened_at": _timestamp(opened),
                "contact": contact_id,
                "account": account_id,
                "company": account_id,
                "contact_type": rng.choice(_CHANNELS),
                "category": category,
                "product": product,
                "sys_domain": "global",
            }
            if state in ("6", "3"):
                values.update(resolved_at=_timestamp(updated), resolved_by=assigned or agents[agent])
                values["resolution_code"] = "Solved (Permanently)"
                values["close_notes"] = "Resolved with the customer's confirmation."
            if finished:
                values.update(closed_at=_timestamp(updated), closed_by=assigned or agents[agent])
            if fso:
                values.update(
                    customer_approval="approved" if finished else "pending", service_definition=subject
                )
            store.insert_row(db, table, values)
            if rng.random() < 0.3:
                _seed_journal(store, db, rng, (table, case_id), (opened, updated), agent, contact_user)
        _seed_work(store, db, now, agents, groups, contacts)
        if itil is not None:
            for _ in range(12):
                opened = now - timedelta(seconds=rng.randrange(3600, 30 * 86400))
                incident_id, number = _sys_id(rng), store.next_number(db, "incident")
                store.insert_row(
                    db,
                    "incident",
                    {
                        **_system_fields(incident_id, opened, opened, "abel.tuter", 0),
                        "number": number,
                        "task_effective_number": number,
                        "short_description": rng.choice(
                            ("Laptop will not boot", "VPN drops every hour", "Printer offline")
                        ),
                        "state": rng.choice((1, 2, 3)),
                        "active": "true",
                        "priority": rng.randrange(2, 5),
                        "impact": 2,
                        "urgency": 2,
                        "caller_id": itil.sys_id,
                        "assigned_to": itil.sys_id,
                        "opened_by": itil.sys_id,
                        "opened_at": _timestamp(opened),
                        "sys_domain": "global",
                    },
                )


def _seed_journal(
    store: Store,
    db: sqlite3.Connection,
    rng: random.Random,
    record: tuple[str, str],
    span: tuple[datetime, datetime],
    agent: str,
    contact_user: str,
) -> None:
    """One to three entries between the case's opening and its last update."""
    table, case_id = record
    opened, updated = span
    moment = opened
    for index in range(rng.randrange(1, 4)):
        moment = min(updated, moment + timedelta(seconds=rng.randrange(600, 86400)))
        element = "work_notes" if index % 2 else "comments"
        author = agent if element == "work_notes" or rng.random() < 0.6 else contact_user
        texts = (
            _WORK_NOTES
            if element == "work_notes"
            else _AGENT_COMMENTS
            if author == agent
            else _CONTACT_COMMENTS
        )
        store.insert_row(
            db,
            "sys_journal_field",
            {
                **_system_fields(_sys_id(rng), moment, moment, author, 0),
                "element": element,
                "element_id": case_id,
                "name": table,
                "value": rng.choice(texts),
            },
        )


_TASKS = (
    "Call back the customer about the delayed wire transfer",
    "Send the replacement card to the new mailing address",
    "Review the signatory change documents",
    "Prepare the annual tax statement copy",
    "Renew the treasury API credentials for the customer",
    "Verify the duplicate direct debit with payments operations",
    "Schedule the onboarding call for the corporate portal",
    "Collect the statement evidence for the card dispute",
    "Update the overdraft interest explanation in the knowledge base",
    "Check the loan repayment schedule with lending",
)
_INCIDENTS = (
    ("Online banking portal returns error 503 at login", "Online Banking", "Availability"),
    ("Payments gateway timeouts for SEPA transfers", "Payments", "Performance"),
    ("Card authorisation service rejecting valid cards", "Cards", "Availability"),
    ("Two-factor SMS provider delivery delays", "Online Banking", "Integration"),
    ("Statement export job failed overnight", "Online Banking", "Batch"),
    ("Treasury API certificate expiring in 7 days", "Treasury API", "Security"),
    ("VPN drops every hour for branch staff", "Network", "Connectivity"),
    ("Laptop will not boot after update", "Hardware", "Laptop"),
    ("Printer offline on floor 3", "Hardware", "Printer"),
    ("Email delivery to customers delayed", "Email", "Performance"),
    ("Wire transfer screening queue backlog", "Payments", "Batch"),
    ("Fraud alerts dashboard not refreshing", "Fraud", "Application"),
)
_TASK_STATES = (("1", 30), ("2", 35), ("-5", 10), ("3", 25))
_INCIDENT_STATES = (("1", 20), ("2", 35), ("3", 10), ("6", 20), ("7", 15))
_APPROVALS = ("not requested", "requested", "approved", "rejected")


def _seed_work(
    store: Store,
    db: sqlite3.Connection,
    now: datetime,
    agents: dict[str, str],
    groups: dict[str, str],
    contacts: list[tuple[str, str, str]],
) -> None:
    """Plain tasks (follow-ups of case work) and incidents in every state, as an instance has."""
    rng = random.Random(WORK_SEED)
    itil = store.caller("abel.tuter")
    agent_names = sorted(agents)
    for _ in range(TASK_COUNT):
        opened = now - timedelta(seconds=rng.randrange(3600, 60 * 86400))
        updated = min(now, opened + timedelta(seconds=rng.randrange(60, 10 * 86400)))
        agent = rng.choice(agent_names)
        state = _weighted(rng, _TASK_STATES)
        number = store.next_number(db, "task")
        _contact, account_id, _user = rng.choice(contacts)
        store.insert_row(
            db,
            "task",
            {
                **_system_fields(_sys_id(rng), opened, updated, agent, rng.randrange(0, 6)),
                "number": number,
                "task_effective_number": number,
                "short_description": rng.choice(_TASKS),
                "state": int(state),
                "active": "false" if state == "3" else "true",
                "priority": rng.randrange(2, 5),
                "impact": rng.randrange(1, 4),
                "urgency": rng.randrange(1, 4),
                "assigned_to": agents[agent],
                "assignment_group": groups["Customer Service Support"],
                "opened_by": agents[agent],
                "opened_at": _timestamp(opened),
                "company": account_id,
                "approval": rng.choice(_APPROVALS),
                "sys_domain": "global",
            },
        )
    if itil is None:
        return
    for _ in range(INCIDENT_COUNT):
        opened = now - timedelta(seconds=rng.randrange(3600, 90 * 86400))
        updated = min(now, opened + timedelta(seconds=rng.randrange(60, 5 * 86400)))
        subject, category, subcategory = rng.choice(_INCIDENTS)
        state = _weighted(rng, _INCIDENT_STATES)
        finished = state in ("6", "7")
        number = store.next_number(db, "incident")
        values: dict[str, object] = {
            **_system_fields(_sys_id(rng), opened, updated, "abel.tuter", rng.randrange(0, 8)),
            "number": number,
            "task_effective_number": number,
            "short_description": subject,
            "description": f"{subject}. Raised by the monitoring team.",
            "state": int(state),
            "active": "false" if state == "7" else "true",
            "priority": rng.randrange(1, 5),
            "impact": rng.randrange(1, 4),
            "urgency": rng.randrange(1, 4),
            "category": category,
            "subcategory": subcategory,
            "caller_id": itil.sys_id,
            "assigned_to": itil.sys_id if rng.random() < 0.7 else "",
            "opened_by": itil.sys_id,
            "opened_at": _timestamp(opened),
            "contact_type": rng.choice(_CHANNELS),
            "approval": "not requested",
            "sys_domain": "global",
        }
        if finished:
            values.update(
                resolved_at=_timestamp(updated),
                resolved_by=itil.sys_id,
                close_code="Solved (Permanently)",
                close_notes="Service restored and verified with the reporting team.",
            )
        store.insert_row(db, "incident", values)
