#!/usr/bin/env python3
"""Admission latency benchmark (DESIGN.md §11, "Admission": p99 under 10 ms per review).

Starts ``wallarm-sidecar controller`` on loopback with a throw-away self-signed certificate,
opens ONE keep-alive TLS connection (as the apiserver reuses its connections), and sends
``--reviews`` AdmissionReview v1 bodies shaped as kube-apiserver sends them for pod CREATEs
(a mix: labelled pods to inject, split schema and annotations, unlabelled pods, a
generateName pod). Each latency is measured at the client, from the request's first byte
to the response's last, and includes TLS, HTTP, JSON and the mutation.

    python bench/admission.py                      # 1,000 reviews, prints p50/p99, PASS/FAIL
    python bench/admission.py --reviews 5000 --json admission.json

Exits 0 when p99 < the bar (10 ms), 1 otherwise. Needs the ``cryptography`` package (in the
``test`` extra) for the certificate.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import http.client
import ipaddress
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

P99_BAR_MS = 10.0


def _certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _pod(index: int, variant: int) -> dict[str, Any]:
    labels = {"app": "shop", "wallarm-sidecar": "enabled" if variant != 2 else "disabled"}
    annotations: dict[str, str] = {}
    if variant == 1:
        annotations = {
            "sidecar.wallarm.io/sidecar-injection-schema": "split",
            "sidecar.wallarm.io/wallarm-mode": "block",
            "sidecar.wallarm.io/proxy-cpu": "200m",
            "sidecar.wallarm.io/nginx-http-snippet": "ignored",
        }
    metadata: dict[str, Any] = {
        "namespace": "shop",
        "labels": labels,
        "annotations": annotations,
        "creationTimestamp": None,
    }
    if variant == 3:
        metadata["generateName"] = "shop-7d9c8b7f5-"
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "shop-7d9c8b7f5",
                "uid": f"00000000-0000-4000-8000-{index:012d}",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    else:
        metadata["name"] = f"shop-{index}"
    container = {
        "name": "shop",
        "image": "kennethreitz/httpbin",
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
        "resources": {},
        "volumeMounts": [
            {
                "name": "kube-api-access-abcde",
                "readOnly": True,
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            }
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "Always",
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "volumes": [{"name": "kube-api-access-abcde", "projected": {"sources": []}}],
            "containers": [container],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {},
    }


def _review(index: int) -> bytes:
    pod = _pod(index, index % 4)
    request: dict[str, Any] = {
        "uid": f"bench-{index:06d}",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "shop",
        "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
        "object": copy.deepcopy(pod),
        "oldObject": None,
        "dryRun": False,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
    }
    body = {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request}
    return json.dumps(body).encode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, context: ssl.SSLContext, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the controller exited before it was ready")
        try:
            connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the controller did not become ready within 30 s")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wallarm-admission-bench-") as temporary:
        directory = Path(temporary)
        cert, key = _certificate(directory)
        port = _free_port()
        env = {**os.environ, "WALLARM_API_TOKEN": "bench-token"}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wallarm_sidecar",
                "controller",
                "--listen",
                f"127.0.0.1:{port}",
                "--tls-cert-file",
                str(cert),
                "--tls-key-file",
                str(key),
            ],
            stdout=subprocess.DEVNULL,
            env=env,
        )
        try:
            context = ssl.create_default_context(cafile=str(cert))
            _wait_ready(port, context, process)
            bodies = [_review(i) for i in range(args.warmup + args.reviews)]
            connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
            headers = {"Content-Type": "application/json"}
            latencies: list[float] = []
            decisions: dict[str, int] = {}
            for index, body in enumerate(bodies):
                started = time.perf_counter()
                connection.request("POST", "/inject?timeout=10s", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status != 200:
                    raise SystemExit(f"review {index}: HTTP {response.status}: {payload[:200]!r}")
                answer = json.loads(payload)["response"]
                if index >= args.warmup:
                    latencies.append(elapsed)
                    kind = "patched" if "patch" in answer else "allowed unchanged"
                    decisions[kind] = decisions.get(kind, 0) + 1
            connection.close()
        finally:
            process.terminate()
            process.wait(timeout=10)

    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    passed = p99 < P99_BAR_MS
    print(f"admission over one keep-alive TLS connection: {len(latencies)} reviews ({decisions})")
    print(
        f"  p50 {p50:.2f} ms   p99 {p99:.2f} ms   max {max(latencies):.2f} ms   "
        f"mean {statistics.fmean(latencies):.2f} ms"
    )
    print(f"  bar: p99 < {P99_BAR_MS:.0f} ms -> {'PASS' if passed else 'FAIL'}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "reviews": len(latencies),
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "max_ms": max(latencies),
                    "bar_p99_ms": P99_BAR_MS,
                    "pass": passed,
                },
                indent=2,
            )
        )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
