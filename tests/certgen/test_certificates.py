"""The CA and serving certificate: a chain that verifies, for the names asked, and checks."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wallarm_sidecar.certgen import (
    CA_VALIDITY,
    CertificateBundle,
    bundle_problem,
    generate_bundle,
    parse_hosts,
)
from wallarm_sidecar.injector import ReloadingCertificate

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)
HOSTS = (
    "wallarm-sidecar-controller",
    "wallarm-sidecar-controller.wallarm-sidecar",
    "wallarm-sidecar-controller.wallarm-sidecar.svc",
    "wallarm-sidecar-controller.wallarm-sidecar.svc.cluster.local",
)


@pytest.fixture(scope="module")
def bundle() -> CertificateBundle:
    return generate_bundle(HOSTS, now=NOW)


def test_the_serving_certificate_is_signed_by_the_ca(bundle: CertificateBundle) -> None:
    ca = x509.load_pem_x509_certificate(bundle.ca)
    cert = x509.load_pem_x509_certificate(bundle.cert)
    ca.verify_directly_issued_by(ca)  # self-signed
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOSTS[0]
    assert ca.not_valid_after_utc == NOW + CA_VALIDITY
    assert cert.not_valid_before_utc < NOW <= cert.not_valid_after_utc <= ca.not_valid_after_utc


def test_the_certificate_names_every_host(bundle: CertificateBundle) -> None:
    cert = x509.load_pem_x509_certificate(bundle.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert tuple(san.get_values_for_type(x509.DNSName)) == HOSTS


def test_the_key_matches_the_certificate(bundle: CertificateBundle) -> None:
    key = serialization.load_pem_private_key(bundle.key, password=None)
    cert = x509.load_pem_x509_certificate(bundle.cert)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    assert key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)
    assert b"BEGIN PRIVATE KEY" in bundle.key  # PKCS#8, what ssl.load_cert_chain reads


def test_ip_hosts_become_ip_address_names() -> None:
    cert = x509.load_pem_x509_certificate(generate_bundle(["svc", "10.0.0.1"], now=NOW).cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.1")]


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> None:
    """A TLS handshake in memory, as the apiserver calling the webhook would make it."""
    server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client_in, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    client_side = client.wrap_bio(client_in, client_out, server_hostname=hostname)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client_side), ("server", server_side)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")


def test_the_webhook_server_serves_it_to_a_client_trusting_the_ca(
    bundle: CertificateBundle, tmp_path: Path
) -> None:
    (tmp_path / "tls.crt").write_bytes(bundle.cert)
    (tmp_path / "tls.key").write_bytes(bundle.key)
    server = ReloadingCertificate(tmp_path / "tls.crt", tmp_path / "tls.key", log=lambda _: None)
    client = ssl.create_default_context(cadata=bundle.ca.decode())
    for host in HOSTS:
        _handshake(server.context, client, host)
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        _handshake(server.context, client, "other.wallarm-sidecar.svc")
    stranger = ssl.create_default_context(cadata=generate_bundle(HOSTS, now=NOW).ca.decode())
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server.context, stranger, HOSTS[2])


def _mixed(bundle: CertificateBundle, other: CertificateBundle, part: str) -> CertificateBundle:
    parts = {"ca": bundle.ca, "cert": bundle.cert, "key": bundle.key}
    parts[part] = {"ca": other.ca, "cert": other.cert, "key": other.key}[part]
    return CertificateBundle(**parts)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param("none", None, id="usable"),
        pytest.param("key", "key does not match", id="foreign-key"),
        pytest.param("ca", "not signed by the CA", id="foreign-ca"),
        pytest.param("garbage", "unreadable PEM", id="garbage"),
        pytest.param("hosts", "does not name other", id="other-hosts"),
        pytest.param("late", "expires on", id="expiring-within-30-days"),
        pytest.param("early", "not valid yet", id="from-the-future"),
    ],
)
def test_bundle_problem(bundle: CertificateBundle, change: str, problem: str | None) -> None:
    other = generate_bundle(HOSTS, now=NOW)
    hosts: tuple[str, ...] = HOSTS
    now = NOW
    candidate = bundle
    if change in ("key", "ca"):
        candidate = _mixed(bundle, other, change)
    elif change == "garbage":
        candidate = CertificateBundle(ca=b"x", cert=bundle.cert, key=bundle.key)
    elif change == "hosts":
        hosts = (*HOSTS, "other")
    elif change == "late":
        now = NOW + CA_VALIDITY - datetime.timedelta(days=10)
    elif change == "early":
        now = NOW - datetime.timedelta(days=1)
    found = bundle_problem(candidate, hosts=hosts, now=now)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        pytest.param("svc,svc.ns,svc.ns.svc", ("svc", "svc.ns", "svc.ns.svc"), id="list"),
        pytest.param(" svc , SVC.NS. ,svc", ("svc", "svc.ns"), id="spaces-case-dots-duplicates"),
        pytest.param("svc,10.0.0.1,0:0::1", ("svc", "10.0.0.1", "::1"), id="addresses"),
    ],
)
def test_parse_hosts(text: str, hosts: tuple[str, ...]) -> None:
    assert parse_hosts(text) == hosts


@pytest.mark.parametrize("text", ["", " , ", "under_score", "-svc", "a..b", "x" * 64])
def test_parse_hosts_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hosts(text)


def test_a_host_too_long_for_a_common_name_is_only_a_san() -> None:
    long = "wallarm-sidecar-controller.a-rather-long-namespace-name.svc.cluster.local"
    cert = x509.load_pem_x509_certificate(generate_bundle([long, "svc"], now=NOW).cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "svc"
    cert = x509.load_pem_x509_certificate(generate_bundle([long], now=NOW).cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [long]
