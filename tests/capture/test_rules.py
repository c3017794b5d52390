"""The REDIRECT rule and the back-end choice, without touching iptables."""

from __future__ import annotations

import pytest

from wallarm_sidecar.capture import RULE_COMMENT, RedirectRule, choose_backend, count_rules


def test_rule_arguments() -> None:
    rule = RedirectRule(app_port=8080, listen_port=26001, pod_ip="10.1.2.3")
    assert rule.arguments("-A") == [
        "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "-d", "10.1.2.3", "--dport", "8080",
        "-m", "comment", "--comment", RULE_COMMENT, "-j", "REDIRECT", "--to-ports", "26001",
    ]  # fmt: skip
    assert "-d" not in RedirectRule(app_port=80, listen_port=26001).arguments("-C")
    assert RedirectRule(app_port=80, listen_port=26001, pod_ip="fd00::5").ipv6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"app_port": 0, "listen_port": 26001}, "application port 0"),
        ({"app_port": 80, "listen_port": 70000}, "listen port 70000"),
        ({"app_port": 26001, "listen_port": 26001}, "equals the listen port"),
        ({"app_port": 80, "listen_port": 26001, "pod_ip": "10.0.0.300"}, "10.0.0.300"),
    ],
)
def test_bad_rules_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedirectRule(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requested", "legacy", "nft", "expected"),
    [
        ("auto", 0, 0, "nft"),
        ("auto", 12, 0, "legacy"),
        ("auto", 3, 40, "nft"),
        ("legacy", 0, 9, "legacy"),
        ("nft", 9, 0, "nft"),
    ],
)
def test_backend_follows_the_node(requested: str, legacy: int, nft: int, expected: str) -> None:
    assert choose_backend(requested, legacy_rules=legacy, nft_rules=nft) == expected


def test_count_rules() -> None:
    dump = (
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j REDIRECT\n-A OUTPUT -j X\nCOMMIT\n"
    )
    assert count_rules(dump) == 2
