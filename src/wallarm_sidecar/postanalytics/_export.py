"""The export of hits from wstore to the Cloud as a state machine (sans-IO).

The jobs shell asks `next_action(now)` what to do, does it (HTTP to wstore or the
Cloud), and reports the outcome back. The machine never reads a clock and does no I/O,
so every failure order can be tested without sockets.

One cycle: read a page from wstore's export cursor; decode its records, feed them to
the behavioural detectors, and turn the records with hits (and the detections) into
Cloud JSON batches; post the batches one by one, each until the Cloud acknowledges it
(retryable failures wait an exponential backoff with jitter and retry the same batch);
only then commit the page's cursor in wstore. A crash anywhere before the commit
re-reads the page after restart and resends it: the Cloud stores each hit once (keyed
by request id, point and attack type), so the way is at least once and the store once.

A batch the Cloud refuses as invalid (a non-retryable answer such as 422) is split in
halves until the offending record is alone; that record alone is dropped and counted
(`rejected_records`), so one bad record cannot stall the export forever.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from wallarm_sidecar.postanalytics._behaviour import (
    BehaviourEngine,
    Detection,
    synthetic_record,
)
from wallarm_sidecar.postanalytics._convert import (
    MAX_RECORDS_PER_POST,
    CloudRecord,
    cloud_records,
    decode_record,
    hit_count,
)

#: Kept well under the Cloud's 8 MiB body limit.
MAX_BATCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExportPage:
    """One answer of wstore's `GET /export`."""

    first: int
    cursor: int
    missed: int
    records: list[Any]
    #: wstore's instance id: a commit for another instance (wstore restarted) is refused.
    instance: str = ""


@dataclass(frozen=True, slots=True)
class ReadPage:
    limit: int


@dataclass(frozen=True, slots=True)
class PostHits:
    records: list[CloudRecord]


@dataclass(frozen=True, slots=True)
class CommitCursor:
    cursor: int
    instance: str


@dataclass(frozen=True, slots=True)
class Wait:
    until: float


Action = ReadPage | PostHits | CommitCursor | Wait


@dataclass(slots=True)
class ExportCounters:
    pages: int = 0
    records_read: int = 0
    records_with_hits: int = 0
    malformed: int = 0
    missed: int = 0
    batches_posted: int = 0
    hits_stored: int = 0
    hits_duplicate: int = 0
    post_failures: int = 0
    rejected_records: int = 0
    rejected_hits: int = 0
    commits: int = 0
    commit_conflicts: int = 0
    read_failures: int = 0
    detections: int = 0
    last_cursor: int = 0


@dataclass(slots=True)
class _Batch:
    records: list[CloudRecord]


class ExportMachine:
    """Read a page, post its hits, commit its cursor; retry with backoff in between."""

    def __init__(
        self,
        *,
        delays: Callable[[], Iterator[float]],
        behaviour: BehaviourEngine | None = None,
        page_limit: int = 1000,
        batch_records: int = MAX_RECORDS_PER_POST,
        batch_bytes: int = MAX_BATCH_BYTES,
        idle_interval: float = 1.0,
    ) -> None:
        self.delays = delays
        self.behaviour = behaviour
        self.page_limit = page_limit
        self.batch_records = max(1, min(batch_records, MAX_RECORDS_PER_POST))
        self.batch_bytes = batch_bytes
        self.idle_interval = idle_interval
        self.counters = ExportCounters()
        self._pending: deque[_Batch] = deque()
        self._commit: CommitCursor | None = None
        self._wait_until = 0.0
        self._backoff: Iterator[float] | None = None
        self._full_page = False
        self.last_error = ""

    # what to do next

    def next_action(self, now: float) -> Action:
        if now < self._wait_until:
            return Wait(self._wait_until)
        if self._pending:
            return PostHits(self._pending[0].records)
        if self._commit is not None:
            return self._commit
        return ReadPage(self.page_limit)

    @property
    def busy(self) -> bool:
        """A page is read and not committed yet."""
        return bool(self._pending) or self._commit is not None

    # outcomes

    def page_read(self, page: ExportPage, now: float) -> list[Detection]:
        """Take a page: batches of its hits to post, then its cursor to commit."""
        counters = self.counters
        counters.pages += 1
        counters.missed += page.missed
        self._ok()
        detections: list[Detection] = []
        if not page.records and not page.missed:
            self._wait_until = now + self.idle_interval
            return detections
        outgoing: list[CloudRecord] = []
        for raw in page.records:
            counters.records_read += 1
            try:
                record = decode_record(raw)
            except ValueError:
                counters.malformed += 1
                continue
            converted = cloud_records(record)
            if converted:
                counters.records_with_hits += 1
                outgoing.extend(converted)
            if self.behaviour is not None:
                found = self.behaviour.feed(record)
                for detection in found:
                    outgoing.append(synthetic_record(detection))
                detections.extend(found)
        counters.detections += len(detections)
        self._pending.extend(self._batches(outgoing))
        self._commit = CommitCursor(page.cursor, page.instance)
        self._full_page = len(page.records) >= self.page_limit
        return detections

    def read_failed(self, now: float, error: str = "") -> None:
        self.counters.read_failures += 1
        self._fail(now, error)

    def posted(self, stored: int, duplicates: int, now: float) -> None:
        self._pending.popleft()
        self.counters.batches_posted += 1
        self.counters.hits_stored += stored
        self.counters.hits_duplicate += duplicates
        self._ok()

    def post_failed(self, now: float, *, retryable: bool, error: str = "") -> None:
        self.counters.post_failures += 1
        if retryable:
            self._fail(now, error)
            return
        self.last_error = error
        batch = self._pending.popleft()
        if len(batch.records) > 1:
            middle = len(batch.records) // 2
            self._pending.appendleft(_Batch(batch.records[middle:]))
            self._pending.appendleft(_Batch(batch.records[:middle]))
        else:
            self.counters.rejected_records += 1
            self.counters.rejected_hits += hit_count(batch.records)

    def committed(self, now: float) -> None:
        assert self._commit is not None
        self.counters.commits += 1
        self.counters.last_cursor = self._commit.cursor
        self._commit = None
        self._ok()
        if not self._full_page:
            self._wait_until = now + self.idle_interval

    def commit_failed(self, now: float, *, conflict: bool, error: str = "") -> None:
        if conflict:
            # wstore restarted: its store and cursor are new; read from its cursor again.
            self.counters.commit_conflicts += 1
            self._commit = None
            self.last_error = error
            return
        self._fail(now, error)

    # internals

    def _ok(self) -> None:
        self._backoff = None
        self.last_error = ""

    def _fail(self, now: float, error: str) -> None:
        if self._backoff is None:
            self._backoff = self.delays()
        self.last_error = error
        self._wait_until = now + next(self._backoff)

    def _batches(self, records: list[CloudRecord]) -> Iterator[_Batch]:
        batch: list[CloudRecord] = []
        size = 0
        for record in records:
            length = len(json.dumps(record, ensure_ascii=False).encode()) + 1
            if batch and (len(batch) >= self.batch_records or size + length > self.batch_bytes):
                yield _Batch(batch)
                batch, size = [], 0
            batch.append(record)
            size += length
        if batch:
            yield _Batch(batch)


__all__ = [
    "MAX_BATCH_BYTES",
    "Action",
    "CommitCursor",
    "ExportCounters",
    "ExportMachine",
    "ExportPage",
    "PostHits",
    "ReadPage",
    "Wait",
]
