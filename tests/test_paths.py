"""Paths confined to the server root, for reads and — through symlinks and races — for writes."""

from __future__ import annotations

import os

import pytest

from jupyterlab_mlops.errors import Forbidden, InvalidInput, NotFound
from jupyterlab_mlops.paths import (
    locate_in_root,
    make_dirs_in_root,
    resolve_in_root,
    write_at,
    write_in_root,
)


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path / "root"


def test_writes_land_inside_the_root_atomically(root):
    target = write_in_root(root, "mlops-runs/r1/out.ipynb", b"{}")
    assert target == root / "mlops-runs" / "r1" / "out.ipynb"
    assert target.read_bytes() == b"{}"
    write_in_root(root, "mlops-runs/r1/out.ipynb", b"[]")
    assert target.read_bytes() == b"[]"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.ipynb"]  # no temporaries


def test_a_directory_symlinked_outside_is_refused_before_writing(root):
    outside = root.parent / "outside"
    (root / "mlops-runs").mkdir()
    os.symlink(outside, root / "mlops-runs" / "r1")
    with pytest.raises(Forbidden, match="outside the server root"):
        write_in_root(root, "mlops-runs/r1/out.ipynb", b"{}")
    with pytest.raises(Forbidden):
        make_dirs_in_root(root, "mlops-runs/r1/deeper")
    assert list(outside.iterdir()) == []


def test_a_file_symlink_is_replaced_not_written_through(root):
    victim = root.parent / "outside" / "precious.txt"
    victim.write_text("keep me")
    (root / "inside.txt").write_text("source")
    os.symlink(root / "inside.txt", root / "link.txt")  # the link is replaced, not followed
    write_in_root(root, "link.txt", b"fine")
    assert (root / "link.txt").read_bytes() == b"fine" and not (root / "link.txt").is_symlink()
    assert (root / "inside.txt").read_text() == "source"
    (root / "out.ipynb").symlink_to(victim)
    write_in_root(root, "out.ipynb", b"{}")
    assert victim.read_text() == "keep me"
    assert not (root / "out.ipynb").is_symlink()


def test_a_swap_after_the_check_is_caught_by_the_no_follow_walk(root):
    """The race a running notebook can win: the directory is real when the location is
    checked and a symlink when the bytes are written."""
    outside = root.parent / "outside"
    (root / "runs").mkdir()
    root_path, parts = locate_in_root(root, "runs/out.ipynb")
    os.rmdir(root / "runs")
    os.symlink(outside, root / "runs")
    with pytest.raises(Forbidden, match="became a symlink"):
        write_at(root_path, parts, b"{}")
    assert list(outside.iterdir()) == []


def test_odd_names_and_loops_are_400s(root):
    with pytest.raises(InvalidInput, match="longer than 255 bytes") as caught:
        resolve_in_root(root, "a" * 300 + ".ipynb")
    assert caught.value.details["field"] == "path"
    os.symlink(root / "loop-b", root / "loop-a")
    os.symlink(root / "loop-a", root / "loop-b")
    with pytest.raises(InvalidInput, match="symlink loop"):
        resolve_in_root(root, "loop-a/x.ipynb")
    with pytest.raises(InvalidInput, match="NUL"):
        resolve_in_root(root, "a\x00b")
    with pytest.raises(NotFound):
        resolve_in_root(root, "missing.ipynb")


def test_a_fifo_or_a_directory_is_not_a_notebook(root):
    (root / "dir.ipynb").mkdir()
    os.mkfifo(root / "pipe.ipynb")
    for name in ("dir.ipynb", "pipe.ipynb"):
        with pytest.raises(InvalidInput, match="not a regular file"):
            resolve_in_root(root, name, regular_file=True)
    (root / "ok.ipynb").write_text("{}")
    assert resolve_in_root(root, "ok.ipynb", regular_file=True) == root / "ok.ipynb"
