"""Channel actions by name: registration, payload validation and the replies handlers produce."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import pytest
from pydantic import BaseModel

from adapter.openfin.errors import ActionError, ActionNotFound, DuplicateActionError, PayloadError
from adapter.openfin.frames import AckToSender, ClientIdentity, encode
from adapter.openfin.registry import ActionRegistry, describe_error

CALLER = ClientIdentity(uuid="app-1", name="app-1", endpointId="e-1")
ACK = AckToSender.model_validate(
    {
        "action": "send-channel-result",
        "payload": {"correlationId": 5, "destinationToken": {}, "success": True},
    }
)


class Greeting(BaseModel):
    name: str
    times: int = 1


async def test_a_handler_receives_the_validated_payload_and_the_callers_identity() -> None:
    registry = ActionRegistry()
    seen: list[tuple[Greeting, ClientIdentity]] = []

    @registry.action("greet", payload=Greeting)
    async def greet(payload: Greeting, caller: ClientIdentity) -> str:
        seen.append((payload, caller))
        return f"hello {payload.name}"

    assert await registry.invoke("greet", {"name": "ann", "times": 2}, CALLER) == "hello ann"
    assert seen == [(Greeting(name="ann", times=2), CALLER)]


async def test_a_sync_handler_works_too() -> None:
    registry = ActionRegistry()
    registry.register("add", lambda payload, _caller: payload["a"] + payload["b"])

    assert await registry.invoke("add", {"a": 1, "b": 2}, CALLER) == 3


def test_registering_a_name_twice_is_refused() -> None:
    registry = ActionRegistry()
    registry.register("echo", lambda payload, _caller: payload)

    with pytest.raises(DuplicateActionError):
        registry.register("echo", lambda payload, _caller: payload)


async def test_a_bad_payload_is_refused_before_the_handler_runs() -> None:
    registry = ActionRegistry()
    calls: list[Any] = []
    registry.register("greet", lambda payload, _caller: calls.append(payload), payload=Greeting)

    with pytest.raises(PayloadError) as caught:
        await registry.invoke("greet", {"name": 5, "times": "secret-value"}, CALLER)

    assert calls == []
    # node-adapter apps have always been sent this name for a refused payload
    assert caught.value.name == "ParameterError"
    assert caught.value.reason.startswith("ParameterError: Invalid payload for greet: ")
    assert "name" in caught.value.message
    assert "times" in caught.value.message
    assert "secret-value" not in caught.value.message
    assert [p["field"] for p in caught.value.fields["problems"]] == ["name", "times"]


async def test_a_missing_payload_validates_as_an_empty_object() -> None:
    class Empty(BaseModel):
        verbose: bool = False

    registry = ActionRegistry()
    registry.register("status", lambda payload, _caller: payload.verbose, payload=Empty)

    assert await registry.invoke("status", None, CALLER) is False


async def test_an_unknown_action_uses_the_runtimes_wording() -> None:
    reply = await ActionRegistry().reply(ACK, "nope", None, CALLER)

    assert reply["payload"]["success"] is False
    assert reply["payload"]["reason"] == "No action registered at target for nope"


async def test_a_pydantic_result_is_sent_with_wire_names() -> None:
    registry = ActionRegistry()
    registry.register("me", lambda _payload, caller: caller)

    reply = await registry.reply(ACK, "me", None, CALLER)

    assert reply["payload"]["payload"]["result"]["endpointId"] == "e-1"


async def test_an_action_error_replies_its_name_message_and_fields() -> None:
    registry = ActionRegistry()

    def fail(_payload: Any, _caller: ClientIdentity) -> None:
        raise ActionError("Table not found", name="ApiRequestError", status=404, detail="no table x")

    registry.register("get", fail)
    reply = await registry.reply(ACK, "get", None, CALLER)

    assert reply["payload"]["reason"] == "ApiRequestError: Table not found"
    error = reply["payload"]["error"]
    assert (error["name"], error["message"], error["status"], error["detail"]) == (
        "ApiRequestError",
        "Table not found",
        404,
        "no table x",
    )
    assert error["stack"].startswith("ApiRequestError: Table not found")


async def test_any_exception_is_replied_with_its_class_name() -> None:
    registry = ActionRegistry()

    def fail(_payload: Any, _caller: ClientIdentity) -> None:
        raise KeyError("sys_id")

    registry.register("get", fail)
    reply = await registry.reply(ACK, "get", None, CALLER)

    assert reply["payload"]["reason"] == "KeyError: 'sys_id'"
    assert reply["payload"]["error"]["name"] == "KeyError"


def test_an_exception_offering_error_payload_adds_its_fields() -> None:
    class ForeignError(Exception):
        def error_payload(self) -> dict[str, Any]:
            return {"status": 401, "name": "ignored-name-wins-not"}

    reason, error = describe_error(ForeignError("expired"))

    assert reason == "ForeignError: expired"
    assert error["status"] == 401
    assert error["name"] == "ForeignError"


def test_action_not_found_is_named_error_like_javascripts() -> None:
    reason, error = describe_error(ActionNotFound("x"))

    assert reason == "No action registered at target for x"
    assert error["name"] == "Error"


def _returning(result: Any, _payload: Any, _caller: ClientIdentity) -> Any:
    return result


class Status(BaseModel):
    connections: list[Greeting]
    ratio: float
    note: str | None = None


async def test_a_reply_frame_is_the_reply_as_json_text_for_models_and_plain_values() -> None:
    registry = ActionRegistry()
    results: dict[str, Any] = {
        "model": Status(connections=[Greeting(name="ann")], ratio=math.inf),
        "dict": {"data": [1, "two", None], "text": "caf\u00e9"},
        "none": None,
    }
    for name, result in results.items():
        registry.register(name, functools.partial(_returning, result))

    for name in results:
        frame = await registry.reply_frame(ACK, name, None, CALLER)

        assert isinstance(frame, str)
        assert json.loads(frame) == json.loads(encode(await registry.reply(ACK, name, None, CALLER)))


async def test_a_reply_frame_without_a_json_form_is_the_reply_dict_and_failures_stay_dicts() -> None:
    registry = ActionRegistry()
    registry.register("odd", lambda _p, _c: {"when": object()})
    registry.register("plain", lambda _p, _c: {"when": 1})
    registry.register("fail", lambda _p, _c: (_ for _ in ()).throw(KeyError("x")))

    odd = await registry.reply_frame(ACK, "odd", None, CALLER)
    plain = await registry.reply_frame(ACK, "plain", None, CALLER)
    failed = await registry.reply_frame(ACK, "fail", None, CALLER)

    assert isinstance(odd, dict)
    with pytest.raises(TypeError):
        encode(odd)
    assert isinstance(plain, str)  # positive control: the same shape with a JSON value is text
    assert failed == await registry.reply(ACK, "fail", None, CALLER)
    assert isinstance(failed, dict)
    assert failed["payload"]["reason"] == "KeyError: 'x'"
