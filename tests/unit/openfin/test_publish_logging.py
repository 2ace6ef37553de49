"""A publish refused by a client without a handler for it is a debug line; other failures stay at info."""

from __future__ import annotations

from structlog.testing import capture_logs

from adapter.openfin import ClientIdentity
from adapter.openfin.errors import ActionNotFound, ChannelActionError
from adapter.openfin.provider import _failed

PLATFORM = ClientIdentity(uuid="platform", name="platform", endpointId="e-1")
ACTION = "servicenow.recordChanged"


def _logged(error: Exception, *, gone: bool = False) -> list[tuple[str, str]]:
    with capture_logs() as logs:
        outcome = _failed(PLATFORM, ACTION, error, gone=gone)
    assert outcome.error is error
    return [(entry["event"], entry["log_level"]) for entry in logs]


def test_a_client_without_a_handler_for_the_action_is_logged_at_debug() -> None:
    # The reason node-adapter (and our client) answer with when nothing is registered for the action.
    refused = ChannelActionError(ACTION, ActionNotFound(ACTION).reason)

    assert _logged(refused) == [("channel.publish_failed", "debug")]


def test_a_handler_that_failed_is_still_logged_at_info_positive_control() -> None:
    failed = ChannelActionError(ACTION, "TypeError: cannot read properties of undefined")

    assert _logged(failed) == [("channel.publish_failed", "info")]


def test_a_client_that_left_while_the_publish_was_on_its_way_is_logged_at_debug() -> None:
    left = ChannelActionError(ACTION, "Client connection with identity uuid: platform no longer connected.")

    assert _logged(left, gone=True) == [("channel.publish_failed", "debug")]
    assert _logged(left, gone=False) == [("channel.publish_failed", "info")]
