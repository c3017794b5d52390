"""The controller started exactly as the chart's Deployment starts it (args, env, files).

The rendered ConfigMap, token Secret and container args are turned into a process on
127.0.0.1 (mount paths mapped to a temporary directory, the listen port to a free one);
it must come up and inject a labelled pod with the release's postanalytics address.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonpatch

from tests.helm.conftest import TOKEN, Helm
from tests.helm.test_chart import CASES, container, one
from tests.injector.helpers import admission_review, pod, validate
from tests.injector.tls import write_self_signed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connect(port: int) -> http.client.HTTPSConnection:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)


def start_as_rendered(
    objects: list[dict[str, Any]], root: Path
) -> tuple[subprocess.Popen[bytes], int, Path]:
    deployment = one(objects, "Deployment", "wallarm-sidecar-controller")
    spec = deployment["spec"]["template"]["spec"]
    controller = container(spec, "controller")
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    mounts = {}
    for mount in controller["volumeMounts"]:
        local = root / mount["name"]
        local.mkdir()
        mounts[mount["mountPath"]] = local
        source = volumes[mount["name"]]
        if "configMap" in source:
            configmap = one(objects, "ConfigMap", source["configMap"]["name"])
            for key, value in configmap["data"].items():
                (local / key).write_text(value, encoding="utf-8")
        elif "secret" in source:  # the certificate a job, cert-manager or the user puts there
            write_self_signed(local / "tls.crt", local / "tls.key")
    port = free_port()
    args = []
    for arg in controller["args"]:
        mounted = [path for path in mounts if arg.startswith(path + "/")]
        if mounted:
            path = max(mounted, key=len)
            args.append(str(mounts[path]) + arg.removeprefix(path))
        else:
            args.append(f"127.0.0.1:{port}" if arg == ":8443" else arg)
    env = dict(os.environ)
    for item in controller["env"]:
        reference = item["valueFrom"]["secretKeyRef"]
        secret = one(objects, "Secret", reference["name"])
        env[item["name"]] = base64.b64decode(secret["data"][reference["key"]]).decode()
    log = root / "controller.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wallarm_sidecar", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 20
    while True:
        try:
            connection = connect(port)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return process, port, log
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise AssertionError(f"controller did not start: {log.read_text()}") from None
            time.sleep(0.05)


def test_the_rendered_controller_starts_and_injects(helm: Helm, tmp_path: Path) -> None:
    objects = helm.objects(**CASES["split-schema"])
    process, port, log = start_as_rendered(objects, tmp_path)
    try:
        review = admission_review(pod(), namespace="shop")
        connection = connect(port)
        connection.request(
            "POST", "/inject?timeout=10s", json.dumps(review), {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
    finally:
        process.terminate()
        process.wait(timeout=10)
    answer = json.loads(body)["response"]
    assert answer["allowed"] is True and answer["patchType"] == "JSONPatch"
    patched = jsonpatch.apply_patch(
        review["request"]["object"], json.loads(base64.b64decode(answer["patch"]))
    )
    names = [c["name"] for c in patched["spec"]["containers"]]
    assert names == ["web", "sidecar-helper", "sidecar-proxy"]
    proxy = {e["name"]: e.get("value") for e in patched["spec"]["containers"][-1]["env"]}
    assert proxy["WALLARM_WSTORE_HOST"] == "wallarm-sidecar-postanalytics.wallarm-sidecar.svc"
    assert proxy["WALLARM_WSTORE_PORT"] == "3313"
    assert proxy["WALLARM_MODE"] == "block"
    images = {c["image"] for c in patched["spec"]["containers"][1:]}
    assert images == {"wallarm-sidecar:0.1.0"}
    assert TOKEN not in body.decode()
    assert "ignored_keys" not in log.read_text()
    del patched["status"]
    validate(patched)
