"""Serving bundles and docker build contexts are written through the confined writer
(``paths.ConfinedDir``): a symlink planted in the deployments directory — the bundle or context
directory itself, a directory on the way, or a file's own name — is refused (403) or replaced,
and nothing outside the root is written. The serving half of the symlink probes (item 1)."""

from __future__ import annotations

import json
import os

import pytest
from deploy_support import register_models

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import Forbidden
from jupyterlab_mlops.serving.bundle import METADATA_FILE, write_bundle
from jupyterlab_mlops.serving.deployers.docker import write_context


@pytest.fixture(scope="module")
def mlops(tmp_path_factory):
    instance = MLOps(root_dir=str(tmp_path_factory.mktemp("lab")), deployment_poll_interval=0.0)
    register_models(instance)
    yield instance
    instance.stop()


@pytest.fixture
def outside(tmp_path_factory):
    """A directory outside the deployments root holding one precious file."""
    directory = tmp_path_factory.mktemp("outside")
    (directory / "precious").write_text("precious")
    return directory


def untouched(directory) -> bool:
    return (
        sorted(p.name for p in directory.iterdir()) == ["precious"]
        and (directory / "precious").read_text() == "precious"
    )


def test_a_bundle_directory_linked_out_of_the_root_is_refused(mlops, outside):
    base = mlops.deployments.base_dir
    (base / "d1" / "bundles").mkdir(parents=True)
    os.symlink(outside, base / "d1" / "bundles" / "v1")
    with pytest.raises(Forbidden, match="outside the server root"):
        mlops.deployments.bundles.write("churn/1", base / "d1" / "bundles" / "v1", root=base)
    # A directory on the way linked out: refused before any write as well.
    os.symlink(outside, base / "d2")
    with pytest.raises(Forbidden, match="outside the server root"):
        mlops.deployments.bundles.write("churn/1", base / "d2" / "bundles" / "v1", root=base)
    assert untouched(outside)


def test_links_at_a_bundle_files_names_are_replaced_never_written_through(mlops, outside):
    bundle = mlops.deployments.base_dir / "d3" / "bundles" / "v1"
    bundle.mkdir(parents=True)
    os.symlink(outside / "precious", bundle / "model.skops")
    os.symlink(outside / "precious", bundle / METADATA_FILE)
    metadata = write_bundle(mlops, "churn/1", bundle)
    assert untouched(outside)
    for name in ("model.skops", METADATA_FILE):
        assert (bundle / name).is_file() and not (bundle / name).is_symlink(), name
    assert (
        json.loads((bundle / METADATA_FILE).read_text())["artifact_sha256"]
        == (metadata["artifact_sha256"])
    )


def test_a_build_context_linked_out_of_the_root_is_never_written_through(mlops, outside):
    base = mlops.deployments.base_dir
    # The context directory itself a link out: the link goes, a real directory is written.
    (base / "d4").mkdir()
    os.symlink(outside, base / "d4" / "context")
    summary = write_context(mlops, "churn/1", base / "d4" / "context", root=base)
    context = base / "d4" / "context"
    assert context.is_dir() and not context.is_symlink()
    assert {"Dockerfile", "requirements.txt", "bundle/model.skops"} <= set(summary["files"])
    assert untouched(outside)
    # The deployment's directory linked out (where the docker deployer writes): a 403.
    os.symlink(outside, base / "d5")
    with pytest.raises(Forbidden, match="outside the server root"):
        write_context(mlops, "churn/1", base / "d5" / "context", root=base)
    assert untouched(outside)
