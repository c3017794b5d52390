"""The webhook's CA and serving certificate: generated and checked, without I/O.

ECDSA P-256 keys, SHA-256 signatures. The CA signs nothing but the serving certificate;
its key is not kept (a new pair is generated when the serving certificate must change).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wallarm_sidecar.certgen._errors import CertgenError

#: Validity of the CA and of the serving certificate.
CA_VALIDITY = datetime.timedelta(days=3650)
CERT_VALIDITY = datetime.timedelta(days=3650)
#: A certificate closer than this to its end is replaced by `create`.
RENEW_BEFORE = datetime.timedelta(days=30)
#: Backdating of notBefore, for clocks of the apiserver's nodes that lag ours.
CLOCK_SKEW = datetime.timedelta(hours=1)

CA_COMMON_NAME = "wallarm-sidecar-webhook-ca"
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateBundle:
    """PEM bytes: the CA certificate, the serving certificate and the serving key."""

    ca: bytes
    cert: bytes
    key: bytes


def parse_hosts(text: str) -> tuple[str, ...]:
    """`svc,svc.ns,svc.ns.svc` to its names (lower case, duplicates dropped), or ValueError."""
    hosts: list[str] = []
    for item in text.split(","):
        host = item.strip().lower().rstrip(".")
        if not host:
            continue
        if _is_ip(host):
            host = str(ipaddress.ip_address(host))
        elif not _DNS_NAME.match(host):
            raise ValueError(f"{item.strip()!r} is not a DNS name or an IP address")
        if host not in hosts:
            hosts.append(host)
    if not hosts:
        raise ValueError("must name at least one host, e.g. svc,svc.ns,svc.ns.svc")
    return tuple(hosts)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _general_name(host: str) -> x509.GeneralName:
    if _is_ip(host):
        return x509.IPAddress(ipaddress.ip_address(host))
    return x509.DNSName(host)


def generate_bundle(
    hosts: Sequence[str],
    *,
    now: datetime.datetime,
    ca_validity: datetime.timedelta = CA_VALIDITY,
    cert_validity: datetime.timedelta = CERT_VALIDITY,
) -> CertificateBundle:
    """A new self-signed CA and a serving certificate for `hosts` (the first is the CN)."""
    if not hosts:
        raise CertgenError("no hosts for the serving certificate")
    not_before = now - CLOCK_SKEW
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + ca_validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    # Clients match the SANs; the CN is for people, and X.509 caps it at 64 characters.
    common_name = next((host for host in hosts if len(host) <= 64), None)
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(min(now + cert_validity, now + ca_validity))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return CertificateBundle(
        ca=ca.public_bytes(serialization.Encoding.PEM),
        cert=cert.public_bytes(serialization.Encoding.PEM),
        key=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _public_der(key: object) -> bytes:
    public_bytes = getattr(key, "public_bytes", None)
    if public_bytes is None:
        return b""
    data: bytes = public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def bundle_problem(
    bundle: CertificateBundle, *, hosts: Sequence[str], now: datetime.datetime
) -> str | None:
    """Why `bundle` cannot serve `hosts` at `now` (or within `RENEW_BEFORE`); None if it can."""
    try:
        ca = x509.load_pem_x509_certificate(bundle.ca)
        cert = x509.load_pem_x509_certificate(bundle.cert)
        key = serialization.load_pem_private_key(bundle.key, password=None)
    except (ValueError, TypeError) as error:
        return f"unreadable PEM data ({error})"
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        return "the key does not match the certificate"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "the certificate is not signed by the CA"
    for name, certificate in (("CA", ca), ("certificate", cert)):
        if certificate.not_valid_before_utc > now + CLOCK_SKEW:
            return f"the {name} is not valid yet"
        if certificate.not_valid_after_utc <= now + RENEW_BEFORE:
            return f"the {name} expires on {certificate.not_valid_after_utc:%Y-%m-%d}"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "the certificate has no subject alternative names"
    names = {str(name).lower() for name in san.get_values_for_type(x509.DNSName)}
    names |= {str(address) for address in san.get_values_for_type(x509.IPAddress)}
    missing = [host for host in hosts if host not in names]
    if missing:
        return f"the certificate does not name {', '.join(missing)}"
    return None
