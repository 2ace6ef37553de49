"""The rules of write coalescing (``ReadBackQueue``), one test each; handles are plain objects."""

from __future__ import annotations

from adapter.bridge.broadcast import ReadBackQueue

CASE = ("sn_customerservice_case", "a" * 32)
OTHER = ("sn_customerservice_case", "b" * 32)


class Handle:
    """A read-back as the queue sees it: told apart by identity only."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def test_the_first_write_to_a_record_needs_a_read_back_that_waits_for_nothing() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    assert not queue.rides(CASE, "PATCH")
    assert queue.newest(CASE) is None


def test_a_write_rides_on_a_read_back_that_has_not_read_yet() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    first = Handle("first")
    queue.queued(CASE, "PATCH", first)
    assert queue.rides(CASE, "PATCH")
    assert queue.rides(CASE, "PUT")
    # Only that record's writes ride: another record's first write needs its own.
    assert not queue.rides(OTHER, "PATCH")


def test_once_the_read_back_reads_a_new_write_needs_its_own_which_waits_for_it() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    first = Handle("first")
    queue.queued(CASE, "PATCH", first)
    queue.reading(CASE, first)
    assert not queue.rides(CASE, "PATCH")
    assert queue.newest(CASE) is first
    second = Handle("second")
    queue.queued(CASE, "PATCH", second)
    # The second waits its turn, so later writes ride on it, not on the one reading.
    assert queue.rides(CASE, "PATCH")
    assert queue.newest(CASE) is second


def test_a_delete_neither_rides_nor_is_ridden_on() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    update = Handle("update")
    queue.queued(CASE, "PATCH", update)
    assert queue.rides(CASE, "PATCH"), "positive control: an update rides on a waiting update"
    assert not queue.rides(CASE, "DELETE")
    deletion = Handle("delete")
    queue.queued(CASE, "DELETE", deletion)
    assert queue.newest(CASE) is deletion
    assert not queue.rides(CASE, "PATCH")
    assert not queue.rides(CASE, "DELETE")


def test_a_finished_read_back_is_forgotten_and_the_record_takes_no_memory() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    first = Handle("first")
    queue.queued(CASE, "PATCH", first)
    assert len(queue) == 1
    queue.finished(CASE, first)
    assert len(queue) == 0
    assert queue.newest(CASE) is None
    assert not queue.rides(CASE, "PATCH")


def test_an_older_read_back_ending_or_reading_leaves_the_newest_in_place() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    older, newer = Handle("older"), Handle("newer")
    queue.queued(CASE, "PATCH", older)
    queue.queued(CASE, "DELETE", newer)
    queue.reading(CASE, older)
    queue.finished(CASE, older)
    assert queue.newest(CASE) is newer
    assert len(queue) == 1
    # The newest is still waiting: it was never marked reading by the older one's start.
    queue.queued(CASE, "PATCH", newest := Handle("newest"))
    assert queue.newest(CASE) is newest
    assert queue.rides(CASE, "PATCH")


def test_a_record_never_has_more_than_one_read_back_reading_and_one_waiting() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    started: list[Handle] = []
    for n in range(100):
        if not queue.rides(CASE, "PATCH"):
            handle = Handle(f"read-back {n}")
            queue.queued(CASE, "PATCH", handle)
            started.append(handle)
        if n == 10:
            queue.reading(CASE, started[0])
    # A hundred writes: the first needs a read-back, which starts to read after the eleventh write; the
    # twelfth needs its own, and every later write rides on that one.
    assert [h.name for h in started] == ["read-back 0", "read-back 11"]


def test_an_older_read_back_starting_to_read_lets_writes_still_ride_on_the_newest() -> None:
    queue: ReadBackQueue[Handle] = ReadBackQueue()
    older, newer = Handle("older"), Handle("newer")
    queue.queued(CASE, "PATCH", older)
    queue.queued(CASE, "PATCH", newer)
    queue.reading(CASE, older)
    assert queue.rides(CASE, "PATCH")
    queue.reading(CASE, newer)
    assert not queue.rides(CASE, "PATCH"), "positive control: the newest reading stops the riding"
