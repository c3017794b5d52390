"""`wallarm-sidecar demo`: the story of DESIGN §1 on one machine, every part a real process.

Stages: the Cloud (SQLite in the state directory) and a deployment token; postanalytics
(wstore, jobs); the controller over TLS with a fresh CA; the documentation's example
Deployment sent through the webhook as the apiserver would; the patched pod run by
`localrun` (in a network namespace with the real iptables rule as root, on loopback
otherwise); the test request; the attack as the Console lists it.
"""

from __future__ import annotations

import datetime
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import yaml

from wallarm_sidecar.certgen import generate_bundle
from wallarm_sidecar.demo._story import (
    ATTACK_PATH,
    BENIGN_PATH,
    EXAMPLE_DEPLOYMENT,
    NODE_GROUP,
    Addresses,
    DemoError,
    admission_review,
    container_names,
    controller_config,
    find_attack,
    hit_of_node,
    patched_pod,
    pod_from_template,
)
from wallarm_sidecar.localrun._network import pick_subnet, used_networks

#: what `--check` allows for the whole run (DESIGN §3: within 5 minutes)
CHECK_BUDGET: Final = 300.0
STOP_GRACE: Final = 15.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def say(text: str) -> None:
    print(text, flush=True)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]
    log: Path
    lines: queue.Queue[str] = field(default_factory=queue.Queue)


class Children:
    """The processes the demo started: logs in files, stopped in reverse order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Child] = []
        # if the demo itself is killed, its children get SIGTERM (localrun then removes
        # the pod's namespace) instead of living on as orphans
        setpriv = shutil.which("setpriv")
        self._guard = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        log = self.log_dir / f"{name}.log"
        process = subprocess.Popen(
            [*self._guard, sys.executable, "-m", "wallarm_sidecar", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
        )
        child = Child(name, process, log)
        assert process.stdout is not None
        threading.Thread(target=_pump, args=(process.stdout, log, child.lines), daemon=True).start()
        self.started.append(child)
        return child

    def check_alive(self) -> None:
        for child in self.started:
            code = child.process.poll()
            if code is not None:
                raise DemoError(f"{child.name} exited with {code}: {_tail(child.log)}")

    def stop_one(self, child: Child) -> None:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.started.remove(child)

    def stop(self) -> None:
        for child in reversed(self.started):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for child in reversed(self.started):
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def _pump(stream: IO[str], log: Path, lines: queue.Queue[str]) -> None:
    with log.open("a") as out:
        for line in stream:
            out.write(line)
            out.flush()
            lines.put(line.rstrip("\n"))


def _tail(log: Path, count: int = 8) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-count:]) or "(empty log)"


class Http:
    """Small JSON-over-HTTP calls (stdlib), bounded by a timeout."""

    def __init__(self, base: str, token: str = "", context: ssl.SSLContext | None = None) -> None:
        self.base = base
        self.token = token
        self.context = context

    def call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=timeout, context=self.context) as answer:
            payload = answer.read()
        return json.loads(payload) if payload else None


def wait_for(what: str, probe: Callable[[], Any], timeout: float, children: Children) -> Any:
    """Poll `probe` until it returns something true; a child that died ends the wait."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        children.check_alive()
        try:
            found = probe()
        except (OSError, urllib.error.URLError, ValueError) as error:
            found, last = None, str(error)
        if found:
            return found
        time.sleep(0.3)
    raise DemoError(
        f"timed out after {timeout:.0f}s waiting for {what}" + (f" ({last})" if last else "")
    )


@dataclass(frozen=True)
class DemoOptions:
    check: bool = False
    state_dir: str | None = None
    netns: bool | None = None  # None: when root and `ip` is present


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def use_netns(requested: bool | None) -> tuple[bool, str]:
    if requested is False:
        return False, "asked for loopback (--no-netns)"
    if os.geteuid() != 0:
        return False, "not root"
    if shutil.which("ip") is None:
        return False, "no `ip` command (iproute2)"
    if shutil.which("iptables") is None:
        return False, "no `iptables` command"
    return True, ""


@contextmanager
def state_directory(given: str | None) -> Iterator[Path]:
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="wallarm-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_demo(options: DemoOptions) -> int:
    started = time.monotonic()
    netns, why_not = use_netns(options.netns)
    with state_directory(options.state_dir) as state:
        (state / "logs").mkdir(exist_ok=True)
        children = Children(state / "logs")
        serving = False
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            ok = _story(
                options=options,
                state=state,
                children=children,
                netns=netns,
                why_not=why_not,
                started=started,
            )
            if ok and not options.check:
                serving = True  # from here, Ctrl-C is how the user ends the demo
                say("the pod and the Console keep running; press Ctrl-C to stop everything")
                while True:
                    children.check_alive()
                    time.sleep(0.5)
        except DemoError as error:
            say(f"FAILED: {error}")
            say(f"logs: {state / 'logs'}")
            ok = False
        except KeyboardInterrupt:
            if serving:
                say("\nstopping everything the demo started")
            else:
                say("\ninterrupted: stopping everything the demo started")
                ok = False
        finally:
            children.stop()
            signal.signal(signal.SIGTERM, previous)
        if options.check:
            elapsed = time.monotonic() - started
            verdict = "PASSED" if ok and elapsed <= CHECK_BUDGET else "FAILED"
            say(f"demo --check {verdict} in {elapsed:.0f}s")
            return 0 if verdict == "PASSED" else 1
        return 0 if ok else 1


def _story(
    *,
    options: DemoOptions,
    state: Path,
    children: Children,
    netns: bool,
    why_not: str,
    started: float,
) -> bool:
    say(f"state directory: {state}")
    if netns:
        subnet = pick_subnet(used_networks())
        host_side = str(subnet.network_address + 1)
        bind = "0.0.0.0"  # the pod's namespace reaches the host side of its veth only
        say(f"pod network: {subnet} in its own network namespace (host side {host_side})")
    else:
        subnet = None
        host_side = bind = "127.0.0.1"
        say(f"pod network: the host's loopback ({why_not}); the proxy's own port takes the traffic")

    # 1. The Cloud, and a token for the deployment (DESIGN §1 step 1).
    say("[1/6] Cloud: starting wallarm-sidecar cloud (SQLite)")
    cloud_port = free_port()
    admin = "wsk_demo_" + secrets.token_urlsafe(24)
    children.start(
        "cloud",
        ["cloud", "--listen", f"{bind}:{cloud_port}", "--data-dir", str(state / "cloud")],
        {"WALLARM_CLOUD_ADMIN_TOKEN": admin},
    )
    cloud = Http(f"http://127.0.0.1:{cloud_port}", admin)
    wait_for("the Cloud API", lambda: cloud.call("GET", "/api/v1/nodes"), 60, children)
    token = cloud.call("POST", "/api/v1/tokens", {"usage": "deployment", "name": "demo"})["token"]
    say(f"      API token (Node deployment) created; Console: http://127.0.0.1:{cloud_port}/")

    cloud_env = {
        "WALLARM_API_HOST": "127.0.0.1",
        "WALLARM_API_PORT": str(cloud_port),
        "WALLARM_API_USE_SSL": "false",
        "WALLARM_API_CA_VERIFY": "false",
        "WALLARM_API_TOKEN": token,
        "WALLARM_LABELS": f"group={NODE_GROUP}",
    }

    # 2. Postanalytics: wstore and jobs (the chart's <fullname>-postanalytics).
    say("[2/6] postanalytics: wstore and jobs")
    wstore_port = free_port()
    export_port = free_port()
    node_dir = state / "postanalytics"
    node_dir.mkdir(exist_ok=True)
    children.start(
        "wstore",
        [
            "postanalytics", "wstore",
            "--listen", f"{bind}:{wstore_port}",
            "--export-listen", f"127.0.0.1:{export_port}",
            "--health-listen", f"127.0.0.1:{free_port()}",
            "--metrics-listen", f"127.0.0.1:{free_port()}",
            "--arena", "0.1",
        ],
    )  # fmt: skip
    wait_for("wstore", lambda: _port_open("127.0.0.1", wstore_port), 60, children)
    children.start(
        "jobs",
        [
            "postanalytics", "jobs",
            "--wstore-export", f"127.0.0.1:{export_port}",
            "--health-listen", f"127.0.0.1:{free_port()}",
            "--node-dir", str(node_dir),
            "--node-name", "demo-postanalytics",
            "--export-interval", "0.5",
        ],
        cloud_env,
    )  # fmt: skip

    # 3. The controller, over TLS, with a CA of its own (certgen's job in a cluster).
    say("[3/6] controller: admission webhook over TLS")
    tls = state / "tls"
    tls.mkdir(exist_ok=True)
    bundle = generate_bundle(["localhost", "127.0.0.1"], now=datetime.datetime.now(datetime.UTC))
    (tls / "ca.crt").write_bytes(bundle.ca)
    (tls / "tls.crt").write_bytes(bundle.cert)
    (tls / "tls.key").write_bytes(bundle.key)
    os.chmod(tls / "tls.key", 0o600)
    addresses = Addresses(host_side, cloud_port, host_side, wstore_port)
    config = state / "controller.yaml"
    config.write_text(yaml.safe_dump(controller_config(addresses)))
    controller_port = free_port()
    children.start(
        "controller",
        [
            "controller", "--listen", f"127.0.0.1:{controller_port}",
            "--tls-cert-file", str(tls / "tls.crt"), "--tls-key-file", str(tls / "tls.key"),
            "--config", str(config),
        ],
        {"WALLARM_API_TOKEN": token},
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(tls / "ca.crt"))
    webhook = Http(f"https://localhost:{controller_port}", context=context)
    wait_for("the webhook", lambda: _port_open("127.0.0.1", controller_port), 60, children)

    cases: list[tuple[str, str | None, bool]] = [("monitoring", None, False)]
    if options.check:
        cases.append(("block", "block", True))
    for number, (label, mode, blocked) in enumerate(cases):
        pod_child = _one_pod(
            label=label,
            mode=mode,
            blocked=blocked,
            number=number,
            state=state,
            children=children,
            webhook=webhook,
            cloud=cloud,
            subnet=subnet,
        )
        if number + 1 < len(cases):
            # the next pod takes the same network (the controller named its host side)
            say(f"      stopping pod {number + 1} before the next case")
            children.stop_one(pod_child)
    say("")
    say(f"Console: http://127.0.0.1:{cloud_port}/  (log in with the token {admin})")
    say(f"everything took {time.monotonic() - started:.0f}s")
    return True


def _one_pod(
    *,
    label: str,
    mode: str | None,
    blocked: bool,
    number: int,
    state: Path,
    children: Children,
    webhook: Http,
    cloud: Http,
    subnet: Any,
) -> Child:
    say(f"[4/6] webhook: the example Deployment's pod ({label} mode) sent as the apiserver would")
    pod = pod_from_template(EXAMPLE_DEPLOYMENT, mode=mode)
    answer = webhook.call("POST", "/inject", admission_review(pod))
    injected = patched_pod(pod, answer)
    name = pod["metadata"]["generateName"] + secrets.token_hex(3)[:5]
    say(f"      pod/{name}: containers {', '.join(container_names(injected))}")
    manifest = state / f"pod-{number}.json"
    manifest.write_text(json.dumps(injected, indent=2))

    say(f"[5/6] localrun: running pod/{name}")
    argv = ["localrun", "-f", str(manifest), "--name", name, "--namespace", "default",
            "--state-dir", str(state / f"pod-{number}")]  # fmt: skip
    if subnet is not None:
        argv += ["--pod-network", str(subnet)]
    else:
        argv += ["--no-netns", "--free-ports"]
    pod_child = children.start(f"localrun-{number}", argv)
    url = _await_ready(pod_child, children)
    say(f"      {url} is the pod's app port")

    say(f"[6/6] test request: curl {url.rstrip('/')}{ATTACK_PATH}")
    benign = _get(url.rstrip("/") + BENIGN_PATH)
    attack = _get(url.rstrip("/") + ATTACK_PATH)
    say(f"      GET {BENIGN_PATH} -> {benign}; GET {ATTACK_PATH} -> {attack}")
    if benign != 200:
        raise DemoError(f"the benign request got {benign}, not 200 from the app")
    if blocked and attack != 403:
        raise DemoError(f"block mode answered the attack with {attack}, not 403")
    if not blocked and attack == 403:
        raise DemoError("monitoring mode blocked the attack")
    found = wait_for(
        "the attack in the Console",
        lambda: find_attack(
            cloud.call("GET", "/api/v1/attacks?type=ptrav&limit=50"),
            path=ATTACK_PATH,
            blocked=blocked,
        ),
        120,
        children,
    )
    hit = wait_for(
        "the attack's node and node group",
        lambda: hit_of_node(cloud.call("GET", f"/api/v1/hits?attack_id={found['id']}&limit=50")),
        30,
        children,
    )
    say(
        f"      Console, Attacks: #{found['id']} {found['attack_type']} "
        f"{found['host']}{found['path']} from {found['client_ip']}, "
        f"{'blocked' if found['blocked'] else 'monitored'}, point {hit['point']}, "
        f"node {hit['node']} in group {hit['node_group']}"
    )
    return pod_child


def _await_ready(child: Child, children: Children, timeout: float = 180.0) -> str:
    """Follow localrun's output until READY n/n; the URL it says to send traffic to."""
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        children.check_alive()
        try:
            line = child.lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if "send traffic to " in line:
            url = line.split("send traffic to ", 1)[1].split()[0]
        if " READY " in line:
            counts = line.split(" READY ", 1)[1].split()[0]
            ready, _, total = counts.partition("/")
            if ready == total and url:
                say(f"      {line.strip()}")
                return url
    raise DemoError(f"the pod was not READY within {timeout:.0f}s: {_tail(child.log)}")


def _get(url: str) -> int:
    request = urllib.request.Request(url, headers={"Host": "myapp.default.svc"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
