"""Filtering modes, IP lists, real client addresses, records to postanalytics."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from tests.proxy.conftest import ProxyFactory
from tests.support import AppServer, WstoreStandIn, connection, free_port, read_response

ATTACK = b"GET /etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n"
SQLI = b"GET /search?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: a\r\n\r\n"
CLEAN = b"GET /products?page=2 HTTP/1.1\r\nHost: a\r\n\r\n"


async def send(
    port: int, raw: bytes, *, xff: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    if xff is not None:
        raw = raw.replace(b"Host: a\r\n", b"Host: a\r\nX-Forwarded-For: " + xff.encode() + b"\r\n")
    async with connection(port) as (reader, writer):
        writer.write(raw)
        response = await read_response(reader)
    return response.status, response.headers, response.body


def write_lists(acl_dir: Path, entries: list[dict[str, object]]) -> None:
    acl_dir.mkdir(parents=True, exist_ok=True)
    temporary = acl_dir / ".ip-lists.json.tmp"
    temporary.write_text(json.dumps({"version": 1, "entries": entries}))
    os.replace(temporary, acl_dir / "ip-lists.json")


@pytest.mark.parametrize("raw", [ATTACK, SQLI], ids=["etc-passwd", "sqli-in-query"])
async def test_monitoring_passes_and_records_the_attack(
    start_proxy: ProxyFactory, app: AppServer, wstore: WstoreStandIn, raw: bytes
) -> None:
    proxy = await start_proxy(mode="monitoring")
    status, _, _ = await send(proxy.port, raw)
    assert status == 200 and len(app.requests) == 1
    (record,) = await wstore.wait_for(1)
    assert record.hits and not record.blocked and record.status == 200
    assert record.hits[0].attack_type in ("ptrav", "sqli")
    assert record.node == "test-node" and record.mode == "monitoring"
    assert proxy.stats.attacks == 1 and proxy.stats.blocked == 0


@pytest.mark.parametrize("raw", [ATTACK, SQLI], ids=["etc-passwd", "sqli-in-query"])
async def test_block_mode_answers_403_with_a_request_id(
    start_proxy: ProxyFactory, app: AppServer, wstore: WstoreStandIn, raw: bytes
) -> None:
    proxy = await start_proxy(mode="block")
    status, headers, body = await send(proxy.port, raw)
    assert status == 403
    assert headers["x-request-id"].encode() in body
    assert app.requests == []
    (record,) = await wstore.wait_for(1)
    assert record.blocked and record.status == 403 and record.hits[0].blocked
    status, _, _ = await send(proxy.port, CLEAN)
    assert status == 200


async def test_block_mode_drops_a_blocked_requests_unread_body(
    start_proxy: ProxyFactory, app: AppServer
) -> None:
    proxy = await start_proxy(mode="block", inspect_body_limit=16)
    async with connection(proxy.port) as (reader, writer):
        writer.write(b"POST /etc/passwd HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")
        writer.write(b"x" * 1000)
        response = await read_response(reader)
        assert response.status == 403 and response.headers["connection"] == "close"
    assert app.requests == []


async def test_off_mode_neither_inspects_nor_records(
    start_proxy: ProxyFactory, app: AppServer, wstore: WstoreStandIn
) -> None:
    proxy = await start_proxy(mode="off")
    write_lists(Path(proxy.worker.settings.acl_dir), [{"list": "deny", "ip": "127.0.0.1"}])
    proxy.worker.reload_files()
    assert (await send(proxy.port, ATTACK))[0] == 200
    await asyncio.sleep(0.4)
    assert wstore.records == [] and proxy.stats.attacks == 0


async def test_custom_block_page_and_code(start_proxy: ProxyFactory, tmp_path: Path) -> None:
    page = tmp_path / "blocked.html"
    page.write_text("<p>nope ${request_id}</p>")
    proxy = await start_proxy(mode="block", block_page=f"&{page} response_code=445")
    status, headers, body = await send(proxy.port, ATTACK)
    assert status == 445 and body == f"<p>nope {headers['x-request-id']}</p>".encode()
    redirecting = await start_proxy(mode="block", block_page="https://example.com/blocked")
    status, headers, _ = await send(redirecting.port, ATTACK)
    assert status == 302 and headers["location"] == "https://example.com/blocked"


async def test_denylist_blocks_in_monitoring_and_allowlist_wins(
    start_proxy: ProxyFactory, app: AppServer
) -> None:
    proxy = await start_proxy(mode="monitoring")
    acl = Path(proxy.worker.settings.acl_dir)
    write_lists(
        acl,
        [
            {"list": "deny", "ip": "203.0.113.0/24"},
            {"list": "allow", "ip": "203.0.113.9"},
            {"list": "deny", "ip": "198.51.100.1", "expires_at": time.time() - 5},
        ],
    )
    proxy.worker.reload_files()
    assert (await send(proxy.port, CLEAN, xff="203.0.113.5"))[0] == 403
    assert (await send(proxy.port, CLEAN, xff="203.0.113.9"))[0] == 200
    assert (await send(proxy.port, CLEAN, xff="198.51.100.1"))[0] == 200  # expired
    assert proxy.stats.blocked_by_acl == 1 and proxy.stats.acl_allow_list == 1


async def test_allowlisted_source_is_not_blocked_in_block_mode(
    start_proxy: ProxyFactory, app: AppServer
) -> None:
    proxy = await start_proxy(mode="block")
    write_lists(Path(proxy.worker.settings.acl_dir), [{"list": "allow", "ip": "192.0.2.10"}])
    proxy.worker.reload_files()
    assert (await send(proxy.port, ATTACK, xff="192.0.2.10"))[0] == 200
    assert (await send(proxy.port, ATTACK, xff="192.0.2.11"))[0] == 403


async def test_safe_blocking_blocks_attacks_only_from_graylisted_sources(
    start_proxy: ProxyFactory,
) -> None:
    proxy = await start_proxy(mode="safe_blocking")
    write_lists(Path(proxy.worker.settings.acl_dir), [{"list": "gray", "ip": "192.0.2.0/28"}])
    proxy.worker.reload_files()
    assert (await send(proxy.port, ATTACK, xff="192.0.2.3"))[0] == 403
    assert (await send(proxy.port, CLEAN, xff="192.0.2.3"))[0] == 200
    assert (await send(proxy.port, ATTACK, xff="192.0.2.200"))[0] == 200


async def test_untrusted_peer_cannot_spoof_its_address(start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(mode="monitoring", set_real_ip_from="10.0.0.0/8")
    write_lists(Path(proxy.worker.settings.acl_dir), [{"list": "deny", "ip": "127.0.0.1"}])
    proxy.worker.reload_files()
    # 127.0.0.1 is not trusted here, so the header is ignored and the peer is denylisted.
    assert (await send(proxy.port, CLEAN, xff="192.0.2.50"))[0] == 403


async def test_ip_lists_file_is_reloaded_when_it_changes(start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(mode="monitoring")
    acl = Path(proxy.worker.settings.acl_dir)
    assert (await send(proxy.port, CLEAN, xff="192.0.2.77"))[0] == 200
    write_lists(acl, [{"list": "deny", "ip": "192.0.2.77"}])
    proxy.worker.reload_files()
    assert (await send(proxy.port, CLEAN, xff="192.0.2.77"))[0] == 403
    (acl / "ip-lists.json").write_text("{not json")  # a broken file keeps the last good lists
    proxy.worker.reload_files()
    assert (await send(proxy.port, CLEAN, xff="192.0.2.77"))[0] == 403
    write_lists(acl, [])
    proxy.worker.reload_files()
    assert (await send(proxy.port, CLEAN, xff="192.0.2.77"))[0] == 200


@pytest.mark.parametrize(
    ("local", "override", "cloud", "expected"),
    [
        ("monitoring", "on", "block", 403),
        ("monitoring", "off", "block", 200),
        ("block", "strict", "monitoring", 403),
        ("monitoring", "strict", "block", 403),
    ],
)
async def test_cloud_mode_rules_apply_by_override(
    start_proxy: ProxyFactory, local: str, override: str, cloud: str, expected: int
) -> None:
    proxy = await start_proxy(mode=local, mode_allow_override=override)
    node_dir = Path(proxy.worker.settings.node_dir)
    node_dir.mkdir(parents=True, exist_ok=True)
    (node_dir / "node-config.json").write_text(json.dumps({"version": 1, "mode": cloud}))
    proxy.worker.reload_files()
    assert (await send(proxy.port, ATTACK))[0] == expected


async def test_records_are_kept_while_postanalytics_is_away_and_sent_when_it_returns(
    start_proxy: ProxyFactory,
) -> None:
    port = free_port()
    proxy = await start_proxy(
        mode="monitoring",
        wstore_port=port,
        record_queue_size=3,
        upstream_reconnect_interval=0.1,
        upstream_connect_attempts=1,
    )
    for _ in range(5):
        assert (await send(proxy.port, ATTACK))[0] == 200
    assert proxy.stats.requests_lost == 2  # the queue holds 3; the proxy never waited
    assert proxy.stats.tnt_errors >= 1
    late = await WstoreStandIn().start(port)
    try:
        records = await late.wait_for(3)
        assert len(records) == 3 and all(r.hits for r in records)
    finally:
        await late.stop()


async def test_a_resent_batch_is_stored_once(
    start_proxy: ProxyFactory, wstore: WstoreStandIn
) -> None:
    proxy = await start_proxy(mode="monitoring")
    assert (await send(proxy.port, ATTACK))[0] == 200
    await wstore.wait_for(1)
    # Lose the acknowledgement: the shipper resends the same sequence number.
    shipper = proxy.worker.shipper
    record = wstore.records[0]
    shipper._seq -= 1
    shipper.submit(record)
    await asyncio.sleep(0.5)
    assert len(wstore.records) == 1 and wstore.log.is_new(shipper.hello["session"], 2)


async def test_credentials_are_masked_in_the_access_log(
    start_proxy: ProxyFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    proxy = await start_proxy(access_log=True)
    await send(
        proxy.port,
        b"GET /login?user=bob&password=hunter2&api_token=abc HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    proxy.worker.access_log.flush()
    out = capfd.readouterr().out
    entry = json.loads(out.strip().splitlines()[-1])
    assert entry["target"] == "/login?user=bob&password=***&api_token=***"
    assert "hunter2" not in out


async def test_records_carry_no_credential_values(
    start_proxy: ProxyFactory, wstore: WstoreStandIn
) -> None:
    proxy = await start_proxy(mode="monitoring")
    raw = (
        b"POST /login?api_token=tok-SECRET-1&next=/etc/passwd HTTP/1.1\r\nHost: a\r\n"
        b"Authorization: Bearer SECRET-2\r\nCookie: session=SECRET-3\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 33\r\n\r\n"
        b"user=bob&password=SECRET-4-hunter"
    )
    assert (await send(proxy.port, raw))[0] == 200
    (record,) = await wstore.wait_for(1)
    assert record.hits  # the traversal in `next` is recorded, by its fragment only
    text = repr(record.to_wire())
    for secret in ("SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4"):
        assert secret not in text
    assert all(len(hit.fragment) <= 256 for hit in record.hits)


@pytest.mark.parametrize(
    "target", [b"/healthz", b"/readyz?verbose=1", b"/actuator/health/liveness", b"/"]
)
async def test_kubelet_probes_pass_untouched_and_are_not_attacks(
    start_proxy: ProxyFactory, app: AppServer, wstore: WstoreStandIn, target: bytes
) -> None:
    """With iptables capture, kubelet's probes to the pod IP reach the proxy first."""
    proxy = await start_proxy(mode="block")
    raw = (
        b"GET " + target + b" HTTP/1.1\r\nHost: 10.244.1.17:8080\r\n"
        b"User-Agent: kube-probe/1.30\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    assert (await send(proxy.port, raw))[0] == 200
    received = app.requests[0]
    assert received.path == target.decode()
    assert received.headers["user-agent"] == "kube-probe/1.30"
    (record,) = await wstore.wait_for(1)
    assert record.hits == [] and not record.blocked


async def test_closing_the_shipper_ends_its_task(start_proxy: ProxyFactory) -> None:
    proxy = await start_proxy(wstore_port=free_port(), upstream_reconnect_interval=30)
    task = asyncio.get_running_loop().create_task(proxy.worker.shipper.run())
    await asyncio.sleep(0.3)  # it is now waiting to reconnect
    proxy.worker.shipper.close()
    await asyncio.wait_for(task, 2)
    other = asyncio.get_running_loop().create_task(proxy.worker.shipper.run())
    other.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(other, 2)
