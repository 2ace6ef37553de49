"""Our client of an interop broker's channel, with the refusal bookkeeping intent handlers need.

The stock broker marks an intent handler not ready when a delivery is refused, and the ``InteropClient``
answers by announcing the handler again (see interop.py). That announcement must reach the broker after the
refusal it answers, and both travel the same socket in order, so a refusal is reported to the
``RefusalLedger`` only once its reply has been sent. A re-delivery of a payload just refused is answered with
the same refusal at once, whatever made it fail (the handler, or a payload the ``Intent`` model refused
before any handler ran).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from adapter.openfin.client import ChannelClient
from adapter.openfin.connection import RuntimeConnection
from adapter.openfin.frames import ChannelMessagePayload, failure_reply

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RefusedDelivery:
    """A refused delivery: the digest of its payload as received and the failure fields of its reply."""

    payload: str
    reason: str
    error: dict[str, Any] | None


def payload_key(payload: Any) -> str:
    """The digest a delivery's payload is remembered by."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class RefusalLedger(Protocol):
    """Who keeps the refused deliveries of each action (the interop client, for its intent handlers)."""

    def repeated_refusal(self, action: str, payload_key: str) -> RefusedDelivery | None:
        """The refusal to repeat for this delivery of ``action``, or ``None`` to serve it."""

    def delivery_refused(self, action: str, refusal: RefusedDelivery) -> None:
        """A delivery of ``action`` was refused and its refusal sent."""


class BrokerChannel(ChannelClient):
    """The broker's channel as a ``ChannelClient`` that tells ``ledger`` about refused deliveries."""

    def __init__(
        self,
        connection: RuntimeConnection,
        channel_name: str,
        *,
        on_disconnection: Callable[[], Awaitable[None] | None],
        ledger: RefusalLedger,
    ) -> None:
        super().__init__(connection, channel_name, on_disconnection=on_disconnection)
        self.ledger = ledger

    async def handle_message(self, push: ChannelMessagePayload) -> None:
        """Serve an action the broker dispatched to us; report a refused one once the reply is sent."""
        key = payload_key(push.payload)
        repeated = self.ledger.repeated_refusal(push.action, key)
        if repeated is not None:
            log.info("interop.intent_redelivery_refused_again", action=push.action)
            await self.connection.send(failure_reply(push.ack_to_sender, repeated.reason, repeated.error))
            return
        reply = await self.actions.reply(push.ack_to_sender, push.action, push.payload, push.sender_identity)
        await self.connection.send(reply)
        body = reply.get("payload", {})
        if body.get("success") is False:
            self.ledger.delivery_refused(
                push.action, RefusedDelivery(key, str(body.get("reason", "")), body.get("error"))
            )
