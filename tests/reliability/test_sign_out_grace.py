"""A runtime restart does not sign the user out: apps that come back within ``--sign-out-grace`` find the
login still there; when nobody comes back, the tokens are revoked once the grace ends.

The runtime takes every app's channel connection with it, so the adapter sees every app go at once, without
a ``servicenow.disconnect``. Before the grace existed, the last share out revoked the login and every app had
to sign in again after a runtime blip.
"""

from __future__ import annotations

import time

import pytest

from tests.conformance.adapter.conftest import App
from tests.reliability.desktop import CASES, WAIT, Desktop, desktop, eventually

GRACE = 5.0


def logins(stack: Desktop) -> int:
    return stack.stats().get("GET /oauth_auth.do", 0)


@pytest.mark.slow
def test_apps_coming_back_after_a_runtime_restart_find_the_user_still_signed_in() -> None:
    with desktop("--sign-out-grace", str(GRACE), "--reconnect-grace", "60") as stack:
        before = stack.app("grace-before")
        signed_in = before.connect()
        assert signed_in["shared"] is False
        tokens = stack.tokens()
        assert logins(stack) == 1

        stack.runtime.kill()
        stack.close_apps()
        stack.runtime.start()

        after = stack.app("grace-after")
        again = after.connect()
        assert again["shared"] is True, "the login the runtime restart interrupted is shared, not repeated"
        assert logins(stack) == 1
        assert stack.tokens() == tokens
        assert after.request(f"{CASES}?sysparm_limit=1&sysparm_fields=number")["status"] == 200


def shares(observer: App) -> list[int]:
    """The share count of every connection the adapter holds, as ``servicenow.status`` tells any app."""
    return [connection["apps"] for connection in observer.dispatch("servicenow.status")["connections"]]


@pytest.mark.slow
def test_when_no_app_comes_back_the_login_is_revoked_after_the_grace() -> None:
    with desktop("--sign-out-grace", str(GRACE)) as stack:
        app = stack.app("grace-alone")
        app.connect()
        observer = stack.app("grace-observer")  # on the channel, never connected: it holds no share
        assert shares(observer) == [1]
        app.close()
        left = time.monotonic()
        # Not a fixed wait: the adapter has handled the app's departure (its share is gone) and still holds
        # the connection. Without the grace that same departure removes the connection at once, and this
        # wait fails.
        eventually(lambda: shares(observer) == [0], "the departed app's share dropped, connection kept")
        assert stack.tokens()["access"], "signed in for the grace period, not signed out at once"
        eventually(
            lambda: not stack.tokens()["access"], "tokens revoked after the grace", timeout=GRACE + WAIT
        )
        assert time.monotonic() - left >= GRACE - 0.5
        assert stack.tokens() == {"access": [], "refresh": []}
