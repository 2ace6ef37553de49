"""Desktop-event listener bookkeeping and the connection's state watch, without sockets."""

from __future__ import annotations

from adapter.openfin.connection_state import RuntimeConnectionState, StateWatch
from adapter.openfin.desktop_events import DesktopEventListeners, EventSubscription, event_payload
from adapter.openfin.frames import DesktopEvent


class Owner:
    def __init__(self) -> None:
        self.unsubscribed: list[EventSubscription] = []

    async def unsubscribe_event(self, subscription: EventSubscription) -> None:
        self.unsubscribed.append(subscription)


def ignore(event: DesktopEvent) -> None:
    del event


def test_only_the_first_listener_of_a_key_asks_the_runtime_and_only_the_last_lets_it_go() -> None:
    listeners = DesktopEventListeners()
    owner = Owner()
    first = EventSubscription(owner, ("channel", "disconnected", None, None), ignore)
    second = EventSubscription(owner, ("channel", "disconnected", None, None), ignore)
    other = EventSubscription(owner, ("window", "closed", "a", None), ignore)

    assert listeners.add(first) is True
    assert listeners.add(second) is False
    assert listeners.add(other) is True
    assert listeners.keys() == [("channel", "disconnected", None, None), ("window", "closed", "a", None)]

    assert listeners.remove(first) is False
    assert ("channel", "disconnected", None, None) in listeners
    assert listeners.remove(second) is True
    assert ("channel", "disconnected", None, None) not in listeners
    assert listeners.keys() == [("window", "closed", "a", None)]


async def test_unsubscribe_goes_through_the_owner_once() -> None:
    owner = Owner()
    subscription = EventSubscription(owner, ("window", "closed", None, None), ignore)

    await subscription.unsubscribe()
    await subscription.unsubscribe()

    assert owner.unsubscribed == [subscription]
    assert subscription.active is False


def test_an_inactive_listener_hears_nothing() -> None:
    listeners = DesktopEventListeners()
    heard: list[DesktopEvent] = []
    active = EventSubscription(Owner(), ("window", "closed", None, None), heard.append)
    inactive = EventSubscription(Owner(), ("window", "closed", None, None), heard.append)
    inactive.active = False
    listeners.add(active)
    listeners.add(inactive)

    failures = listeners.deliver(DesktopEvent(topic="window", type="closed"))

    assert failures == 0
    assert len(heard) == 1


def test_a_listener_added_during_delivery_hears_the_next_event_only() -> None:
    listeners = DesktopEventListeners()
    heard: list[str] = []
    late = EventSubscription(Owner(), ("window", "closed", None, None), lambda e: heard.append("late"))

    def add_late(event: DesktopEvent) -> None:
        heard.append("early")
        if late not in listeners:
            listeners.add(late)

    listeners.add(EventSubscription(Owner(), ("window", "shown", None, None), add_late))
    listeners.deliver(DesktopEvent(topic="window", type="shown"))
    listeners.deliver(DesktopEvent(topic="window", type="closed"))

    assert heard == ["early", "late"]


def test_event_payload_names_uuid_and_name_only_when_given() -> None:
    assert event_payload(("channel", "connected", None, None)) == {"topic": "channel", "type": "connected"}
    assert event_payload(("window", "closed", "a", "w")) == {
        "topic": "window",
        "type": "closed",
        "uuid": "a",
        "name": "w",
    }


async def test_the_state_watch_tells_callbacks_and_iterators_and_ends_after_closed() -> None:
    watch = StateWatch()
    told: list[RuntimeConnectionState] = []
    remove = watch.on_change(told.append)
    watch.move(RuntimeConnectionState.CONNECTING)
    states = watch.states()
    seen = [await anext(states)]  # from here on the iterator hears every change
    for state in (
        RuntimeConnectionState.CONNECTED,
        RuntimeConnectionState.RECONNECTING,
        RuntimeConnectionState.CLOSED,
    ):
        watch.move(state)
    seen += [state async for state in states]
    remove()
    watch.move(RuntimeConnectionState.CONNECTING)

    expected = [
        RuntimeConnectionState.CONNECTING,
        RuntimeConnectionState.CONNECTED,
        RuntimeConnectionState.RECONNECTING,
        RuntimeConnectionState.CLOSED,
    ]
    assert seen == expected
    assert told == expected


async def test_a_failing_state_callback_does_not_stop_the_others() -> None:
    watch = StateWatch()
    told: list[RuntimeConnectionState] = []

    def broken(state: RuntimeConnectionState) -> None:
        raise RuntimeError("callback bug")

    watch.on_change(broken)
    watch.on_change(told.append)
    watch.move(RuntimeConnectionState.CONNECTING)

    assert told == [RuntimeConnectionState.CONNECTING]
    assert watch.current is RuntimeConnectionState.CONNECTING
