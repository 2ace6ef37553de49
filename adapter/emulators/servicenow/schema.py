"""The emulated dictionary: tables, their fields and types, inheritance, numbering and read/write roles.

Tables follow ServiceNow's "table per hierarchy" storage: a root table (``task``, ``sys_user``,
``core_company``) owns one SQLite table holding the columns of every descendant, and ``sys_class_name``
says which class a row belongs to. A query on a parent therefore sees the rows of its children, showing
only the parent's columns.

Why one module: most of it is the table definitions (``TABLES``), data that only ``Schema`` reads; the types
(``Field``, ``Table``) and the lookups over them are a third of it. Kept together, what a table declares and
how a query sees it (inherited fields, roles, choices) read side by side.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    """How a field is stored, compared and displayed."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE_TIME = "glide_date_time"
    REFERENCE = "reference"
    JOURNAL = "journal_input"
    JOURNAL_LIST = "journal_list"
    PASSWORD = "password2"  # noqa: S105 (the field type name, not a secret)
    GUID = "GUID"


@dataclass(frozen=True, slots=True)
class Field:
    """One column of the dictionary."""

    name: str
    type: FieldType = FieldType.STRING
    label: str = ""
    reference: str | None = None
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def is_stored(self) -> bool:
        """Journal fields live in ``sys_journal_field``, not in the record's row."""
        return self.type not in (FieldType.JOURNAL, FieldType.JOURNAL_LIST)

    def choice_label(self, value: str) -> str | None:
        """The label of ``value`` when the field has choices (``"1"`` -> ``"New"``)."""
        for choice_value, label in self.choices:
            if choice_value == value:
                return label
        return None

    def choice_value(self, label: str) -> str | None:
        """The value whose label is ``label`` (case-insensitive), for display-value input."""
        for choice_value, choice_label in self.choices:
            if choice_label.lower() == label.lower():
                return choice_value
        return None


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the dictionary; ``None`` for roles, defaults and choices means "as the parent"."""

    name: str
    label: str
    parent: str | None = None
    fields: tuple[Field, ...] = ()
    number_prefix: str | None = None
    display_field: str | None = None
    read_roles: tuple[str, ...] | None = None
    write_roles: tuple[str, ...] | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)
    choice_overrides: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    inactive_states: tuple[str, ...] | None = None


SYSTEM_FIELDS: tuple[Field, ...] = (
    Field("sys_id", FieldType.GUID, "Sys ID"),
    Field("sys_created_on", FieldType.DATE_TIME, "Created"),
    Field("sys_created_by", FieldType.STRING, "Created by"),
    Field("sys_updated_on", FieldType.DATE_TIME, "Updated"),
    Field("sys_updated_by", FieldType.STRING, "Updated by"),
    Field("sys_mod_count", FieldType.INTEGER, "Updates"),
    Field("sys_tags", FieldType.STRING, "Tags"),
)
SYSTEM_FIELD_NAMES = frozenset(f.name for f in SYSTEM_FIELDS)
CLASS_FIELD = Field("sys_class_name", FieldType.STRING, "Class")

AGENT = "sn_customerservice_agent"
# A customer signed in to the portal. The emulator's ACLs are per table, so a customer may read and write
# every case here; a real instance limits them to their own account's cases.
CUSTOMER = "sn_customerservice.customer"
EVERYONE: tuple[str, ...] = ()

_PRIORITY_TASK = (
    ("1", "1 - Critical"),
    ("2", "2 - High"),
    ("3", "3 - Moderate"),
    ("4", "4 - Low"),
    ("5", "5 - Planning"),
)
_PRIORITY_CASE = _PRIORITY_TASK[:4]
_HML = (("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low"))
_CASE_STATES = (
    ("1", "New"),
    ("10", "Open"),
    ("18", "Awaiting Info"),
    ("6", "Resolved"),
    ("3", "Closed"),
    ("7", "Canceled"),
)
_TASK_STATES = (
    ("-5", "Pending"),
    ("1", "Open"),
    ("2", "Work in Progress"),
    ("3", "Closed Complete"),
    ("4", "Closed Incomplete"),
    ("7", "Closed Skipped"),
)
_INCIDENT_STATES = (
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
)
_APPROVALS = (
    ("not requested", "Not Yet Requested"),
    ("requested", "Requested"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
)
_CONTACT_TYPES = (
    ("phone", "Phone"),
    ("email", "Email"),
    ("web", "Web"),
    ("chat", "Chat"),
    ("social", "Social"),
)


def _ref(name: str, table: str, label: str) -> Field:
    return Field(name, FieldType.REFERENCE, label, reference=table)


def _bool(name: str, label: str) -> Field:
    return Field(name, FieldType.BOOLEAN, label)


def _date(name: str, label: str) -> Field:
    return Field(name, FieldType.DATE_TIME, label)


def _text(name: str, label: str) -> Field:
    return Field(name, FieldType.STRING, label)


TABLES: tuple[Table, ...] = (
    Table(
        "sys_user",
        "User",
        fields=(
            _text("user_name", "User ID"),
            _text("first_name", "First name"),
            _text("last_name", "Last name"),
            _text("name", "Name"),
            _text("email", "Email"),
            _text("title", "Title"),
            _bool("active", "Active"),
            _text("department", "Department"),
            _ref("company", "core_company", "Company"),
            _ref("manager", "sys_user", "Manager"),
            _text("location", "Location"),
            _text("phone", "Business phone"),
            _text("mobile_phone", "Mobile phone"),
            _text("time_zone", "Time zone"),
            _bool("vip", "VIP"),
            _bool("locked_out", "Locked out"),
            _text("roles", "Roles"),
            _date("last_login_time", "Last login time"),
            Field("user_password", FieldType.PASSWORD, "Password"),
        ),
        display_field="name",
        read_roles=EVERYONE,
        write_roles=("user_admin",),
        defaults={"active": "true", "vip": "false", "locked_out": "false"},
    ),
    Table(
        "customer_contact",
        "Contact",
        parent="sys_user",
        fields=(_ref("account", "customer_account", "Account"),),
        read_roles=(AGENT,),
        write_roles=(AGENT,),
    ),
    Table(
        "sys_user_role",
        "Role",
        fields=(_text("name", "Name"), _text("description", "Description")),
        display_field="name",
        read_roles=EVERYONE,
        write_roles=("admin",),
    ),
    Table(
        "sys_user_has_role",
        "User Role",
        fields=(_ref("user", "sys_user", "User"), _ref("role", "sys_user_role", "Role")),
        read_roles=EVERYONE,
        write_roles=("admin",),
    ),
    Table(
        "sys_user_group",
        "Group",
        fields=(
            _text("name", "Name"),
            _text("description", "Description"),
            _text("email", "Group email"),
            _ref("manager", "sys_user", "Manager"),
            _bool("active", "Active"),
        ),
        display_field="name",
        read_roles=EVERYONE,
        write_roles=("admin",),
        defaults={"active": "true"},
    ),
    Table(
        "sys_user_grmember",
        "Group Member",
        fields=(_ref("group", "sys_user_group", "Group"), _ref("user", "sys_user", "User")),
        read_roles=EVERYONE,
        write_roles=("admin",),
    ),
    Table(
        "core_company",
        "Company",
        fields=(
            _text("name", "Name"),
            _text("phone", "Phone"),
            _text("street", "Street"),
            _text("city", "City"),
            _text("state", "State / Province"),
            _text("zip", "Zip / Postal code"),
            _text("country", "Country"),
            _text("website", "Website"),
            _bool("customer", "Customer"),
            _bool("vendor", "Vendor"),
        ),
        display_field="name",
        read_roles=EVERYONE,
        write_roles=("admin",),
        defaults={"customer": "false", "vendor": "false"},
    ),
    Table(
        "customer_account",
        "Account",
        parent="core_company",
        fields=(
            _text("number", "Number"),
            _ref("account_parent", "customer_account", "Parent"),
            _ref("primary_contact", "customer_contact", "Primary contact"),
        ),
        number_prefix="ACCT",
        read_roles=(AGENT,),
        write_roles=(AGENT,),
        defaults={"customer": "true"},
    ),
    Table(
        "task",
        "Task",
        fields=(
            _text("number", "Number"),
            _text("task_effective_number", "Effective number"),
            _text("short_description", "Short description"),
            _text("description", "Description"),
            Field("state", FieldType.INTEGER, "State", choices=_TASK_STATES),
            _bool("active", "Active"),
            Field("priority", FieldType.INTEGER, "Priority", choices=_PRIORITY_TASK),
            Field("impact", FieldType.INTEGER, "Impact", choices=_HML),
            Field("urgency", FieldType.INTEGER, "Urgency", choices=_HML),
            _ref("assigned_to", "sys_user", "Assigned to"),
            _ref("assignment_group", "sys_user_group", "Assignment group"),
            _ref("opened_by", "sys_user", "Opened by"),
            _date("opened_at", "Opened"),
            _ref("closed_by", "sys_user", "Closed by"),
            _date("closed_at", "Closed"),
            _date("due_date", "Due date"),
            _ref("company", "core_company", "Company"),
            Field("contact_type", FieldType.STRING, "Channel", choices=_CONTACT_TYPES),
            Field("approval", FieldType.STRING, "Approval", choices=_APPROVALS),
            _ref("parent", "task", "Parent"),
            Field("comments", FieldType.JOURNAL, "Additional comments"),
            Field("work_notes", FieldType.JOURNAL, "Work notes"),
            Field("comments_and_work_notes", FieldType.JOURNAL_LIST, "Comments and Work notes"),
            _text("work_notes_list", "Work notes list"),
            _text("watch_list", "Watch list"),
            _text("sys_domain", "Domain"),
        ),
        number_prefix="TASK",
        display_field="number",
        read_roles=("itil", AGENT),
        write_roles=("itil", AGENT),
        defaults={
            "state": "1",
            "active": "true",
            "priority": "4",
            "impact": "3",
            "urgency": "3",
            "sys_domain": "global",
            "approval": "not requested",
        },
        inactive_states=("3", "4", "7"),
    ),
    Table(
        "incident",
        "Incident",
        parent="task",
        fields=(
            _ref("caller_id", "sys_user", "Caller"),
            _text("category", "Category"),
            _text("subcategory", "Subcategory"),
            _ref("resolved_by", "sys_user", "Resolved by"),
            _date("resolved_at", "Resolved"),
            _text("close_code", "Resolution code"),
            _text("close_notes", "Resolution notes"),
        ),
        number_prefix="INC",
        read_roles=("itil",),
        write_roles=("itil",),
        choice_overrides={"state": _INCIDENT_STATES},
        inactive_states=("7", "8"),
    ),
    Table(
        "sn_customerservice_case",
        "Case",
        parent="task",
        fields=(
            _ref("account", "customer_account", "Account"),
            _ref("contact", "customer_contact", "Contact"),
            _text("consumer", "Consumer"),
            _text("product", "Product"),
            _text("asset", "Asset"),
            _text("category", "Category"),
            _text("subcategory", "Subcategory"),
            _text("case", "Case"),
            _text("resolution_code", "Resolution code"),
            _ref("resolved_by", "sys_user", "Resolved by"),
            _date("resolved_at", "Resolved"),
            _text("partner", "Partner"),
            _text("service_organization", "Service organization"),
            _text("close_notes", "Resolution notes"),
        ),
        number_prefix="CS",
        read_roles=(AGENT, CUSTOMER),
        write_roles=(AGENT, CUSTOMER),
        choice_overrides={"state": _CASE_STATES, "priority": _PRIORITY_CASE},
        inactive_states=("3", "7"),
    ),
    Table("sn_bom_case", "Financial Services Case", parent="sn_customerservice_case"),
    Table(
        "sn_bom_financial_service",
        "Financial Service Case",
        parent="sn_bom_case",
        fields=(
            _text("customer_approval", "Customer approval"),
            _text("service_definition", "Service definition"),
        ),
    ),
    Table(
        "sys_journal_field",
        "Journal Entry",
        fields=(
            _text("element", "Element"),
            _text("element_id", "Element ID"),
            _text("name", "Table name"),
            _text("value", "Value"),
        ),
        read_roles=("itil", AGENT),
        write_roles=("admin",),
    ),
)


class Schema:
    """Lookups over ``TABLES``: hierarchy, effective fields, roles, choices and physical tables."""

    def __init__(self, tables: tuple[Table, ...] = TABLES) -> None:
        self._tables = {t.name: t for t in tables}
        self._children: dict[str, list[str]] = {t.name: [] for t in tables}
        for table in tables:
            if table.parent is not None:
                self._children[table.parent].append(table.name)
        # The dictionary never changes, and every request asks for the same hierarchies and field maps:
        # work them out once here rather than per request.
        self._ancestry = {name: self._chain(name) for name in self._tables}
        self._descendants = {name: tuple(self._below(name)) for name in self._tables}
        self._fields = {name: self._effective_fields(name) for name in self._tables}

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def table(self, name: str) -> Table:
        """The table named ``name`` (KeyError when there is none)."""
        return self._tables[name]

    def names(self) -> Iterator[str]:
        """Every table name in declaration order."""
        return iter(self._tables)

    def ancestry(self, name: str) -> tuple[Table, ...]:
        """``name`` and its ancestors, root first."""
        return self._ancestry[name]

    def _chain(self, name: str) -> tuple[Table, ...]:
        chain: list[Table] = []
        current: str | None = name
        while current is not None:
            table = self._tables[current]
            chain.append(table)
            current = table.parent
        return tuple(chain[::-1])

    def root(self, name: str) -> str:
        """The physical (root) table whose rows hold ``name``'s records."""
        return self._ancestry[name][0].name

    def is_extensible(self, name: str) -> bool:
        """Whether the hierarchy of ``name`` has more than one class, and so a ``sys_class_name`` column."""
        root = self.root(name)
        return bool(self._children[root])

    def descendants(self, name: str) -> tuple[str, ...]:
        """``name`` and every class below it."""
        return self._descendants[name]

    def _below(self, name: str) -> list[str]:
        found = [name]
        for child in self._children[name]:
            found.extend(self._below(child))
        return found

    def fields(self, name: str) -> Mapping[str, Field]:
        """The effective fields of ``name``: system fields, then root to leaf, with its own choices."""
        return self._fields[name]

    def _effective_fields(self, name: str) -> dict[str, Field]:
        chain = self.ancestry(name)
        result: dict[str, Field] = {f.name: f for f in SYSTEM_FIELDS}
        if self.is_extensible(name):
            result[CLASS_FIELD.name] = CLASS_FIELD
        for table in chain:
            for f in table.fields:
                result[f.name] = f
        for table in chain:
            for field_name, choices in table.choice_overrides.items():
                base = result[field_name]
                result[field_name] = Field(base.name, base.type, base.label, base.reference, choices)
        return result

    def columns(self, root: str) -> dict[str, Field]:
        """Every stored column of a physical table: the union of the fields of its whole hierarchy."""
        result: dict[str, Field] = {}
        for name in self.descendants(root):
            for f in self.fields(name).values():
                if f.is_stored:
                    result.setdefault(f.name, f)
        return result

    def _inherited(self, name: str, attribute: str) -> object:
        for table in reversed(self.ancestry(name)):
            value = getattr(table, attribute)
            if value is not None:
                return value
        return None

    def read_roles(self, name: str) -> tuple[str, ...]:
        """Roles any one of which lets a caller read ``name`` (empty: every authenticated user)."""
        roles = self._inherited(name, "read_roles")
        return roles if isinstance(roles, tuple) else ("admin",)

    def write_roles(self, name: str) -> tuple[str, ...]:
        """Roles any one of which lets a caller create, update or delete in ``name``."""
        roles = self._inherited(name, "write_roles")
        return roles if isinstance(roles, tuple) else ("admin",)

    def number_prefix(self, name: str) -> tuple[str, str] | None:
        """(prefix, counter key) for ``name``: a class without its own prefix shares its parent's counter."""
        for table in reversed(self.ancestry(name)):
            if table.number_prefix is not None:
                return table.number_prefix, table.name
        return None

    def display_field(self, name: str) -> str:
        """The field whose value is a record's display value (``name``, ``number`` ... or ``sys_id``)."""
        found = self._inherited(name, "display_field")
        return found if isinstance(found, str) else "sys_id"

    def defaults(self, name: str) -> dict[str, str]:
        """Insert defaults of ``name``, the most specific class winning."""
        result: dict[str, str] = {}
        for table in self.ancestry(name):
            result.update(table.defaults)
        return result

    def inactive_states(self, name: str) -> tuple[str, ...]:
        """States in which a task of class ``name`` is no longer ``active``."""
        found = self._inherited(name, "inactive_states")
        return found if isinstance(found, tuple) else ()

    def extends(self, name: str, ancestor: str) -> bool:
        """Whether ``name`` is ``ancestor`` or one of its descendants."""
        return any(t.name == ancestor for t in self.ancestry(name))


SCHEMA = Schema()
