"""Values that may go into an encoded query, each checked for the field it is compared with.

An encoded query has no escape: ``^`` starts a new condition (``^OR``, ``^NQ``, ``^EQ`` reshape the whole
query), ``,`` separates the values of ``IN``, and a value beginning with ``javascript:`` is evaluated by the
instance, which drops a condition it cannot evaluate and so returns rows the query meant to exclude. Instead
of refusing a few characters, each value is matched against what its field can hold (a sys_id is 32 hex
digits, an e-mail address has no ``^`` or ``,``, ...), so that nothing an app sends can add, drop or
change a condition. Every function returns the value to put in the query or raises ``ParameterError``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from adapter.servicenow.errors import ParameterError

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100
MAX_IDENTIFIER_LENGTH = 40

_SYS_ID = re.compile(r"[0-9a-fA-F]{32}")
# Deliberately narrower than RFC 5322: the addresses people have, nothing an encoded query reads as syntax.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_CASE_NUMBER = re.compile(r"[A-Za-z]{1,12}[0-9]{1,20}")
_TABLE = re.compile(r"[a-z][a-z0-9_]{0,79}")
# Tickers, ISINs, RICs, Bloomberg and FIGI codes: letters, digits and a few separators, never ":" or "^".
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]*")
_SCRIPT = "javascript:"


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ParameterError(f"Invalid {what}: expected a string")
    text = value.strip()
    if not text:
        raise ParameterError(f"Invalid {what}: empty")
    return text


def sys_id(value: object, what: str) -> str:
    """A record's sys_id: exactly 32 hexadecimal digits (returned in lower case, as instances store them)."""
    text = _text(value, what)
    if not _SYS_ID.fullmatch(text):
        raise ParameterError(f"Invalid {what}: a sys_id is 32 hexadecimal digits")
    return text.lower()


def email(value: object, what: str) -> str:
    """An e-mail address (``local@domain.tld``), at most 254 characters."""
    text = _text(value, what)
    if len(text) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(text):
        raise ParameterError(f"Invalid {what}: not an e-mail address")
    return text


def case_number(value: object, what: str) -> str:
    """A record number such as ``CS0001002``: a letter prefix then digits (returned in upper case)."""
    text = _text(value, what)
    if not _CASE_NUMBER.fullmatch(text):
        raise ParameterError(f"Invalid {what}: a number is a letter prefix and digits, e.g. CS0001002")
    return text.upper()


def name(value: object, what: str) -> str:
    """A display name (an organization's, a person's): printable text of at most 100 characters, without
    ``^`` and never a script."""
    text = _text(value, what)
    if len(text) > MAX_NAME_LENGTH:
        raise ParameterError(f"Invalid {what}: longer than {MAX_NAME_LENGTH} characters")
    if "^" in text or any(unicodedata.category(char).startswith("C") for char in text):
        raise ParameterError(f"Invalid {what}: contains '^' or a control character")
    if _SCRIPT in text.lower():
        raise ParameterError(f"Invalid {what}: contains {_SCRIPT!r}")
    return text


def identifier(value: object, what: str) -> str:
    """An instrument identifier (ticker, ISIN, RIC, ...): 2 to 40 letters, digits, spaces, ``./-``.

    One character is refused: a one-letter "contains" search matches nearly every record.
    """
    text = _text(value, what)
    if not 2 <= len(text) <= MAX_IDENTIFIER_LENGTH or not _IDENTIFIER.fullmatch(text):
        raise ParameterError(
            f"Invalid {what}: 2 to {MAX_IDENTIFIER_LENGTH} letters, digits, spaces, '.', '/' or '-'"
        )
    return text


def is_table_name(value: str) -> bool:
    """True for a table name as ServiceNow spells them: lower case letters, digits and ``_``, at most 80."""
    return _TABLE.fullmatch(value) is not None


def table_name(value: object, what: str) -> str:
    """A table name as ServiceNow spells them (``is_table_name``), else ``ParameterError``."""
    if not isinstance(value, str) or not is_table_name(value):
        raise ParameterError(f"Invalid {what}: not a table name")
    return value


def in_list(values: Iterable[str]) -> str:
    """Checked values joined for an ``IN`` condition; ``ValueError`` if one could split the list."""
    items = list(values)
    if not items or any(not item or "," in item or "^" in item for item in items):
        raise ValueError("IN values must be non-empty, checked values without ',' or '^'")
    return ",".join(items)
