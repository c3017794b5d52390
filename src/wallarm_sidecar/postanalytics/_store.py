"""The wstore's memory: recent request records, packed, inside a fixed byte budget (sans-IO).

Records are kept as msgpack bytes (one `bytes` object each, invisible to the garbage
collector) in arrival order and numbered from 1. Each entry is charged its length plus
`ENTRY_OVERHEAD`, what CPython spends around it (the bytes header, allocator rounding,
the list slot); a test measures that with tracemalloc. Appending past the budget evicts
the oldest entries first, so the charged total never exceeds the budget.

The export cursor is the sequence number of the last record the jobs process has taken
and acknowledged: `read_since(cursor, limit)` pages forward from any cursor and says how
many records the cursor missed because they were evicted before being read.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Bytes charged per record on top of its packed length. Measured (tracemalloc, see
#: tests/postanalytics/test_store.py): 42 per record on CPython 3.11 (the `bytes` header
#: of 33, the list slot and its share of over-allocation); plus up to 15 of allocator
#: rounding that tracemalloc does not see; rounded up to 64.
ENTRY_OVERHEAD = 64

_COMPACT_AFTER = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRecords:
    """One page of `RecordStore.read_since`."""

    records: list[tuple[int, bytes]]
    #: The cursor to pass next time: the last sequence returned, else the one given
    #: (or the last evicted one, when everything after the cursor was evicted).
    cursor: int
    #: Records after the given cursor that were evicted before this read.
    missed: int = 0


@dataclass(slots=True)
class StoreCounters:
    stored: int = 0
    hits: int = 0
    evictions: int = 0
    evicted_unexported: int = 0
    rejected: int = 0
    stored_bytes: int = 0


class RecordStore:
    """Append packed records, evict the oldest past `budget` bytes, read from a cursor."""

    def __init__(self, *, budget: int) -> None:
        if budget < 1:
            raise ValueError("the budget must be at least one byte")
        self.budget = budget
        self.used = 0
        self.counters = StoreCounters()
        # Entries live in a list with a moving head (evicted slots become None and are
        # compacted in bulk), so reading from a cursor is an index, not a walk.
        self._entries: list[bytes | None] = []
        self._head = 0
        self._first_seq = 1  # sequence number of self._entries[self._head]
        self._export_cursor = 0

    def __len__(self) -> int:
        return len(self._entries) - self._head

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest record held (== next_seq when empty)."""
        return self._first_seq

    @property
    def next_seq(self) -> int:
        """Sequence number the next appended record will get."""
        return self._first_seq + len(self)

    @property
    def export_cursor(self) -> int:
        return self._export_cursor

    def append(self, packed: bytes, *, hits: int = 0) -> int | None:
        """Store one packed record; its sequence number, or None if it can never fit."""
        cost = len(packed) + ENTRY_OVERHEAD
        if cost > self.budget:
            self.counters.rejected += 1
            return None
        while self.used + cost > self.budget:
            self._evict_oldest()
        self._entries.append(packed)
        self.used += cost
        self.counters.stored += 1
        self.counters.hits += hits
        self.counters.stored_bytes += len(packed)
        return self.next_seq - 1

    def _evict_oldest(self) -> None:
        entries = self._entries
        packed = entries[self._head]
        assert packed is not None
        entries[self._head] = None
        self._head += 1
        self.used -= len(packed) + ENTRY_OVERHEAD
        self.counters.evictions += 1
        if self._first_seq > self._export_cursor:
            self.counters.evicted_unexported += 1
        self._first_seq += 1
        if self._head >= _COMPACT_AFTER and self._head * 2 >= len(entries):
            del entries[: self._head]
            self._head = 0

    def read_since(self, cursor: int, limit: int) -> StoredRecords:
        """Up to `limit` records with a sequence number above `cursor`, oldest first."""
        if cursor < 0 or limit < 0:
            raise ValueError("cursor and limit must not be negative")
        cursor = min(cursor, self.next_seq - 1)
        missed = max(0, self._first_seq - 1 - cursor)
        start = max(cursor + 1, self._first_seq)
        offset = self._head + (start - self._first_seq)
        chunk = self._entries[offset : offset + limit]
        records = [
            (start + index, packed) for index, packed in enumerate(chunk) if packed is not None
        ]
        last = records[-1][0] if records else start - 1
        return StoredRecords(records=records, cursor=last, missed=missed)

    def commit_export(self, cursor: int) -> None:
        """The jobs process exported everything up to `cursor`; it never moves back."""
        if cursor < 0:
            raise ValueError("the export cursor must not be negative")
        self._export_cursor = max(self._export_cursor, min(cursor, self.next_seq - 1))


__all__ = ["ENTRY_OVERHEAD", "RecordStore", "StoreCounters", "StoredRecords"]
