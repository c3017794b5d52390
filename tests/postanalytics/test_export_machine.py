"""The export state machine (sans-IO) and the record conversion, every failure order."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import msgpack

from wallarm_sidecar.postanalytics import (
    BehaviourEngine,
    BehaviourSettings,
    CommitCursor,
    ExportMachine,
    ExportPage,
    PostHits,
    ReadPage,
    Wait,
    cloud_records,
    decode_record,
)
from wallarm_sidecar.wire import HitRecord, RequestRecord, pack_record


def wire(request_id: str, *, hits: int = 1, path: str = "/x", status: int = 200) -> list[Any]:
    packed = pack_record(
        request_id=request_id,
        time=1_767_225_600.0,
        node="pod-1",
        application="shop",
        client_ip="192.0.2.1",
        method="GET",
        host="shop.local",
        path=path,
        parameters=[('get_param "id"', "integer")],
        status=status,
        duration_ms=1.0,
        bytes_in=0,
        bytes_out=10,
        blocked=False,
        mode="monitoring",
        hits=[("sqli", f'get_param "p{i}"', "' or 1=1", "942100") for i in range(hits)],
    )
    value: list[Any] = msgpack.unpackb(packed, raw=False)
    return value


def page(records: list[list[Any]], first: int = 1, missed: int = 0) -> ExportPage:
    return ExportPage(
        first=first,
        cursor=first + len(records) - 1 if records else first - 1,
        missed=missed,
        records=records,
        instance="i1",
    )


def fixed_delays() -> Iterator[float]:
    return itertools.count(1.0)  # 1, 2, 3, ... seconds: visible in the tests


def machine(**kwargs: Any) -> ExportMachine:
    return ExportMachine(delays=fixed_delays, page_limit=4, **kwargs)


def test_a_page_is_posted_then_committed_in_that_order() -> None:
    m = machine()
    assert m.next_action(0.0) == ReadPage(4)
    m.page_read(page([wire("a"), wire("b", hits=0), wire("c", hits=2)]), 0.0)
    action = m.next_action(0.0)
    assert isinstance(action, PostHits)
    assert [r["request_id"] for r in action.records] == ["a", "c"]  # no record without hits
    m.posted(3, 0, 0.0)
    assert m.next_action(0.0) == CommitCursor(3, "i1")
    m.committed(0.0)
    # the page was not full: pause before the next read
    assert m.next_action(0.0) == Wait(1.0)
    assert m.next_action(1.0) == ReadPage(4)
    assert (m.counters.hits_stored, m.counters.last_cursor) == (3, 3)


def test_the_cursor_is_not_committed_until_every_batch_is_acknowledged() -> None:
    m = ExportMachine(delays=fixed_delays, page_limit=10, batch_records=2)
    m.page_read(page([wire(str(i)) for i in range(5)]), 0.0)
    posts = 0
    now = 0.0
    while True:
        action = m.next_action(now)
        if isinstance(action, CommitCursor):
            break
        assert isinstance(action, PostHits)
        # each batch fails twice (a 500, then a timeout) before it is taken
        m.post_failed(now, retryable=True)
        wait = m.next_action(now)
        assert isinstance(wait, Wait) and wait.until > now
        now = wait.until
        assert m.next_action(now) == action  # the same batch again
        m.post_failed(now, retryable=True)
        now = m.next_action(now).until  # type: ignore[union-attr]
        m.posted(len(action.records), 0, now)
        posts += 1
    assert posts == 3 and action == CommitCursor(5, "i1")
    assert m.counters.post_failures == 6


def test_backoff_grows_while_failing_and_resets_on_success() -> None:
    m = machine()
    m.read_failed(0.0)
    assert m.next_action(0.0) == Wait(1.0)
    m.read_failed(1.0)
    assert m.next_action(1.0) == Wait(3.0)  # second delay: 2
    m.page_read(page([wire("a")]), 3.0)
    m.post_failed(3.0, retryable=True)
    assert m.next_action(3.0) == Wait(4.0)  # a fresh backoff after the read succeeded


def test_an_invalid_batch_is_split_until_the_bad_record_is_alone_then_dropped() -> None:
    m = ExportMachine(delays=fixed_delays, page_limit=10)
    m.page_read(page([wire(str(i)) for i in range(8)]), 0.0)
    bad = "5"
    stored: list[str] = []
    while not isinstance(action := m.next_action(0.0), CommitCursor):
        assert isinstance(action, PostHits)
        ids = [r["request_id"] for r in action.records]
        if bad in ids:
            m.post_failed(0.0, retryable=False, error="HTTP 422")
        else:
            stored.extend(ids)
            m.posted(len(ids), 0, 0.0)
    assert sorted(stored) == [str(i) for i in range(8) if str(i) != bad]
    assert (m.counters.rejected_records, m.counters.rejected_hits) == (1, 1)


def test_a_commit_refused_by_a_restarted_wstore_reads_again() -> None:
    m = machine()
    m.page_read(page([wire("a")]), 0.0)
    m.posted(1, 0, 0.0)
    m.commit_failed(0.0, conflict=True)
    assert m.next_action(0.0) == ReadPage(4)
    assert m.counters.commit_conflicts == 1


def test_a_failed_commit_is_retried_with_the_same_cursor() -> None:
    m = machine()
    m.page_read(page([wire("a")]), 0.0)
    m.posted(1, 0, 0.0)
    m.commit_failed(0.0, conflict=False)
    assert m.next_action(0.5) == Wait(1.0)
    assert m.next_action(1.0) == CommitCursor(1, "i1")


def test_an_empty_page_waits_and_missed_records_still_move_the_cursor() -> None:
    m = machine()
    m.page_read(page([]), 0.0)
    assert m.next_action(0.0) == Wait(1.0)
    m = machine()
    m.page_read(ExportPage(first=11, cursor=10, missed=10, records=[], instance="i1"), 0.0)
    assert m.next_action(0.0) == CommitCursor(10, "i1")
    assert m.counters.missed == 10


def test_a_full_page_is_followed_by_the_next_read_at_once() -> None:
    m = machine()
    m.page_read(page([wire(str(i), hits=0) for i in range(4)]), 0.0)
    assert m.next_action(0.0) == CommitCursor(4, "i1")  # nothing to post
    m.committed(0.0)
    assert m.next_action(0.0) == ReadPage(4)


def test_malformed_records_are_counted_and_skipped() -> None:
    m = machine()
    m.page_read(page([["short"], wire("ok"), "not a record"]), 0.0)
    action = m.next_action(0.0)
    assert isinstance(action, PostHits) and len(action.records) == 1
    assert m.counters.malformed == 2


def test_detections_travel_with_the_page_that_made_them() -> None:
    engine = BehaviourEngine(BehaviourSettings(dirbust_threshold=3))
    m = machine(behaviour=engine)
    records = [wire(f"r{i}", hits=0, path=f"/p{i}", status=404) for i in range(4)]
    detections = m.page_read(page(records), 0.0)
    assert [d.attack_type for d in detections] == ["dirbust"]
    action = m.next_action(0.0)
    assert isinstance(action, PostHits)
    assert [r["request_id"] for r in action.records] == ["dirbust:r2"]


def test_batches_respect_the_cloud_limits() -> None:
    m = ExportMachine(delays=fixed_delays, page_limit=2000, batch_bytes=200_000)
    records = [wire(str(i)) for i in range(1200)] + [wire("big", hits=150)]
    m.page_read(page(records), 0.0)
    sizes = []
    while isinstance(action := m.next_action(0.0), PostHits):
        assert len(action.records) <= 500
        assert all(len(r["hits"]) <= 64 for r in action.records)
        sizes.append(sum(len(r["hits"]) for r in action.records))
        m.posted(0, 0, 0.0)
    assert sum(sizes) == 1200 + 150


def test_conversion_cuts_fields_to_the_cloud_bounds_and_splits_hits() -> None:
    from wallarm_sidecar.cloud._schemas import RecordIn

    record = RequestRecord(
        request_id="r" * 300,
        time=math.nan,
        node="n" * 300,
        application="a",
        client_ip="1" * 100,
        method="M" * 40,
        host="h" * 300,
        path="/" + "p" * 5000,
        status=1234,
        mode="m" * 40,
        hits=[
            HitRecord(
                attack_type="",
                point="x" * 900,
                fragment="f" * 5000,
                rule_id="r" * 300,
                blocked=True,
            )
        ]
        * 70,
    )
    converted = cloud_records(record)
    assert [len(r["hits"]) for r in converted] == [64, 6]
    for item in converted:
        RecordIn.model_validate(item)  # raises if any bound is broken
    assert converted[0]["time"] == 0.0 and converted[0]["status"] == 0
    assert cloud_records(decode_record(wire("x", hits=0))) == []
