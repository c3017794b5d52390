"""The chart's postanalytics pod, run as rendered: READY 3/3 against a real Cloud.

The chart is rendered by the real helm binary with `config.wallarm.api` pointing at a real
`wallarm-sidecar cloud` process; the whole rendered release (its token Secret included,
which the pod's `secretKeyRef`s read) goes to `wallarm-sidecar localrun`, which runs the
postanalytics Deployment's pod as Kubernetes would: `register` to completion, then
`wstore`, `jobs` and `appstructure` with the chart's args, env, volumes, ports and
readiness probes.

It runs in its own network namespace (localrun as root), not on the host's loopback:
there the probes reach the pod IP, as the kubelet's do, so a health endpoint that listens
on 127.0.0.1 only fails here as it would in a cluster; and the pod's fixed ports (3313,
5005, 3314, ...) cannot clash with anything else on the host. The Cloud listens on
0.0.0.0, since the pod reaches only the host side of its veth pair (as `demo` does).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.conftest import Helm
from tests.helm.test_chart import CASES, container, one
from tests.localrun.helpers import Localrun
from tests.support import free_port
from wallarm_sidecar.localrun import PodNetwork
from wallarm_sidecar.wire import (
    PROTOCOL_VERSION,
    FrameDecoder,
    FrameType,
    encode_frame,
    encode_packed_batch,
    pack_record,
)

ADMIN = "wsk_admin-token-for-the-chart-postanalytics-pod"
RELEASE = "pa"
NAMESPACE = "wallarm-sidecar"
DEPLOYMENT = f"{RELEASE}-wallarm-sidecar-postanalytics"


# ------------------------------------------------------------------ the Cloud


class Cloud:
    """`wallarm-sidecar cloud` on 0.0.0.0 (the pod in its namespace reaches the host side)."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "WALLARM_CLOUD_ADMIN_TOKEN": ADMIN}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wallarm_sidecar",
                "cloud",
                "--listen",
                f"0.0.0.0:{self.port}",
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_until(self._up, 30, "the Cloud to answer")

    def _up(self) -> bool:
        assert self.process.poll() is None, self.process.communicate()[1].decode()
        try:
            self.call("GET", "/api/v1/tokens")
        except OSError:
            return False
        return True

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def deployment_token(self) -> str:
        return str(self.call("POST", "/api/v1/tokens", {"usage": "deployment"})["token"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    started = Cloud(tmp_path_factory.mktemp("cloud"))
    try:
        yield started
    finally:
        started.stop()


# ------------------------------------------------------------------ localrun


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Localrun]]:
    """Every localrun started is stopped, and its namespace and processes gone, even on failure."""
    started: list[Localrun] = []
    try:
        yield started
    finally:
        for run in started:
            run.clean_up()
        pod_file = tmp_path / "state" / "pod.json"
        if pod_file.is_file():
            pod = json.loads(pod_file.read_text())
            for pid in pod.get("pids", {}).values():
                if is_ours(pid):
                    os.kill(pid, signal.SIGKILL)
            if pod.get("netns") and pod["netns"] in netns_names():
                subprocess.run(["ip", "netns", "delete", pod["netns"]], check=False)
            if pod.get("veth"):
                subprocess.run(
                    ["ip", "link", "delete", pod["veth"]], check=False, stderr=subprocess.DEVNULL
                )


def need_root() -> None:
    """Network namespaces need root, ip and iptables; CI has them, so there this fails."""
    missing = [tool for tool in ("ip", "iptables") if shutil.which(tool) is None]
    if os.geteuid() == 0 and not missing:
        return
    reason = f"needs root with ip and iptables (missing: {missing or 'root'})"
    if os.environ.get("CI"):
        raise AssertionError(f"{reason}; CI runs as root with scripts/install-system-deps test")
    pytest.skip(reason)


def netns_names() -> set[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return {line.split()[0] for line in listing.stdout.splitlines() if line.strip()}


def is_ours(pid: int) -> bool:
    """The process still runs one of our commands (a pid may have been reused)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return b"wallarm_sidecar" in command and status.split(") ", 1)[-1][:1] != "Z"


# ------------------------------------------------------------------ helpers


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
        time.sleep(0.1)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


def health(url: str) -> dict[str, Any]:
    try:
        return dict(get_json(url))
    except (OSError, ValueError):
        return {}


def send_record(host: str, port: int, request_id: str) -> None:
    """One request record with a path-traversal hit, as a proxy ships it (record protocol)."""
    record = pack_record(
        request_id=request_id,
        time=time.time(),
        node="app-pod-1",
        application="shop",
        client_ip="198.51.100.7",
        method="GET",
        host="shop.local",
        path="/api/users/42/files",
        parameters=[('get_param "file"', "string")],
        status=404,
        duration_ms=1.0,
        bytes_in=0,
        bytes_out=10,
        blocked=False,
        mode="monitoring",
        hits=[("ptrav", 'get_param "file"', "../../etc/passwd", "930100")],
    )
    with socket.create_connection((host, port), timeout=10) as sock:
        decoder = FrameDecoder()

        def frame() -> Any:
            while True:
                data = sock.recv(65536)
                assert data, "wstore closed the connection"
                frames = decoder.feed(data)
                if frames:
                    return frames[0]

        hello = {"version": PROTOCOL_VERSION, "session": request_id, "node": "app-pod-1"}
        hello |= {"group": "app-group", "application": "shop", "pid": 1}
        sock.sendall(encode_frame(FrameType.HELLO, hello))
        assert frame().type == FrameType.HELLO_ACK
        sock.sendall(encode_packed_batch(1, [record]))
        assert frame().type == FrameType.ACK


def render(helm: Helm, cloud: Cloud, host: str, group: str, token: str) -> list[dict[str, Any]]:
    sets = (
        f"config.wallarm.api.token={token}",
        f"config.wallarm.api.host={host}",
        f"config.wallarm.api.port={cloud.port}",
        "config.wallarm.api.useSSL=false",
        f"config.wallarm.api.nodeGroup={group}",
    )
    return helm.objects(sets=sets, release=RELEASE, namespace=NAMESPACE)


# ------------------------------------------------------------------ the tests


@pytest.mark.root
def test_the_postanalytics_pod_becomes_ready_3_of_3(
    helm: Helm, cloud: Cloud, tmp_path: Path, runs: list[Localrun]
) -> None:
    need_root()
    group = f"chart-postanalytics-helm{helm.major}"
    network = PodNetwork.allocate()
    subnet = ipaddress.ip_network(f"{network.host_ip}/30", strict=False)
    objects = render(helm, cloud, network.host_ip, group, cloud.deployment_token())
    secret = one(objects, "Secret", f"{RELEASE}-wallarm-sidecar-token")
    assert secret["data"]["token"]  # localrun reads the secretKeyRef from it
    manifest = tmp_path / "release.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    state = tmp_path / "state"

    run = Localrun(
        "-f", str(manifest), "--select", f"Deployment/{DEPLOYMENT}",
        "--pod-network", str(subnet), "--state-dir", str(state),
        "--ready-timeout", "60", "--grace-period", "10",
    )  # fmt: skip
    runs.append(run)
    run.wait_for("READY 3/3", timeout=75)
    pod = json.loads((state / "pod.json").read_text())
    name = pod["name"]
    assert re.fullmatch(rf"{DEPLOYMENT}-[a-z0-9]{{5}}", name), name
    assert (pod["network"], pod["pod_ip"], pod["namespace"]) == ("netns", network.pod_ip, NAMESPACE)
    assert sorted(pod["pids"]) == ["appstructure", "jobs", "register", "wstore"]

    # register ran first, to completion, and registered the pod in the chart's node group
    assert run.index(f"registered node {name} (id ") < run.index(
        "init container register completed"
    )
    assert f"in group {group}" in run.lines[run.index(f"registered node {name} (id ")]
    assert run.index("init container register completed") < run.index("started wstore")
    nodes = cloud.call("GET", f"/api/v1/nodes?group={group}")["items"]
    assert [(n["name"], n["group"], n["namespace"]) for n in nodes] == [(name, group, NAMESPACE)]
    saved = json.loads((state / "volumes" / "wallarm" / "node-registration.json").read_text())
    assert (saved["name"], saved["group"], saved["node_id"]) == (name, group, nodes[0]["id"])

    # The pod works: a record sent to wstore's Service port reaches the Cloud through jobs
    # (with the registration register wrote), and appstructure reads it from wstore.
    pod_ip = network.pod_ip
    request_id = f"chart-pod-{helm.major}"
    send_record(pod_ip, 3313, request_id)

    def hits() -> list[dict[str, Any]]:
        items = cloud.call("GET", f"/api/v1/hits?node_group={group}")["items"]
        return [hit for hit in items if hit["request_id"] == request_id]

    wait_until(lambda: bool(hits()), 30, "the hit in the Cloud, in the pod's node group")
    [hit] = hits()
    # the record's node (the app pod) is not registered: the hit takes the sender's group
    assert (hit["node_group"], hit["node"], hit["attack_type"]) == (group, "app-pod-1", "ptrav")
    # jobs counts the hit once the Cloud's answer is back (a moment after the Cloud has it)
    jobs_health = f"http://{pod_ip}:5006/health"
    wait_until(
        lambda: health(jobs_health).get("export", {}).get("hits_stored", 0) >= 1,
        30,
        "jobs to count the hit it sent",
    )
    jobs = health(jobs_health)
    assert (jobs["registered"], jobs["node"], jobs["group"]) == (True, name, group), jobs
    assert jobs["export"]["hits_stored"] == 1
    # with register's registration: jobs did not register again (that would be logged and
    # would replace the credential in the file)
    assert not [line for line in run.lines if "jobs |" in line and "registered as" in line]
    registration = state / "volumes" / "wallarm" / "node-registration.json"
    assert json.loads(registration.read_text()) == saved
    wait_until(
        lambda: health(f"http://{pod_ip}:5007/health").get("records", 0) >= 1,
        30,
        "appstructure to read the record from wstore's export interface",
    )
    assert health(f"http://{pod_ip}:5005/health")["records"] == 1

    # SIGTERM (Ctrl-C): every process, the namespace, the veth pair and the volumes go away
    assert run.stop(60) == 0, run.output
    assert "stopped and cleaned up" in run.output
    assert not [pid for pid in pod["pids"].values() if is_ours(pid)]
    assert pod["netns"] not in netns_names()
    link = subprocess.run(["ip", "link", "show", pod["veth"]], capture_output=True, check=False)
    assert link.returncode != 0
    assert not (state / "volumes").exists()
    assert {p.name for p in (state / "logs").iterdir()} >= {"register.log", "jobs.log"}


# ------------------------------------------------------------------ args and env vs --help


def accepted(command: list[str]) -> tuple[set[str], set[str]]:
    """(flags, env vars) that `wallarm-sidecar COMMAND --help` names."""
    result = subprocess.run(
        [sys.executable, "-m", "wallarm_sidecar", *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    text = " ".join(result.stdout.split())
    envs = set(re.findall(r"\[env ([A-Z_]+)", text))
    # jobs and appstructure name the Cloud's variables in their description
    for match in re.finditer(r"WALLARM_API_([A-Z_/]+)", text):
        envs.update(f"WALLARM_API_{part}" for part in match.group(1).split("/") if part)
    return set(re.findall(r"(--[a-z][a-z-]*)", text)), envs


def test_every_arg_and_env_var_of_the_pod_is_one_its_command_takes(helm: Helm) -> None:
    objects = helm.objects(**CASES["default"])
    spec = one(objects, "Deployment", "wallarm-sidecar-postanalytics")["spec"]["template"]["spec"]
    mounted = {volume["name"] for volume in spec["volumes"] if "emptyDir" in volume}
    commands = {
        "register": ["register"],
        "wstore": ["postanalytics", "wstore"],
        "jobs": ["postanalytics", "jobs"],
        "appstructure": ["postanalytics", "appstructure"],
    }
    for name, command in commands.items():
        spec_container = container(spec, name)
        assert spec_container["command"] == ["wallarm-sidecar"]  # how localrun knows ours
        assert spec_container["args"][: len(command)] == command
        flags, envs = accepted(command)
        given_flags = {arg for arg in spec_container["args"] if arg.startswith("--")}
        assert given_flags <= flags, (name, given_flags - flags)
        given_envs = {item["name"] for item in spec_container.get("env", [])}
        assert given_envs <= envs, (name, given_envs - envs)
        # a read-only root file system: whatever a container writes is an emptyDir
        assert spec_container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"]: m["name"] for m in spec_container["volumeMounts"]}
        assert mounts.get("/tmp") == "tmp"
        assert set(mounts.values()) <= mounted
        env = {item["name"]: item.get("value") for item in spec_container.get("env", [])}
        if name != "wstore":
            assert mounts[env["WALLARM_NODE_DIR"]] == "wallarm"
    # jobs and appstructure read wstore's export interface, which wstore keeps at its default
    for name in ("jobs", "appstructure"):
        env = {item["name"]: item.get("value") for item in container(spec, name)["env"]}
        assert env["WALLARM_WSTORE_EXPORT"] == "127.0.0.1:3314"
        assert "WALLARM_WSTORE_HOST" not in env
    # appstructure never registers: it gets no token
    assert "WALLARM_API_TOKEN" not in {e["name"] for e in container(spec, "appstructure")["env"]}
    # every probed port is one the container listens on, beyond loopback
    for name, variable, port in (
        ("jobs", "WALLARM_JOBS_HEALTH_LISTEN", 5006),
        ("appstructure", "WALLARM_APPSTRUCTURE_HEALTH_LISTEN", 5007),
    ):
        spec_container = container(spec, name)
        env = {item["name"]: item.get("value") for item in spec_container["env"]}
        assert env[variable] == f"0.0.0.0:{port}"
        ports = {p["name"]: p["containerPort"] for p in spec_container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            assert ports[spec_container[probe]["httpGet"]["port"]] == port
