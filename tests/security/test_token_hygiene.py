"""Token hygiene over a whole session: no token the instance issued ever shows up where an app or a log
reader could see it.

A full desktop session runs at debug level, once with console logs and once with JSON logs: two apps sign in
(one login, shared), read, write (own-write broadcast), hit an instance error, ask for status, raise an
intent, live through a refresh and through a refused refresh and a new login, and leave (revocation). Every
access and refresh token the emulator issued along the way is collected from its token hook; then every line
the adapter wrote (stderr and stdout), every message the apps received (replies and events) and every status
reply is searched for each of them.
"""

from __future__ import annotations

import json

import pytest

from tests.conformance.adapter.conftest import AppError
from tests.reliability.desktop import CASES, Desktop, desktop

ACCESS_LIFESPAN = 1800
REFRESH_LIFESPAN = 8_640_000
CONTACT = {"type": "fdc3.contact", "id": {"email": "jane.doe@example.com"}}


def collect(stack: Desktop, into: set[str]) -> None:
    tokens = stack.tokens()
    into.update(tokens["access"], tokens["refresh"])


def run_session(stack: Desktop, issued: set[str]) -> list[str]:
    """Everything an app saw, as JSON texts, while the session ran."""
    seen: list[str] = []
    first, second = stack.app("hygiene-crm"), stack.app("hygiene-phone")
    seen.append(json.dumps(first.connect()))
    seen.append(json.dumps(second.connect()))
    collect(stack, issued)
    seen.append(json.dumps(first.request(f"{CASES}?sysparm_limit=3")))
    created = first.request(CASES, "POST", data={"short_description": "hygiene"})
    seen.append(json.dumps(created))
    second.wait_for("servicenow.recordChanged", lambda data: data["sys_id"] == created["data"]["sys_id"])
    with pytest.raises(AppError) as missing:
        second.request("/api/now/table/no_such_table")
    seen.append(json.dumps(missing.value.error))
    seen.append(json.dumps(first.dispatch("servicenow.status")))
    seen.append(json.dumps(second.raise_intent("ViewInteractions", CONTACT)))

    stack.advance_clock(ACCESS_LIFESPAN + 60)
    seen.append(json.dumps(first.request(f"{CASES}?sysparm_limit=1")))
    collect(stack, issued)
    seen.append(json.dumps(second.dispatch("servicenow.status")))

    stack.advance_clock(REFRESH_LIFESPAN + 60)
    with pytest.raises(AppError) as expired:
        first.request(f"{CASES}?sysparm_limit=1")
    assert expired.value.name == "AuthTokenExpiredError"
    seen.append(json.dumps(expired.value.error))
    seen.append(json.dumps(first.connect()))
    collect(stack, issued)
    seen.append(json.dumps(second.request(f"{CASES}?sysparm_limit=1")))
    seen.append(json.dumps(first.dispatch("servicenow.disconnect")))
    seen.append(json.dumps(second.dispatch("servicenow.disconnect")))
    seen.append(json.dumps(second.dispatch("servicenow.status")))
    seen.extend(json.dumps(event) for app in (first, second) for event in app.node.events)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("log_json", [False, True], ids=["console logs", "JSON logs"])
def test_no_issued_token_appears_in_any_log_line_channel_message_or_status_reply(log_json: bool) -> None:
    issued: set[str] = set()
    with desktop("--log-level", "debug", log_json=log_json) as stack:
        seen = run_session(stack, issued)
        assert stack.tokens() == {"access": [], "refresh": []}  # the last share out revoked them
    logs = stack.adapter.stderr_lines
    assert len(issued) >= 5  # two logins (access + refresh each) and a refresh (a new access token)
    assert any("request.done" in line for line in logs)
    assert any("channel.destroyed" in line for line in logs)  # the log was read to its clean end
    if log_json:
        assert all(json.loads(line) for line in logs if line.strip())
    leaks = [
        (where, token[:6])
        for token in issued
        for where, texts in (("log", logs), ("app", seen))
        if any(token in text for text in texts)
    ]
    assert leaks == []
