"""wstore's protocol server: the real proxy sender, de-duplication, eviction, hostile peers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from pathlib import Path
from typing import cast

import msgpack
import pytest

from tests.postanalytics.conftest import (
    RawSender,
    ServerFactory,
    eventually,
    packed,
    unpack,
)
from tests.support import AppServer, connection, free_port, read_response
from wallarm_sidecar.postanalytics import ENTRY_OVERHEAD, WstoreServer
from wallarm_sidecar.proxy._reporter import RecordShipper
from wallarm_sidecar.proxy._stats import WorkerStats
from wallarm_sidecar.wire import FrameType, RequestRecord, encode_frame


def shipper_for(server: WstoreServer, **overrides: object) -> RecordShipper:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.addresses["listen"][1],
        "node": "pod-1",
        "group": "g",
        "application": "",
        "queue_size": 100_000,
        "connect_attempts": 10,
        "reconnect_interval": 0.2,
        "stats": WorkerStats(),
    }
    values.update(overrides)
    return RecordShipper(**values)  # type: ignore[arg-type]


async def stop_shipper(shipper: RecordShipper, task: asyncio.Task[None]) -> None:
    # Its session loop does not look at close()'s flag, and on 3.11 the wait_for in its
    # _sleep can turn a cancel into a TimeoutError that _sleep suppresses: cancel until
    # it ends.
    for _ in range(100):
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
        if task.done():
            break
    with contextlib.suppress(asyncio.CancelledError):
        await task


def stored_ids(server: WstoreServer) -> list[str]:
    return [unpack(p)[0] for _, p in server.store.read_since(0, 10**6).records]


async def test_records_from_the_real_shipper_arrive_once(start_wstore: ServerFactory) -> None:
    server = await start_wstore()
    shipper = shipper_for(server)
    task = asyncio.create_task(shipper.run())
    try:
        for n in range(2000):
            shipper.submit_packed(packed(f"r{n}", hits=2))
        await eventually(lambda: server.store.counters.stored == 2000)
        await eventually(lambda: shipper.backlog == 0)
    finally:
        await stop_shipper(shipper, task)
    assert stored_ids(server) == [f"r{n}" for n in range(2000)]
    assert server.store.counters.hits == 4000
    assert shipper.stats.records_sent == 2000 and shipper.stats.tnt_errors == 0
    record = RequestRecord.from_wire(unpack(server.store.read_since(0, 1).records[0][1]))
    assert record.path == "/etc/passwd" and record.hits[0].attack_type == "ptrav"


async def test_many_proxies_at_once(start_wstore: ServerFactory) -> None:
    server = await start_wstore()
    shippers = [shipper_for(server, node=f"pod-{n}") for n in range(20)]
    tasks = [asyncio.create_task(shipper.run()) for shipper in shippers]
    try:
        for n in range(700):
            for index, shipper in enumerate(shippers):
                shipper.submit_packed(packed(f"p{index}-r{n}"))
        await eventually(lambda: server.store.counters.stored == 20 * 700, timeout=10)
        await eventually(lambda: all(shipper.backlog == 0 for shipper in shippers))
        assert server.counters.connections == 20
    finally:
        for shipper, task in zip(shippers, tasks, strict=True):
            await stop_shipper(shipper, task)
    ids = stored_ids(server)
    assert len(ids) == len(set(ids)) == 20 * 700
    for index in range(20):  # each proxy's records in its own order
        mine = [i for i in ids if i.startswith(f"p{index}-")]
        assert mine == [f"p{index}-r{n}" for n in range(700)]


async def test_a_batch_resent_after_a_lost_ack_is_stored_once(
    start_wstore: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await start_wstore()
    store_records = server.store_records
    cut = {"done": False}

    def store_then_cut(records: list[RequestRecord]) -> None:
        store_records(records)
        if not cut["done"]:
            cut["done"] = True
            for connection_ in server.connections:
                assert connection_.transport is not None
                connection_.transport.abort()  # stored, but the ACK never leaves

    monkeypatch.setattr(server, "store_records", store_then_cut)
    shipper = shipper_for(server)
    task = asyncio.create_task(shipper.run())
    try:
        for n in range(300):
            shipper.submit_packed(packed(f"r{n}"))
        await eventually(lambda: shipper.backlog == 0 and server.counters.duplicates == 1)
    finally:
        await stop_shipper(shipper, task)
    assert shipper.stats.tnt_errors >= 1
    assert stored_ids(server) == [f"r{n}" for n in range(300)]
    assert server.counters.accepted == 2


async def test_duplicates_across_a_reconnect_are_acknowledged_not_stored(
    start_wstore: ServerFactory,
) -> None:
    server = await start_wstore()
    port = server.addresses["listen"][1]
    first = await RawSender.connect(port)
    assert (await first.hello("s-1")).type is FrameType.HELLO_ACK
    ack = await first.batch(1, [packed("a"), packed("b")])
    assert ack.payload == {"seq": 1, "stored": 2}
    first.close()
    second = await RawSender.connect(port)
    await second.hello("s-1")
    assert (await second.batch(1, [packed("a"), packed("b")])).payload["seq"] == 1
    assert (await second.batch(2, [packed("c")])).payload["seq"] == 2
    second.close()
    assert stored_ids(server) == ["a", "b", "c"]
    assert server.counters.duplicates == 1


async def test_three_times_the_arena_keeps_used_under_budget(start_wstore: ServerFactory) -> None:
    record_size = len(packed("r00000"))
    server = await start_wstore(arena=0.0001)  # 107,374 bytes
    budget = server.store.budget
    per_record = record_size + ENTRY_OVERHEAD
    total = 3 * budget // per_record + 1
    sender = await RawSender.connect(server.addresses["listen"][1])
    await sender.hello()
    for seq, start in enumerate(range(0, total, 100), start=1):
        batch = [packed(f"r{n:05d}") for n in range(start, min(start + 100, total))]
        await sender.batch(seq, batch)
        assert server.store.used <= budget
    sender.close()
    counters = server.store.counters
    kept = budget // per_record
    assert len(server.store) == kept
    assert counters.stored == total and counters.evictions == total - kept
    assert counters.rejected == 0
    assert stored_ids(server) == [f"r{n:05d}" for n in range(total - kept, total)]


async def read_http(port: int, request: bytes) -> tuple[int, bytes, dict[str, str]]:
    async with connection(port) as (reader, writer):
        writer.write(request)
        response = await read_response(reader)
    return response.status, response.body, response.headers


async def test_health_and_metrics(start_wstore: ServerFactory) -> None:
    server = await start_wstore(arena="0.05")
    sender = await RawSender.connect(server.addresses["listen"][1])
    await sender.hello()
    await sender.batch(1, [packed("a", hits=3), packed("b", hits=0)])
    await sender.batch(1, [packed("a", hits=3), packed("b", hits=0)])
    status, body, headers = await read_http(
        server.addresses["health"][1], b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert status == 200 and headers["content-type"] == "application/json"
    health = __import__("json").loads(body)
    assert health["status"] == "ok" and health["records"] == 2 and health["connections"] == 1
    status, body, _ = await read_http(
        server.addresses["metrics"][1], b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert status == 200
    metrics = {
        line.split()[0]: float(line.split()[1])
        for line in body.decode().splitlines()
        if line and not line.startswith("#")
    }
    assert metrics["wallarm_wstore_requests_total"] == 2
    assert metrics["wallarm_wstore_hits_total"] == 3
    assert metrics["wallarm_wstore_duplicates_total"] == 1
    assert metrics["wallarm_wstore_evictions_total"] == 0
    assert metrics["wallarm_wstore_rejected_total"] == 0
    assert metrics["wallarm_wstore_connections"] == 1
    assert metrics["wallarm_wstore_arena_bytes"] == int(0.05 * 1024**3)
    assert metrics["wallarm_wstore_used_bytes"] == server.store.used > 0
    sender.close()
    status, _, _ = await read_http(server.addresses["health"][1], b"GET /nope HTTP/1.1\r\n\r\n")
    assert status == 404
    status, _, _ = await read_http(server.addresses["health"][1], b"POST /health HTTP/1.1\r\n\r\n")
    assert status == 405


async def test_export_endpoint_reads_from_a_cursor_and_keeps_it(
    start_wstore: ServerFactory,
) -> None:
    server = await start_wstore()
    for n in range(5):
        server.store.append(packed(f"r{n}"), hits=1)
    port = server.addresses["export"][1]
    status, body, headers = await read_http(port, b"GET /export?limit=3 HTTP/1.1\r\n\r\n")
    assert status == 200 and headers["content-type"] == "application/msgpack"
    page = msgpack.unpackb(body, raw=False)
    assert (page["from"], page["cursor"], page["missed"]) == (1, 3, 0)
    assert [record[0] for record in page["records"]] == ["r0", "r1", "r2"]
    status, body, _ = await read_http(port, b"POST /export/cursor?cursor=3 HTTP/1.1\r\n\r\n")
    assert status == 200 and b'"export_cursor": 3' in body
    status, body, _ = await read_http(port, b"GET /export HTTP/1.1\r\n\r\n")  # from the cursor
    assert [record[0] for record in msgpack.unpackb(body)["records"]] == ["r3", "r4"]
    status, _, _ = await read_http(port, b"GET /export?cursor=-1 HTTP/1.1\r\n\r\n")
    assert status == 400
    status, _, _ = await read_http(port, b"POST /export/cursor HTTP/1.1\r\n\r\n")
    assert status == 400


async def test_a_commit_for_another_wstore_instance_is_refused(
    start_wstore: ServerFactory,
) -> None:
    """A jobs process that read a page from a wstore that has restarted since must not
    commit its cursor into the new store, whose numbers started again from 1."""
    server = await start_wstore()
    for n in range(5):
        server.store.append(packed(f"r{n}"), hits=1)
    port = server.addresses["export"][1]
    _, body, _ = await read_http(port, b"GET /export?limit=2 HTTP/1.1\r\n\r\n")
    instance = msgpack.unpackb(body, raw=False)["instance"]
    assert instance == server.instance and len(instance) == 16
    _, body, _ = await read_http(port, b"GET /export/cursor HTTP/1.1\r\n\r\n")
    assert f'"instance": "{instance}"'.encode() in body
    request = b"POST /export/cursor?cursor=2&instance=0000000000000000 HTTP/1.1\r\n\r\n"
    status, _, _ = await read_http(port, request)
    assert status == 409 and server.store.export_cursor == 0
    request = f"POST /export/cursor?cursor=2&instance={instance} HTTP/1.1\r\n\r\n".encode()
    status, _, _ = await read_http(port, request)
    assert status == 200 and server.store.export_cursor == 2


HOSTILE = [
    ("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "out of bounds"),
    ("oversize", struct.pack(">IB", 2 * 1024 * 1024, 3) + b"\x00" * 100, "out of bounds"),
    ("unknown-type", struct.pack(">IB", 2, 9) + b"\xc0", "unknown frame type"),
    ("batch-first", encode_frame(FrameType.BATCH, {"seq": 1, "records": []}), "HELLO first"),
    ("bad-version", encode_frame(FrameType.HELLO, {"version": 7, "session": "x"}), "version"),
    ("not-msgpack", struct.pack(">IB", 3, 1) + b"\xc1\xc1", "undecodable"),
]


@pytest.mark.parametrize(("name", "data", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_clients_are_dropped_with_a_reason_and_others_go_on(
    start_wstore: ServerFactory,
    caplog: pytest.LogCaptureFixture,
    name: str,
    data: bytes,
    reason: str,
) -> None:
    server = await start_wstore(max_frame_size=1024 * 1024)
    port = server.addresses["listen"][1]
    good = await RawSender.connect(port)
    await good.hello("good")
    await good.batch(1, [packed("before")])
    caplog.set_level(logging.WARNING, "wallarm_sidecar.postanalytics.wstore")
    hostile = await RawSender.connect(port)
    hostile.writer.write(data)
    frames = await hostile.closed_by_peer()
    assert [f.type for f in frames] == [FrameType.ERROR]
    assert reason in frames[0].payload["message"]
    assert any(reason in r.getMessage() and "dropping" in r.getMessage() for r in caplog.records)
    await good.batch(2, [packed("after")])
    assert stored_ids(server) == ["before", "after"]
    assert server.counters.dropped == 1
    good.close()


async def test_malformed_record_drops_the_connection(start_wstore: ServerFactory) -> None:
    server = await start_wstore()
    sender = await RawSender.connect(server.addresses["listen"][1])
    await sender.hello()
    sender.writer.write(encode_frame(FrameType.BATCH, {"seq": 1, "records": [["short"]]}))
    frames = await sender.closed_by_peer()
    assert "batch 1" in frames[0].payload["message"]
    assert len(server.store) == 0


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("silent", b"", "no HELLO within 0.3s"),
        ("half-hello", encode_frame(FrameType.HELLO, {"version": 1})[:6], "no HELLO within"),
    ],
    ids=["silent", "half-hello"],
)
async def test_a_peer_that_never_says_hello_times_out(
    start_wstore: ServerFactory, name: str, data: bytes, reason: str
) -> None:
    server = await start_wstore(handshake_timeout=0.3)
    sender = await RawSender.connect(server.addresses["listen"][1])
    sender.writer.write(data)
    frames = await sender.closed_by_peer(timeout=3)
    assert reason in frames[0].payload["message"]


async def test_half_a_frame_then_silence_times_out_while_a_good_client_goes_on(
    start_wstore: ServerFactory,
) -> None:
    server = await start_wstore(frame_timeout=0.3)
    port = server.addresses["listen"][1]
    slow = await RawSender.connect(port)
    await slow.hello("slow")
    good = await RawSender.connect(port)
    await good.hello("good")
    frame = encode_frame(FrameType.BATCH, {"seq": 1, "records": []})
    slow.writer.write(frame[: len(frame) // 2])
    # A good client keeps storing while the slow one is being timed out.
    for seq in range(1, 6):
        await good.batch(seq, [packed(f"g{seq}")])
        await asyncio.sleep(0.05)
    frames = await slow.closed_by_peer(timeout=3)
    assert "did not finish within 0.3s" in frames[0].payload["message"]
    await good.batch(6, [packed("g6")])
    assert stored_ids(server) == [f"g{n}" for n in range(1, 7)]
    good.close()


async def test_a_dribbling_peer_cannot_keep_a_frame_open(start_wstore: ServerFactory) -> None:
    """One byte at a time still has to finish the frame within the timeout."""
    server = await start_wstore(frame_timeout=0.4)
    sender = await RawSender.connect(server.addresses["listen"][1])
    await sender.hello()
    frame = encode_frame(FrameType.BATCH, {"seq": 1, "records": [list(range(16))] * 50})
    with pytest.raises((ConnectionError, AssertionError)):
        for byte in frame:
            sender.writer.write(bytes([byte]))
            await sender.writer.drain()
            await asyncio.sleep(0.02)
            if sender.reader.at_eof():
                raise ConnectionResetError
    assert server.counters.dropped == 1


async def test_connections_over_the_limit_are_refused(start_wstore: ServerFactory) -> None:
    server = await start_wstore(max_connections=2)
    port = server.addresses["listen"][1]
    first, second = await RawSender.connect(port), await RawSender.connect(port)
    await first.hello("1")
    await second.hello("2")
    third = await RawSender.connect(port)
    frames = await third.closed_by_peer()
    assert "connection limit of 2" in frames[0].payload["message"]
    first.close()
    await eventually(lambda: len(server.connections) == 1)
    fourth = await RawSender.connect(port)
    assert (await fourth.hello("4")).type is FrameType.HELLO_ACK
    second.close()
    fourth.close()


async def test_partial_frames_over_the_ingest_buffer_pause_reading(
    start_wstore: ServerFactory,
) -> None:
    server = await start_wstore(ingest_buffer=64 * 1024)
    port = server.addresses["listen"][1]
    big = [packed(f"a{n}", path="/" + "p" * 300) for n in range(400)]  # about 180 KB
    a, b = await RawSender.connect(port), await RawSender.connect(port)
    await a.hello("a")
    await b.hello("b")
    from wallarm_sidecar.wire import encode_packed_batch

    frame_a = encode_packed_batch(1, big)
    frame_b = encode_packed_batch(1, [packed("b0")] * 200)
    a.writer.write(frame_a[:100_000])
    await eventually(lambda: server.buffered_total >= 100_000 - 5)
    b.writer.write(frame_b[:20_000])
    await eventually(lambda: server.counters.paused == 1)
    (paused,) = [c for c in server.connections if c.paused_for_buffer]
    assert paused.session.session == "b"
    a.writer.write(frame_a[100_000:])
    assert (await a.frame()).payload["seq"] == 1
    b.writer.write(frame_b[20_000:])
    assert (await b.frame()).payload["seq"] == 1
    assert server.buffered_total == 0 and not server.waiting
    assert len(server.store) == 600
    a.close()
    b.close()


async def test_a_peer_that_does_not_read_its_acks_is_not_read_either(
    start_wstore: ServerFactory,
) -> None:
    server = await start_wstore()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(server.addresses["listen"])
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    sender = RawSender(reader, writer)
    await sender.hello()
    (connection_,) = server.connections
    assert connection_.transport is not None
    connection_.transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
    )
    client_transport = cast(asyncio.Transport, writer.transport)
    client_transport.pause_reading()
    seq = 0
    for _ in range(200):
        frames = []
        for _ in range(1000):
            seq += 1
            frames.append(encode_frame(FrameType.BATCH, {"seq": seq, "records": []}))
        writer.write(b"".join(frames))
        await asyncio.sleep(0.005)
        if connection_.paused_for_writing:
            break
    assert connection_.paused_for_writing
    # ACKs are held, not buffered without bound: the server stopped reading this peer.
    assert connection_.transport.get_write_buffer_size() < 1024 * 1024
    client_transport.resume_reading()
    await eventually(lambda: not connection_.paused_for_writing)
    sender.close()


async def test_the_real_proxy_reports_an_attack_to_wstore(
    start_wstore: ServerFactory, tmp_path: Path
) -> None:
    from wallarm_sidecar.proxy import ProxySettings
    from wallarm_sidecar.proxy._server import ClientConnection, Worker

    server = await start_wstore()
    app = await AppServer().start()
    settings = ProxySettings.model_validate(
        {
            "listen": ("127.0.0.1", free_port()),
            "upstream_port": app.port,
            "status_listen": ("127.0.0.1", free_port()),
            "metrics_listen": ("127.0.0.1", free_port()),
            "wstore_port": server.addresses["listen"][1],
            "node_dir": str(tmp_path / "node"),
            "acl_dir": str(tmp_path / "acl"),
            "access_log": False,
            "node_name": "test-node",
        }
    )
    worker = Worker(settings, WorkerStats())
    worker.reload_files()
    loop = asyncio.get_running_loop()
    proxy = await loop.create_server(lambda: ClientConnection(worker), *settings.listen)
    shipper = loop.create_task(worker.shipper.run())
    try:
        async with connection(settings.listen[1]) as (reader, writer):
            writer.write(b"GET /etc/passwd HTTP/1.1\r\nHost: shop.local\r\n\r\n")
            assert (await read_response(reader)).status == 200
        await eventually(lambda: len(server.store) == 1)
    finally:
        await stop_shipper(worker.shipper, shipper)
        proxy.close()
        worker.pool.close()
        await app.stop()
    record = RequestRecord.from_wire(unpack(server.store.read_since(0, 1).records[0][1]))
    assert (record.node, record.path, record.host) == ("test-node", "/etc/passwd", "shop.local")
    assert record.hits and record.hits[0].attack_type == "ptrav"


async def test_a_port_in_use_is_a_clear_error(
    start_wstore: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.postanalytics.conftest import settings
    from wallarm_sidecar.postanalytics._server import serve

    first = await start_wstore()
    taken = settings(metrics_listen=("127.0.0.1", first.addresses["metrics"][1]))
    caplog.set_level(logging.ERROR, "wallarm_sidecar.postanalytics.wstore")
    assert await serve(taken) == 1
    port = first.addresses["metrics"][1]
    assert any(
        "cannot listen" in r.getMessage() and f"metrics address 127.0.0.1:{port}" in r.getMessage()
        for r in caplog.records
    )
