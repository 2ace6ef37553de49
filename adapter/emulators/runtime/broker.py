"""The built-in interop broker: `BrokerState` served as channel ``interop-broker-<platform uuid>``.

Started by ``emulate runtime --broker PLATFORM_UUID`` through `start_broker`. It joins the runtime over an
in-process connection (see the contract in ``adapter.emulators.runtime.runtime``) and is an ordinary
channel provider there: it creates the channel, answers ``process-channel-connection`` and
``process-channel-message`` by echoing their ``ackToSender``, dispatches contexts and intents to clients
with ``send-channel-message``, and forgets clients on the channel's ``client-disconnected`` event.
All the interop rules live in ``broker_state``; this module only moves frames.

The channel's name comes from the adapter's own client (``adapter.openfin.interop.broker_channel_name``), so
it is defined once: the dependency runs from the emulator, a test tool, to the product, never back. Sharing it
cannot hide a wrong name, since the conformance tests also run node-adapter's clients against this broker
and our client against node-adapter's stock ``InteropBroker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import structlog

from adapter.emulators.runtime.broker_state import (
    INTENT_DELIVERY_FAILED,
    INTENT_HANDLER_REJECTED,
    BrokerError,
    BrokerState,
    Dispatch,
    IntentRoute,
    JsonObject,
    Outcome,
)
from adapter.emulators.runtime.errors import RuntimeRequestError
from adapter.openfin.interop import broker_channel_name

if TYPE_CHECKING:
    from adapter.emulators.runtime.internal import InternalConnection
    from adapter.emulators.runtime.runtime import Runtime

log = structlog.get_logger(__name__)

CLASSIC_ANSWER: JsonObject = {"supportedProtocols": [{"type": "classic", "version": 5}]}
"""The protocol answer a node-adapter provider gives; clients without one would assume classic v1."""

SETUP_TIMEOUT = 10.0


def _reply(ack_to_sender: Any, *, result: Any = None, has_result: bool = False) -> JsonObject:
    """The echoed ackToSender of a success; ``result`` is left out when there is none, like ``undefined``."""
    frame: JsonObject = copy.deepcopy(ack_to_sender) if isinstance(ack_to_sender, dict) else {}
    body = frame.setdefault("payload", {})
    inner = body.get("payload")
    if not isinstance(inner, dict):
        inner = {}
    if has_result:
        inner["result"] = result
    body["payload"] = inner
    body["success"] = True
    return frame


def _refusal(
    ack_to_sender: Any, reason: str, *, with_error: bool = True, detail: str | None = None
) -> JsonObject:
    """The echoed ackToSender of a failure with ``reason``, plus an ``error`` as a node action handler's.

    A refused connection carries no ``error``, as node's providers refuse connections. ``detail`` (a
    handler's own reason) becomes the error's ``cause``, as a node provider serialises an ``Error`` thrown
    with a cause: the caller is rejected with ``reason`` (the FDC3 error name a raiser compares) and finds
    the handler's reason at ``error.cause.cause``.
    """
    frame: JsonObject = copy.deepcopy(ack_to_sender) if isinstance(ack_to_sender, dict) else {}
    body = frame.setdefault("payload", {})
    body["success"] = False
    body["reason"] = reason
    if with_error:
        error: JsonObject = {"name": "Error", "message": reason, "stack": f"Error: {reason}"}
        if detail is not None:
            error["cause"] = {"name": "Error", "message": detail, "stack": f"Error: {detail}"}
        body["error"] = error
    return frame


class Broker:
    """The running built-in broker; create it with `start_broker`, stop it with `aclose`."""

    def __init__(self, connection: InternalConnection, platform_uuid: str) -> None:
        self._connection = connection
        self.channel_name = broker_channel_name(platform_uuid)
        self.state = BrokerState()
        self._provider_identity: JsonObject | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()
        self._main: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Create the channel and serve it in the background (call on the running loop)."""
        self._main = asyncio.get_running_loop().create_task(self._serve(), name=f"broker {self.channel_name}")

    async def wait_ready(self, timeout: float = SETUP_TIMEOUT) -> None:  # noqa: ASYNC109 (a bounded wait)
        """Wait until the broker channel exists (clients may connect before; they are told to wait)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def aclose(self) -> None:
        """Stop serving and leave the runtime, which destroys the channel as a closing socket would."""
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._connection.aclose()

    async def _serve(self) -> None:
        # The channel first, so that it exists as early as possible after READY.
        try:
            self._provider_identity = await self._connection.request(
                "create-channel", {"channelName": self.channel_name}, timeout=SETUP_TIMEOUT
            )
            await self._connection.request(
                "subscribe-to-desktop-event",
                {"topic": "channel", "type": "client-disconnected"},
                timeout=SETUP_TIMEOUT,
            )
            version = await self._connection.request("get-version", timeout=SETUP_TIMEOUT)
        except (RuntimeRequestError, TimeoutError) as exc:
            log.error("broker.start_failed", channel=self.channel_name, error=str(exc))
            return
        self.state.provider_version = str(version or "")
        self._ready.set()
        log.info("broker.started", channel=self.channel_name)
        async for frame in self._connection.pushes():
            payload = frame.get("payload")
            if not isinstance(payload, dict):
                continue
            action = frame.get("action")
            if action == "process-channel-connection":
                await self._on_connection(payload)
            elif action == "process-channel-message":
                await self._on_message(payload)
            elif action == "process-desktop-event":
                self._on_event(payload)
        log.info("broker.stopped", channel=self.channel_name)

    def _ours(self, provider_identity: Any) -> bool:
        assert self._provider_identity is not None
        return isinstance(provider_identity, dict) and (
            provider_identity.get("channelId") == self._provider_identity.get("channelId")
        )

    async def _on_connection(self, payload: JsonObject) -> None:
        ack_to_sender = payload.get("ackToSender")
        if not self._ours(payload.get("providerIdentity")):
            await self._connection.send_raw(
                _refusal(
                    ack_to_sender, f'Channel "{self.channel_name}" has been destroyed.', with_error=False
                )
            )
            return
        identity = payload.get("clientIdentity")
        try:
            self.state.connect(identity if isinstance(identity, dict) else {}, payload.get("payload"))
        except BrokerError as exc:
            log.info("broker.connection_refused", reason=str(exc))
            await self._connection.send_raw(_refusal(ack_to_sender, str(exc), with_error=False))
            return
        reply = _reply(ack_to_sender)
        reply["payload"]["payload"]["answer"] = CLASSIC_ANSWER
        await self._connection.send_raw(reply)

    async def _on_message(self, payload: JsonObject) -> None:
        ack_to_sender = payload.get("ackToSender")
        action = str(payload.get("action"))
        sender = payload.get("senderIdentity")
        sender = sender if isinstance(sender, dict) else {}
        if not self._is_client(sender):
            await self._connection.send_raw(
                _refusal(
                    ack_to_sender,
                    "This action was sent from a client that is not connected to the provider. "
                    f"Client Identity: {{uuid: {sender.get('uuid')}, name: {sender.get('name')}, "
                    f"endpointId: {sender.get('endpointId')}}}",
                )
            )
            return
        try:
            outcome = self.state.handle(action, payload.get("payload"), sender)
        except BrokerError as exc:
            await self._connection.send_raw(_refusal(ack_to_sender, str(exc)))
            return
        # The dispatches leave now, in order, so before the reply; one future each, no task per dispatch.
        deliveries = self._connection.send_requests(
            ("send-channel-message", self._client_message(d.target, d.action, d.payload))
            for d in outcome.dispatches
        )
        for dispatch, delivery in zip(outcome.dispatches, deliveries, strict=True):
            delivery.add_done_callback(functools.partial(_log_handler_failure, dispatch))
        self._spawn(self._answer(ack_to_sender, outcome, deliveries))

    def _is_client(self, sender: JsonObject) -> bool:
        return any(
            c.get("endpointId") == sender.get("endpointId")
            and c.get("uuid") == sender.get("uuid")
            and c.get("name") == sender.get("name")
            for c in self.state.clients()
        )

    def _on_event(self, payload: JsonObject) -> None:
        if payload.get("topic") != "channel" or payload.get("type") != "client-disconnected":
            return
        assert self._provider_identity is not None
        if payload.get("channelId") != self._provider_identity.get("channelId"):
            return
        self.state.disconnect(payload)
        log.info("broker.client_left", uuid=payload.get("uuid"), endpoint=payload.get("endpointId"))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _client_message(self, target: JsonObject, action: str, payload: Any) -> JsonObject:
        return {**target, "providerIdentity": self._provider_identity, "action": action, "payload": payload}

    async def _send_to_client(self, target: JsonObject, action: str, payload: Any) -> Any:
        return await self._connection.request(
            "send-channel-message", self._client_message(target, action, payload)
        )

    async def _answer(
        self, ack_to_sender: Any, outcome: Outcome, deliveries: list[asyncio.Future[Any]]
    ) -> None:
        if outcome.await_dispatches and deliveries:
            await asyncio.wait(deliveries)
        if outcome.intent is not None:
            await self._answer_intent(ack_to_sender, outcome.intent)
            return
        await self._connection.send_raw(
            _reply(ack_to_sender, result=outcome.result, has_result=outcome.result is not None)
        )

    async def _answer_intent(self, ack_to_sender: Any, route: IntentRoute) -> None:
        """Dispatch the intent to its handler and give the raiser ``{source, intent, version, result}``."""
        try:
            data = await self._send_to_client(route.target, route.handler_id, route.intent)
        except (RuntimeRequestError, TimeoutError) as exc:
            detail = exc.reason if isinstance(exc, RuntimeRequestError) else "no answer"
            # The runtime's own refusal when the handler's connection went away, else the handler's.
            gone = not isinstance(exc, RuntimeRequestError) or detail.endswith("no longer connected.")
            reason = INTENT_DELIVERY_FAILED if gone else INTENT_HANDLER_REJECTED
            log.info(
                "broker.intent_failed",
                intent=route.intent_name,
                handler=route.target.get("uuid"),
                reason=reason,
                detail=detail,
            )
            await self._connection.send_raw(_refusal(ack_to_sender, reason, detail=detail))
            return
        has_result = isinstance(data, dict) and "result" in data
        result = data.get("result") if isinstance(data, dict) else None
        log.info("broker.intent_handled", intent=route.intent_name, handler=route.target.get("uuid"))
        await self._connection.send_raw(
            _reply(ack_to_sender, result=route.resolution(result, has_result=has_result), has_result=True)
        )


def _log_handler_failure(dispatch: Dispatch, delivery: asyncio.Future[Any]) -> None:
    """A context to a handler; like the stock broker, a handler's failure is logged, not propagated."""
    if delivery.cancelled():
        return
    exc = delivery.exception()
    if isinstance(exc, (RuntimeRequestError, TimeoutError)):
        log.warning(
            "broker.context_handler_failed",
            handler=dispatch.action,
            client=dispatch.target.get("uuid"),
            reason=str(exc),
        )


def start_broker(runtime: Runtime, platform_uuid: str) -> Broker:
    """Start the built-in broker on ``runtime`` as channel ``interop-broker-<platform_uuid>``.

    The broker joins as the in-process party ``{uuid: platform_uuid}``, as a platform provider's broker
    is that platform's. Call on the running event loop; the channel exists shortly after
    (see `Broker.wait_ready`).
    """
    broker = Broker(runtime.open_internal_connection(platform_uuid), platform_uuid)
    broker.start()
    return broker
