"""The default login: the consent page in an OpenFin window the adapter opens through the runtime.

The instance runs without ``--auto-login``, so the window shows the real login and consent form; the test
plays the user at the desk, filling the form in the runtime emulator's headless window (the emulator-only
``emulator-submit-form`` action) while a node-adapter app waits on ``servicenow.connect``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from adapter.openfin import RuntimeConnection
from adapter.openfin.frames import DesktopEvent
from tests.conformance.adapter.conftest import AdapterStack, AppError, adapter_stack
from tests.support.waiting import eventually_blocking


@pytest.fixture(scope="module")
def desktop() -> Iterator[AdapterStack]:
    """Both emulators (the instance asks for a real login) and the adapter with its default authorizer."""
    with adapter_stack("built-in", auto_login=False) as stack:
        yield stack


async def answer_consent(
    address: str,
    user: str,
    password: str,
    button: str,
    watching: threading.Event,
    *,
    window_open: threading.Event | None = None,
    answer_when: threading.Event | None = None,
) -> dict[str, Any]:
    """Wait for the adapter's consent window and submit its form as a user would.

    ``watching`` is set once the window's start can no longer be missed; ``window_open`` once the window
    is there; the form is submitted only after ``answer_when`` is set (at once without it).
    """
    async with RuntimeConnection(address, "consenting-user", reconnect=False) as runtime:
        started: asyncio.Queue[str] = asyncio.Queue()

        def on_started(event: DesktopEvent) -> None:
            if event.uuid and event.uuid.startswith("servicenow-adapter-window-"):
                started.put_nowait(event.uuid)

        await runtime.subscribe_event("system", "application-started", on_started)
        watching.set()
        async with asyncio.timeout(30):
            window = await started.get()
            if window_open is not None:
                window_open.set()
            if answer_when is not None:
                await asyncio.to_thread(answer_when.wait, 30)
            answer: dict[str, Any] = await runtime.request(
                "emulator-submit-form",
                {
                    "uuid": window,
                    "name": window,
                    "fields": {"user_name": user, "user_password": password},
                    "submit": button,
                },
                timeout=30,
            )
        return answer


def connect_while_user_answers(stack: AdapterStack, uuid: str, button: str) -> tuple[Any, dict[str, Any]]:
    """``servicenow.connect`` from an app while the user answers the consent form with ``button``."""
    app = stack.app(uuid)
    watching = threading.Event()
    answered: dict[str, Any] = {}

    def user() -> None:
        answered.update(
            asyncio.run(answer_consent(stack.runtime, "beth.anglin", "beth.anglin", button, watching))
        )

    desk = threading.Thread(target=user)
    desk.start()
    assert watching.wait(timeout=30)
    try:
        result: Any = app.connect()
    except AppError as error:
        result = error
    desk.join(timeout=60)
    return result, answered


def test_login_through_the_openfin_window_signs_every_app_in(apps: AdapterStack) -> None:
    result, answered = connect_while_user_answers(apps, "window-login-app", "allow")
    assert isinstance(result, dict), result
    assert result["currentUser"]["user_name"] == "beth.anglin"
    assert "/oauth_redirect.do?" in answered["url"]
    later = apps.app("second-window-app").connect()
    assert later["shared"] is True


def test_denying_consent_in_the_window_fails_connect_with_authorization_error(apps: AdapterStack) -> None:
    result, _ = connect_while_user_answers(apps, "denied-app", "deny")
    assert isinstance(result, AppError)
    assert result.name == "AuthorizationError"
    assert result.reason == "AuthorizationError: Authorization error"
    assert apps.live_tokens() == {"access": [], "refresh": []}


def test_an_app_closed_while_its_login_runs_leaves_no_share_behind(apps: AdapterStack) -> None:
    app = apps.app("impatient-app")
    watching, window_open, app_gone = threading.Event(), threading.Event(), threading.Event()
    answered: dict[str, Any] = {}

    def user() -> None:
        answered.update(
            asyncio.run(
                answer_consent(
                    apps.runtime,
                    "beth.anglin",
                    "beth.anglin",
                    "allow",
                    watching,
                    window_open=window_open,
                    answer_when=app_gone,
                )
            )
        )

    desk = threading.Thread(target=user)
    desk.start()
    assert watching.wait(timeout=30)
    app.node.send({"op": "dispatch", "id": 0, "action": "servicenow.connect", "payload": {}})
    assert window_open.wait(timeout=30)
    app.close()
    app_gone.set()
    desk.join(timeout=60)
    assert "/oauth_redirect.do?" in answered["url"]
    # The login completed for nobody: the adapter must release it and revoke the tokens it got.
    eventually_blocking(lambda: not apps.live_tokens()["access"], "the abandoned login revoked", timeout=30)
    assert apps.live_tokens() == {"access": [], "refresh": []}
