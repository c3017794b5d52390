"""RecordStore: the byte budget, oldest-first eviction, counters and cursor reads."""

from __future__ import annotations

import gc
import os
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallarm_sidecar.postanalytics import ENTRY_OVERHEAD, RecordStore


def entry(n: int, size: int = 100) -> bytes:
    return n.to_bytes(8, "big") + b"x" * (size - 8)


def test_append_assigns_sequence_numbers_and_charges_bytes() -> None:
    store = RecordStore(budget=10_000)
    assert store.append(entry(1), hits=2) == 1
    assert store.append(entry(2), hits=0) == 2
    assert store.used == 2 * (100 + ENTRY_OVERHEAD)
    assert (store.counters.stored, store.counters.hits) == (2, 2)
    assert (store.first_seq, store.next_seq, len(store)) == (1, 3, 2)


def test_filling_three_times_the_budget_keeps_the_newest_under_budget() -> None:
    cost = 100 + ENTRY_OVERHEAD
    store = RecordStore(budget=50 * cost + cost // 2)
    for n in range(1, 151):
        store.append(entry(n), hits=1)
        assert store.used <= store.budget
    assert len(store) == 50
    assert store.counters.evictions == 100
    assert store.counters.evicted_unexported == 100
    assert store.counters.stored == 150 and store.counters.rejected == 0
    page = store.read_since(0, 1000)
    assert page.missed == 100
    assert [seq for seq, _ in page.records] == list(range(101, 151))
    assert all(packed == entry(seq) for seq, packed in page.records)


def test_a_record_larger_than_the_budget_is_rejected_and_evicts_nothing() -> None:
    store = RecordStore(budget=1000)
    store.append(entry(1))
    assert store.append(b"y" * 1000) is None
    assert store.counters.rejected == 1
    assert len(store) == 1 and store.counters.evictions == 0


def test_read_since_pages_forward_from_any_cursor() -> None:
    store = RecordStore(budget=1_000_000)
    for n in range(1, 11):
        store.append(entry(n))
    first = store.read_since(0, 4)
    assert [seq for seq, _ in first.records] == [1, 2, 3, 4] and first.cursor == 4
    second = store.read_since(first.cursor, 100)
    assert [seq for seq, _ in second.records] == list(range(5, 11)) and second.cursor == 10
    empty = store.read_since(10, 100)
    assert empty.records == [] and empty.cursor == 10 and empty.missed == 0
    assert store.read_since(999, 5).cursor == 10  # a cursor from the future is clamped


def test_export_cursor_only_moves_forward_and_protects_nothing() -> None:
    cost = 100 + ENTRY_OVERHEAD
    store = RecordStore(budget=5 * cost)
    for n in range(1, 6):
        store.append(entry(n))
    store.commit_export(3)
    store.commit_export(2)
    assert store.export_cursor == 3
    store.commit_export(100)
    assert store.export_cursor == 5
    store.commit_export(3)
    for n in range(6, 9):
        store.append(entry(n))
    # Evicting exported records is not a loss; the cursor was at 5.
    assert store.counters.evictions == 3 and store.counters.evicted_unexported == 0


def test_eviction_compacts_the_list() -> None:
    cost = 10 + ENTRY_OVERHEAD
    store = RecordStore(budget=100 * cost)
    for n in range(20_000):
        store.append(entry(n, 10))
    assert len(store) == 100
    assert len(store._entries) < 10_000
    page = store.read_since(19_950, 10)
    assert [seq for seq, _ in page.records] == list(range(19_951, 19_961))


@pytest.mark.parametrize("size", [1, 40, 200, 700, 3000], ids=lambda s: f"{s}B")
def test_entry_overhead_covers_what_cpython_spends(size: int) -> None:
    """Memory allocated for N stored records is within the charged bytes.

    tracemalloc sees requested sizes; the allocator rounds each block up by at most
    15 bytes (16-byte alignment, or malloc's header above 512), which the constant
    leaves room for, and no more than that."""
    count = 20_000
    payloads = [bytearray(os.urandom(size)) for _ in range(count)]  # allocated before
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = RecordStore(budget=10**12)
        for payload in payloads:
            store.append(bytes(payload))  # a fresh copy, as msgpack packing makes one
        allocated = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    per_entry = allocated / count - size
    assert per_entry + 16 <= ENTRY_OVERHEAD, per_entry
    assert per_entry + 32 >= ENTRY_OVERHEAD, per_entry  # not wildly pessimistic either


@given(
    budget=st.integers(min_value=1, max_value=5000),
    sizes=st.lists(st.integers(min_value=1, max_value=3000), max_size=200),
    commits=st.lists(st.integers(min_value=0, max_value=300), max_size=5),
)
def test_used_never_exceeds_the_budget(budget: int, sizes: list[int], commits: list[int]) -> None:
    store = RecordStore(budget=budget)
    for index, size in enumerate(sizes):
        store.append(b"z" * size, hits=1)
        if commits and index % 37 == 0:
            store.commit_export(commits[index % len(commits)])
        assert store.used <= budget
    counters = store.counters
    assert counters.stored + counters.rejected == len(sizes)
    assert counters.stored - counters.evictions == len(store)
    assert store.used == sum(len(p) + ENTRY_OVERHEAD for _, p in store.read_since(0, 10**6).records)
    if len(store):
        # whatever is kept is the newest stored
        assert store.read_since(0, 10**6).records[-1][0] == counters.stored
