"""The ``javascript:gs.*()`` values that real clients put in encoded queries, evaluated from a whitelist.

Nothing is executed: the expression must be one call of a known ``gs`` helper with integer or quoted-string
arguments, evaluated against the caller and the emulator's clock. Date-times come back as ServiceNow stores
them (UTC ``YYYY-MM-DD HH:MM:SS``); the emulator shows every user UTC, so "today" is the UTC day.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .query import QueryError

PREFIX = "javascript:"
_FORMAT = "%Y-%m-%d %H:%M:%S"
_CALL = re.compile(r"\s*gs\s*\.\s*([A-Za-z]+)\s*\((.*)\)\s*;?\s*", re.DOTALL)
_ARGUMENT = re.compile(r"\s*(?:(-?\d+)|'([^']*)'|\"([^\"]*)\")\s*")


class UnsupportedScript(QueryError):
    """A ``javascript:`` value outside the whitelist."""


@dataclass(frozen=True, slots=True)
class ScriptContext:
    """What a ``gs`` helper may read: the caller and the current emulated time (UTC)."""

    user_id: str
    user_name: str
    now: datetime


def is_script(value: str) -> bool:
    """Whether a query value is a ``javascript:`` expression."""
    return value.startswith(PREFIX)


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_end(moment: datetime) -> datetime:
    return moment.replace(hour=23, minute=59, second=59, microsecond=0)


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def _week_start(moment: datetime) -> datetime:
    return _day_start(moment - timedelta(days=moment.weekday()))


def _month_start(moment: datetime) -> datetime:
    return _day_start(moment.replace(day=1))


def _month_end(moment: datetime) -> datetime:
    return _day_end(moment.replace(day=monthrange(moment.year, moment.month)[1]))


def _year_start(moment: datetime) -> datetime:
    return _day_start(moment.replace(month=1, day=1))


def _year_end(moment: datetime) -> datetime:
    return _day_end(moment.replace(month=12, day=31))


def _periods(now: datetime) -> dict[str, tuple[datetime, datetime]]:
    """(beginning, end) of each named period that ``gs.beginningOf<Name>()`` / ``gs.endOf<Name>()`` know."""
    week = _week_start(now)
    last_month, next_month = _add_months(now, -1), _add_months(now, 1)
    return {
        "Today": (_day_start(now), _day_end(now)),
        "Yesterday": (_day_start(now - timedelta(days=1)), _day_end(now - timedelta(days=1))),
        "Tomorrow": (_day_start(now + timedelta(days=1)), _day_end(now + timedelta(days=1))),
        "ThisWeek": (week, _day_end(week + timedelta(days=6))),
        "LastWeek": (week - timedelta(days=7), _day_end(week - timedelta(days=1))),
        "NextWeek": (week + timedelta(days=7), _day_end(week + timedelta(days=13))),
        "ThisMonth": (_month_start(now), _month_end(now)),
        "LastMonth": (_month_start(last_month), _month_end(last_month)),
        "NextMonth": (_month_start(next_month), _month_end(next_month)),
        "ThisYear": (_year_start(now), _year_end(now)),
        "LastYear": (_year_start(_add_months(now, -12)), _year_end(_add_months(now, -12))),
        "NextYear": (_year_start(_add_months(now, 12)), _year_end(_add_months(now, 12))),
        "Last15Minutes": (now - timedelta(minutes=15), now),
        "LastHour": (now - timedelta(hours=1), now),
    }


_Ago = Callable[[datetime, int], datetime]
_AGO: dict[str, _Ago] = {
    "minutesAgo": lambda now, n: now - timedelta(minutes=n),
    "minutesAgoStart": lambda now, n: (now - timedelta(minutes=n)).replace(second=0),
    "minutesAgoEnd": lambda now, n: (now - timedelta(minutes=n)).replace(second=59),
    "hoursAgo": lambda now, n: now - timedelta(hours=n),
    "hoursAgoStart": lambda now, n: (now - timedelta(hours=n)).replace(minute=0, second=0),
    "hoursAgoEnd": lambda now, n: (now - timedelta(hours=n)).replace(minute=59, second=59),
    "daysAgo": lambda now, n: now - timedelta(days=n),
    "daysAgoStart": lambda now, n: _day_start(now - timedelta(days=n)),
    "daysAgoEnd": lambda now, n: _day_end(now - timedelta(days=n)),
    "monthsAgo": lambda now, n: _add_months(now, -n),
    "monthsAgoStart": lambda now, n: _month_start(_add_months(now, -n)),
    "monthsAgoEnd": lambda now, n: _month_end(_add_months(now, -n)),
    "yearsAgo": lambda now, n: _add_months(now, -12 * n),
}


def _format(moment: datetime) -> str:
    """A date-time as stored; years before 1000 are outside what an instance can hold."""
    if moment.year < 1000:
        raise UnsupportedScript(f"{moment.year} is outside the supported years")
    return moment.strftime(_FORMAT)


def _arguments(text: str) -> list[int | str]:
    if not text.strip():
        return []
    found: list[int | str] = []
    for part in text.split(","):
        match = _ARGUMENT.fullmatch(part)
        if match is None:
            raise UnsupportedScript(f"unsupported argument {part.strip()!r}")
        number, single, double = match.groups()
        found.append(int(number) if number is not None else single if single is not None else double)
    return found


def _date_generate(args: list[int | str]) -> datetime:
    texts = [str(a) for a in args]
    if len(texts) == 2:
        date, time = texts
        time = {"start": "00:00:00", "end": "23:59:59"}.get(time, time)
        texts = [f"{date} {time}"]
    if len(texts) != 1:
        raise UnsupportedScript("gs.dateGenerate takes a date and a time")
    try:
        return datetime.strptime(texts[0].strip(), _FORMAT)
    except ValueError:
        raise UnsupportedScript(f"gs.dateGenerate cannot read {texts[0]!r}") from None


def evaluate(value: str, context: ScriptContext) -> str:
    """The value of ``javascript:gs.<helper>(args)``; ``UnsupportedScript`` for anything else."""
    try:
        return _evaluate(value, context)
    except (ValueError, OverflowError) as error:
        if isinstance(error, UnsupportedScript):
            raise
        raise UnsupportedScript(f"{value!r} leaves the calendar") from None


def _evaluate(value: str, context: ScriptContext) -> str:
    match = _CALL.fullmatch(value.removeprefix(PREFIX))
    if match is None:
        raise UnsupportedScript(f"unsupported script {value!r}")
    name, args = match.group(1), _arguments(match.group(2))
    now = context.now.replace(microsecond=0, tzinfo=None)
    if name == "getUserID" and not args:
        return context.user_id
    if name == "getUserName" and not args:
        return context.user_name
    if name in ("nowDateTime", "nowNoTZ") and not args:
        return _format(now)
    if name == "dateGenerate":
        return _format(_date_generate(args))
    if name in _AGO:
        count = args[0] if len(args) == 1 else None
        if not isinstance(count, int) or abs(count) > 100_000:
            raise UnsupportedScript(f"gs.{name} takes one whole number")
        return _format(_AGO[name](now, count))
    for prefix, index in (("beginningOf", 0), ("endOf", 1)):
        period = name.removeprefix(prefix)
        if name.startswith(prefix) and not args and period in (periods := _periods(now)):
            return _format(periods[period][index])
    raise UnsupportedScript(f"unsupported helper gs.{name}")
