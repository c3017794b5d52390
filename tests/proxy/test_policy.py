"""Pure decisions: modes, overrides, IP lists, client address, masking, block pages."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallarm_sidecar.proxy import (
    AclStatus,
    BlockPage,
    Decision,
    FilteringMode,
    IpLists,
    ModeOverride,
    TrustedProxies,
    client_address,
    decide_before_inspection,
    effective_mode,
    mask_target,
    should_block,
)

M = FilteringMode
A = AclStatus


@pytest.mark.parametrize(
    ("mode", "acl", "attack", "blocked"),
    [
        pytest.param(M.MONITORING, A.NONE, True, False, id="monitoring-records-only"),
        pytest.param(M.MONITORING, A.GRAY, True, False, id="monitoring-gray"),
        pytest.param(M.SAFE_BLOCKING, A.NONE, True, False, id="safe-blocking-normal-source"),
        pytest.param(M.SAFE_BLOCKING, A.GRAY, True, True, id="safe-blocking-gray-source"),
        pytest.param(M.SAFE_BLOCKING, A.GRAY, False, False, id="safe-blocking-gray-clean"),
        pytest.param(M.BLOCK, A.NONE, True, True, id="block-attack"),
        pytest.param(M.BLOCK, A.NONE, False, False, id="block-clean"),
        pytest.param(M.BLOCK, A.ALLOW, True, False, id="block-allowlisted"),
    ],
)
def test_should_block(mode: FilteringMode, acl: AclStatus, attack: bool, blocked: bool) -> None:
    assert should_block(mode, acl, is_attack=attack) is blocked


@pytest.mark.parametrize(
    ("mode", "acl", "decision"),
    [
        (M.OFF, A.DENY, Decision.FORWARD),
        (M.MONITORING, A.DENY, Decision.BLOCK_ACL),
        (M.SAFE_BLOCKING, A.DENY, Decision.BLOCK_ACL),
        (M.BLOCK, A.DENY, Decision.BLOCK_ACL),
        (M.BLOCK, A.ALLOW, Decision.INSPECT),
        (M.MONITORING, A.NONE, Decision.INSPECT),
    ],
)
def test_decide_before_inspection(mode: FilteringMode, acl: AclStatus, decision: Decision) -> None:
    assert decide_before_inspection(mode, acl) is decision


@pytest.mark.parametrize(
    ("local", "cloud", "override", "expected"),
    [
        (M.MONITORING, None, ModeOverride.ON, M.MONITORING),
        (M.MONITORING, M.BLOCK, ModeOverride.ON, M.BLOCK),
        (M.BLOCK, M.OFF, ModeOverride.ON, M.OFF),
        (M.MONITORING, M.BLOCK, ModeOverride.OFF, M.MONITORING),
        (M.MONITORING, M.BLOCK, ModeOverride.STRICT, M.BLOCK),
        (M.BLOCK, M.MONITORING, ModeOverride.STRICT, M.BLOCK),
        (M.SAFE_BLOCKING, M.MONITORING, ModeOverride.STRICT, M.SAFE_BLOCKING),
    ],
)
def test_effective_mode(
    local: FilteringMode, cloud: FilteringMode | None, override: ModeOverride, expected: M
) -> None:
    assert effective_mode(local, cloud, override) is expected


def test_mode_names_parse_leniently_and_reject_unknown() -> None:
    assert FilteringMode.parse(" Safe-Blocking ") is M.SAFE_BLOCKING
    with pytest.raises(ValueError, match="monitoring"):
        FilteringMode.parse("bogus")


TRUSTED = TrustedProxies([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1")])


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        pytest.param("203.0.113.1", b"1.2.3.4", "203.0.113.1", id="untrusted-peer"),
        pytest.param("10.1.1.1", b"1.2.3.4", "1.2.3.4", id="trusted-peer"),
        pytest.param("10.1.1.1", b"1.2.3.4, 10.2.2.2", "1.2.3.4", id="skip-trusted-hops"),
        pytest.param("10.1.1.1", b"6.6.6.6, 1.2.3.4", "1.2.3.4", id="rightmost-untrusted"),
        pytest.param("10.1.1.1", b"junk", "10.1.1.1", id="invalid-header"),
        pytest.param("10.1.1.1", b"1.2.3.4, junk", "10.1.1.1", id="invalid-last-hop"),
        pytest.param("10.1.1.1", None, "10.1.1.1", id="no-header"),
        pytest.param("::ffff:10.1.1.1", b"2001:db8::1", "2001:db8::1", id="v4-mapped-peer"),
    ],
)
def test_client_address(peer: str, header: bytes | None, expected: str) -> None:
    assert client_address(peer, header, TRUSTED) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/a?b=1", "/a?b=1"),
        ("/login?user=x&password=p", "/login?user=x&password=***"),
        ("/cb?access_token=t&state=s", "/cb?access_token=***&state=s"),
        ("/x?API_KEY=1&session_id=2", "/x?API_KEY=***&session_id=***"),
    ],
)
def test_mask_target(target: str, expected: str) -> None:
    assert mask_target(target) == expected


# -- IP lists --------------------------------------------------------------------------


def lists(*entries: dict[str, object]) -> IpLists:
    return IpLists.from_document({"version": 1, "entries": list(entries)})


def test_ip_list_lookups_by_cidr_expiry_application_and_precedence() -> None:
    now = time.time()
    table = lists(
        {"list": "deny", "ip": "203.0.113.0/24"},
        {"list": "gray", "ip": "203.0.113.0/24"},
        {"list": "allow", "ip": "203.0.113.7/32"},
        {"list": "gray", "ip": "2001:db8::/32"},
        {"list": "deny", "ip": "192.0.2.1", "expires_at": now - 1},
        {"list": "deny", "ip": "192.0.2.2", "expires_at": now + 60},
        {"list": "deny", "ip": "198.51.100.1", "application": "shop"},
    )
    assert table.lookup("203.0.113.5", "", now) is A.DENY  # deny beats gray
    assert table.lookup("203.0.113.7", "", now) is A.ALLOW  # allow beats deny
    assert table.lookup("2001:db8::42", "", now) is A.GRAY
    assert table.lookup("::ffff:203.0.113.5", "", now) is A.DENY
    assert table.lookup("192.0.2.1", "", now) is A.NONE
    assert table.lookup("192.0.2.2", "", now) is A.DENY
    assert table.lookup("198.51.100.1", "blog", now) is A.NONE
    assert table.lookup("198.51.100.1", "shop", now) is A.DENY
    assert table.lookup("not-an-ip", "", now) is A.NONE


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "entries"),
        ({"entries": [{"list": "black", "ip": "1.2.3.4"}]}, "entries\\[0\\].list"),
        ({"entries": [{"list": "deny", "ip": "1.2.3.400"}]}, "entries\\[0\\].ip"),
        ({"entries": [{"list": "deny", "ip": "1.2.3.4", "expires_at": "soon"}]}, "expires_at"),
        ({"entries": [{"list": "deny", "ip": "1.2.3.4", "application": 5}]}, "application"),
        ({"entries": ["1.2.3.4"]}, "not an object"),
    ],
)
def test_malformed_ip_lists_are_rejected_with_the_entry_named(
    document: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        IpLists.from_document(document)


def test_missing_ip_list_file_means_empty_lists(tmp_path: Path) -> None:
    assert IpLists.load(tmp_path / "absent.json").lookup("1.2.3.4", "", 0) is A.NONE


@given(st.ip_addresses(), st.integers(min_value=0, max_value=32))
def test_an_address_is_always_inside_its_own_network(address: object, prefix: int) -> None:
    ip = ipaddress.ip_address(str(address))
    prefix = min(prefix, ip.max_prefixlen)
    network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    assert lists({"list": "gray", "ip": str(network)}).lookup(str(ip), "", 0) is A.GRAY


# -- block page --------------------------------------------------------------------


def test_block_page_forms(tmp_path: Path) -> None:
    assert BlockPage.parse("").status == 403
    assert BlockPage.parse("response_code=451").status == 451
    page = tmp_path / "p.html"
    page.write_text("blocked ${request_id}")
    custom = BlockPage.parse(f"&{page} response_code=445 type=attack")
    rendered = custom.render("rid1", "attack", close=False)
    assert rendered.startswith(b"HTTP/1.1 445") and rendered.endswith(b"blocked rid1")
    default_for_acl = custom.render("rid2", "acl_ip", close=True)
    assert default_for_acl.startswith(b"HTTP/1.1 403") and b"Connection: close" in default_for_acl
    redirect = BlockPage.parse("/blocked.html")
    assert redirect.render("r", "attack", close=False).startswith(b"HTTP/1.1 302")


@pytest.mark.parametrize(
    "spec",
    [
        "response_code=99",
        "response_code=abc",
        "type=virus",
        "&/does/not/exist",
        "gibberish",
        "response_code=302",
    ],
)
def test_bad_block_pages_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError):
        BlockPage.parse(spec)
