"""Carries a `PodPlan` out: namespace, volumes, init containers, containers, readiness.

The thin I/O shell around the plan. Every process runs in its own process group
(so SIGTERM then SIGKILL reach its workers too) and, in netns mode, inside the pod's
network namespace through `ip netns exec`. `stop()` always runs, and removes what
`start()` made even when it failed half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from wallarm_sidecar.injector import INIT_IPTABLES
from wallarm_sidecar.localrun._network import PodNetwork
from wallarm_sidecar.localrun._plan import PodPlan, Probe, ProcessPlan

TAIL_LINES = 20


class PodFailed(Exception):
    """The pod could not start or a container died; the message says which and shows why."""


@dataclass
class _Running:
    plan: ProcessPlan
    process: asyncio.subprocess.Process
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    ready: bool = False
    reader: asyncio.Task[None] | None = None
    prober: asyncio.Task[None] | None = None

    def output(self) -> str:
        return "\n".join(f"    {line}" for line in self.tail) or "    (no output)"


class LocalPod:
    """One pod's processes on this machine; use `start`, `wait_ready`, `wait`, `stop`."""

    def __init__(
        self,
        plan: PodPlan,
        *,
        state_dir: Path,
        network: PodNetwork | None = None,
        out: TextIO,
        keep_logs: bool = False,
    ) -> None:
        if (network is None) != (plan.network == "loopback"):
            raise ValueError("a netns plan needs a PodNetwork, a loopback plan none")
        self.plan = plan
        self.network = network
        self.state_dir = state_dir
        self.out = out
        self.keep_logs = keep_logs
        self.running: dict[str, _Running] = {}
        self.pids: list[int] = []
        self._created_network = False
        self._creating: asyncio.Future[None] | None = None
        self._ready_changed = asyncio.Event()
        self._exited = asyncio.Event()
        self._last_ready: tuple[int, int] | None = None
        # If localrun itself is killed (SIGKILL, OOM), its children must not outlive it:
        # each gets SIGKILL when localrun dies (a parent-death signal kept across exec).
        setpriv = shutil.which("setpriv")
        self._guard = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
        self._width = max(len(p.name) for p in (*plan.init_containers, *plan.containers))

    # ---------------------------------------------------------------- start

    async def start(self) -> None:
        """Network, volumes, init containers in order, then every container."""
        plan = self.plan
        self.say(
            f"pod/{plan.name} in namespace {plan.namespace}: "
            + (
                f"network namespace {self.network.namespace}, pod IP {plan.pod_ip}, "
                f"host side {plan.host_ip} ({self.network.host_interface})"
                if self.network
                else "host loopback (no network namespace)"
            )
        )
        for note in plan.notes:
            self.say(note)
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        if self.network is None:
            await asyncio.to_thread(_check_ports_free, plan)
        else:
            self._created_network = True
            # a thread cannot be cancelled: stop() waits for it before deleting
            self._creating = asyncio.ensure_future(asyncio.to_thread(self.network.create))
            await asyncio.shield(self._creating)
        self._write_state()
        for volume in plan.volumes:
            path = Path(volume.path)
            if volume.owned:
                path.mkdir(parents=True, exist_ok=True)
            for relative, content in volume.files.items():
                target = path / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
        for process in plan.init_containers:
            if process.skipped:
                self.say(process.skipped)
                continue
            running = await self._spawn(process)
            if process.role == "sidecar":
                continue
            code = await running.process.wait()
            if running.reader:
                await running.reader
            if code != 0:
                raise PodFailed(
                    f"init container {process.name} failed with exit code {code}; "
                    f"its last output:\n{running.output()}"
                )
            self.say(f"init container {process.name} completed")
        for process in plan.containers:
            await self._spawn(process)
        self._report_ready()
        # `demo` reads this line (the URL is its first word after "send traffic to").
        if plan.traffic:
            self.say(f"send traffic to http://{_join(*plan.traffic)}/ ({self._way_in()})")

    def _way_in(self) -> str:
        capture = next((p for p in self.plan.init_containers if p.name == INIT_IPTABLES), None)
        if self.plan.status is None:
            return "the first container port"
        if capture is not None and not capture.skipped:
            return "the application port; iptables hands it to the proxy"
        return "the proxy port; nothing redirects the application port"

    def access(self) -> list[str]:
        """Once ready: where the proxy's status is, and how to stop."""
        lines = []
        if self.plan.status:
            lines.append(f"proxy status: http://{_join(*self.plan.status)}/wallarm-status")
        return [*lines, "running; Ctrl-C stops the pod"]

    async def _spawn(self, process: ProcessPlan) -> _Running:
        argv = list(process.argv)
        if self.network is not None:
            argv = self.network.wrap(argv)
        argv = [*self._guard, *argv]
        owned = Path(self.state_dir, "volumes")
        for mount in process.mounts.values():
            if Path(mount).is_relative_to(owned):  # a subPath of our volume; never a hostPath
                Path(mount).mkdir(parents=True, exist_ok=True)
        try:
            child = await asyncio.create_subprocess_exec(
                *argv,
                env=dict(process.env),
                cwd=self.state_dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise PodFailed(f"{process.name}: cannot start {process.argv[0]}: {error}") from None
        running = _Running(plan=process, process=child)
        self.running[process.name] = running
        self.pids.append(child.pid)
        self.say(f"started {process.name} (pid {child.pid}): {process.runs}")
        self._write_state()
        running.reader = asyncio.create_task(self._read(running))
        if process.role != "init":
            running.prober = asyncio.create_task(self._probe_loop(running))
        return running

    async def _read(self, running: _Running) -> None:
        assert running.process.stdout is not None
        name = running.plan.name
        with open(self.state_dir / "logs" / f"{name}.log", "ab") as log:
            while line := await running.process.stdout.readline():
                log.write(line)
                log.flush()
                text = line.decode("utf-8", "replace").rstrip()
                running.tail.append(text)
                self.out.write(f"{name:>{self._width}} | {text}\n")
                self.out.flush()
        await running.process.wait()
        if running.plan.role != "init":
            self._exited.set()

    # ---------------------------------------------------------------- readiness

    async def _probe_loop(self, running: _Running) -> None:
        probe = running.plan.readiness
        if probe is None:
            self._set_ready(running, True)
            return
        await asyncio.sleep(probe.initial_delay)
        successes = failures = 0
        while running.process.returncode is None:
            ok = await self._check(probe, running.plan)
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if not running.ready and successes >= probe.success_threshold:
                self._set_ready(running, True)
            elif running.ready and failures >= probe.failure_threshold:
                self._set_ready(running, False)
            # Until the first success, check often: waiting a whole period would only
            # delay the start (kubelet's first check is not aligned with the start either).
            await asyncio.sleep(probe.period if running.ready else min(probe.period, 0.25))

    async def _check(self, probe: Probe, process: ProcessPlan) -> bool:
        try:
            if probe.action == "exec":
                argv = list(probe.command)
                if self.network is not None:
                    argv = self.network.wrap(argv)
                child = await asyncio.create_subprocess_exec(
                    *argv,
                    env=dict(process.env),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                    start_new_session=True,
                )
                try:
                    return await asyncio.wait_for(child.wait(), probe.timeout) == 0
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)
                    await child.wait()
                    return False
            return await asyncio.wait_for(_network_probe(probe), probe.timeout)
        except (OSError, TimeoutError, ValueError):
            return False

    def _set_ready(self, running: _Running, ready: bool) -> None:
        running.ready = ready
        self._report_ready()
        self._ready_changed.set()

    def ready_count(self) -> tuple[int, int]:
        counted = self.plan.readiness_counted
        ready = sum(1 for p in counted if p.name in self.running and self.running[p.name].ready)
        return ready, len(counted)

    def _report_ready(self) -> None:
        ready, total = self.ready_count()
        if (ready, total) == self._last_ready:
            return
        self._last_ready = (ready, total)
        waiting = [
            p.name
            for p in self.plan.readiness_counted
            if not (p.name in self.running and self.running[p.name].ready)
        ]
        suffix = f" (not ready: {', '.join(waiting)})" if waiting else ""
        self.say(f"pod/{self.plan.name} READY {ready}/{total}{suffix}")

    async def wait_ready(self, timeout: float) -> None:
        """Until every counted container is ready; PodFailed on timeout or a death."""
        deadline = time.monotonic() + timeout
        while True:
            self._raise_if_exited()
            ready, total = self.ready_count()
            if ready == total:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                waiting = [
                    self.running[p.name]
                    for p in self.plan.readiness_counted
                    if p.name in self.running and not self.running[p.name].ready
                ]
                details = "\n".join(f"  {r.plan.name}, last output:\n{r.output()}" for r in waiting)
                raise PodFailed(f"not ready after {timeout:.0f}s ({ready}/{total}):\n{details}")
            self._ready_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._any_change(), remaining)

    async def _any_change(self) -> None:
        changed = asyncio.create_task(self._ready_changed.wait())
        exited = asyncio.create_task(self._exited.wait())
        try:
            await asyncio.wait({changed, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            exited.cancel()

    async def wait(self) -> None:
        """Until a container exits; then PodFailed names it and shows its last output."""
        while True:
            await self._exited.wait()
            self._raise_if_exited()
            self._exited.clear()

    def _raise_if_exited(self) -> None:
        for running in self.running.values():
            code = running.process.returncode
            if running.plan.role != "init" and code is not None:
                raise PodFailed(
                    f"container {running.plan.name} exited with code {code}; "
                    f"its last output:\n{running.output()}"
                )

    # ---------------------------------------------------------------- stop

    async def stop(self) -> list[str]:
        """SIGTERM, SIGKILL after the grace period, then remove the network and volumes.

        Returns what could not be cleaned up (empty when all went).
        """
        alive = [r for r in self.running.values() if r.process.returncode is None]
        if alive:
            self.say(
                f"stopping {', '.join(r.plan.name for r in alive)} "
                f"(SIGTERM, SIGKILL after {self.plan.grace_period:.0f}s)"
            )
        for running in reversed(alive):
            _signal_group(running.process.pid, signal.SIGTERM)
        if alive:
            waits = [asyncio.create_task(r.process.wait()) for r in alive]
            _, pending = await asyncio.wait(waits, timeout=self.plan.grace_period)
            for task in pending:
                task.cancel()
        problems = []
        for running in self.running.values():
            # the whole group: workers that outlived their parent go too
            _signal_group(running.process.pid, signal.SIGKILL)
            if running.process.returncode is None:
                await running.process.wait()
        for running in self.running.values():
            if not await _group_gone(running.process.pid):
                problems.append(f"processes of {running.plan.name} (group {running.process.pid})")
        for running in self.running.values():
            for helper in (running.prober, running.reader):
                if helper is not None and not helper.done():
                    helper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await helper
        if self._creating is not None:
            with contextlib.suppress(Exception):
                await self._creating
        if self.network is not None and self._created_network:
            problems += await asyncio.to_thread(self.network.delete)
        for volume in self.plan.volumes:
            if volume.owned:
                shutil.rmtree(volume.path, ignore_errors=True)
        volumes_dir = Path(self.state_dir) / "volumes"
        with contextlib.suppress(OSError):
            volumes_dir.rmdir()
        if not self.keep_logs:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if problems:
            self.say(f"could not remove: {', '.join(problems)}")
        else:
            self.say(f"pod/{self.plan.name} stopped and cleaned up")
        return problems

    # ---------------------------------------------------------------- output

    def say(self, text: str) -> None:
        self.out.write(f"localrun: {text}\n")
        self.out.flush()

    def _write_state(self) -> None:
        """`pod.json` in the state directory: what scripts and tests need to find the pod."""
        plan = self.plan
        state = {
            "name": plan.name,
            "namespace": plan.namespace,
            "network": plan.network,
            "pod_ip": plan.pod_ip,
            "host_ip": plan.host_ip,
            "netns": self.network.namespace if self.network else None,
            "veth": self.network.host_interface if self.network else None,
            "traffic": list(plan.traffic) if plan.traffic else None,
            "status": list(plan.status) if plan.status else None,
            "pids": {name: r.process.pid for name, r in self.running.items()},
        }
        path = self.state_dir / "pod.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        temporary.replace(path)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


async def _group_gone(pgid: int, timeout: float = 10.0) -> bool:
    """Wait until killed members of a process group are reaped (by their parent or init)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        await asyncio.sleep(0.05)
    return False


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_ports_free(plan: PodPlan) -> None:
    """On loopback the pod shares the host's ports: a taken one is a clear error."""
    seen = set()
    for port in plan.ports:
        if port.host_port in seen:
            continue
        seen.add(port.host_port)
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port.host_port))
            except OSError as error:
                why = (
                    "permission denied: ports below 1024 need root"
                    if error.errno == errno.EACCES
                    else "it is in use on this host"
                )
                raise PodFailed(
                    f"port {port.host_port} ({port.container} {port.name}) cannot be used: "
                    f"{why}; map it with --port {port.container_port}=OTHER, or use --free-ports"
                ) from None


async def _network_probe(probe: Probe) -> bool:
    context = None
    if probe.scheme == "https":
        # kubelet does not verify the certificate of an HTTPS probe either
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(
        probe.host, probe.port, ssl=context if probe.action == "http" else None
    )
    try:
        if probe.action == "tcp":
            return True
        headers = {"Host": _join(probe.host, probe.port), "User-Agent": "kube-probe/1.30"}
        headers.update(dict(probe.headers))
        head = f"GET {probe.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        writer.write((head + "Connection: close\r\n\r\n").encode("latin-1"))
        await writer.drain()
        status_line = await reader.readline()
        parts = status_line.split()
        return len(parts) >= 2 and parts[1].isdigit() and 200 <= int(parts[1]) < 400
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def install_stop_signals(callback: Callable[[], object]) -> None:
    """SIGINT and SIGTERM call `callback` (the CLI cancels the pod's task with it)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, callback)
