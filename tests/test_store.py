"""The SQL store (alembic migrations, WAL) and the content-addressed artifact store."""

import hashlib
import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jupyterlab_mlops.errors import IntegrityError, InvalidInput, NotFound
from jupyterlab_mlops.store import ArtifactStore, Database
from jupyterlab_mlops.store.models import Base, RegisteredModel


def test_migrated_schema_equals_orm_models(store_url):
    db = Database(store_url)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert db.current_revision() == Database.head_revision()


def test_upgrade_is_idempotent_and_keeps_data(store_url):
    url = store_url
    db = Database(url)
    with db.session() as session:
        session.add(RegisteredModel(name="churn"))
    db.dispose()
    again = Database(url)
    with again.session() as session:
        assert [m.name for m in session.query(RegisteredModel)] == ["churn"]


def test_sqlite_store_uses_wal(tmp_path):
    Database(f"sqlite:///{tmp_path / 'm.db'}")
    connection = sqlite3.connect(tmp_path / "m.db")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_session_rolls_back_on_error(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(RegisteredModel(name="half-written"))
        session.flush()
        raise RuntimeError("crash mid-transaction")
    with db.session() as session:
        assert session.query(RegisteredModel).count() == 0


def test_display_url_hides_password():
    db = Database("sqlite://", upgrade=False)
    assert db.display_url == "sqlite://"
    from sqlalchemy.engine import make_url

    url = make_url("postgresql://me:secret@db/mlops").render_as_string(hide_password=True)
    assert "secret" not in url


def test_artifact_put_get_by_sha256(tmp_path):
    store = ArtifactStore(str(tmp_path / "a"))
    data = b"model bytes"
    digest = store.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get_bytes(digest) == data
    assert store.put_bytes(data) == digest  # stored once
    source = tmp_path / "f.bin"
    source.write_bytes(b"x" * 3_000_000)
    file_digest = store.put_file(source)
    assert file_digest == hashlib.sha256(source.read_bytes()).hexdigest()
    copy = store.get_file(file_digest, tmp_path / "out" / "copy.bin")
    assert copy.read_bytes() == source.read_bytes()
    assert store.size(file_digest) == 3_000_000


def test_corrupted_artifact_is_refused(tmp_path):
    store = ArtifactStore(str(tmp_path / "a"))
    digest = store.put_bytes(b"original")
    store.local_path(digest).write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get_bytes(digest)
    with pytest.raises(IntegrityError):
        store.verify(digest)
    with pytest.raises(IntegrityError):
        store.get_file(digest, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()


def test_missing_and_malformed_digests(tmp_path):
    store = ArtifactStore(str(tmp_path / "a"))
    with pytest.raises(NotFound):
        store.get_bytes("0" * 64)
    with pytest.raises(InvalidInput):
        store.get_bytes("../../etc/passwd")


def test_any_fsspec_url_works():
    store = ArtifactStore("memory://mlops-test-artifacts")
    digest = store.put_bytes(b"in memory")
    assert store.get_bytes(digest) == b"in memory"
    assert store.local_path(digest) is None


def test_a_store_locked_by_another_process_is_a_503_with_retry_after(tmp_path):
    """Another process holds SQLite's write lock past the busy timeout: the caller is told the
    store is busy (503, retry later), not handed a 500, and nothing is half-written."""
    from sqlalchemy import select

    from jupyterlab_mlops.errors import StoreUnavailable

    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url).dispose()
    holder = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    db = Database(url, upgrade=False)
    # The lock outlives a busy timeout shortened for the test (30 s in production).
    db.engine.pool.dispose()
    from sqlalchemy import event

    event.listen(db.engine, "connect", lambda conn, _r: conn.execute("PRAGMA busy_timeout=200"))
    with pytest.raises(StoreUnavailable) as caught, db.write_session() as session:
        session.add(RegisteredModel(name="churn"))
    assert caught.value.status == 503 and caught.value.code == "store_busy"
    assert caught.value.retry_after == 5
    holder.execute("ROLLBACK")
    with db.session() as session:
        assert session.scalars(select(RegisteredModel)).all() == []
        session.add(RegisteredModel(name="churn"))
    with db.session() as session:
        assert [m.name for m in session.scalars(select(RegisteredModel))] == ["churn"]


def test_a_read_only_store_is_a_clear_503(tmp_path):
    from jupyterlab_mlops.errors import StoreUnavailable

    path = tmp_path / "m.db"
    Database(f"sqlite:///{path}").dispose()
    db = Database(f"sqlite:///file:{path}?mode=ro&uri=true", upgrade=False)
    with pytest.raises(StoreUnavailable) as caught, db.session() as session:
        session.add(RegisteredModel(name="churn"))
    assert caught.value.code == "store_read_only"
    assert "read-only" in caught.value.message


# -- artifacts on an S3-compatible object store (moto: a stand-in for S3) --------------------------


def test_artifacts_on_s3_are_content_addressed_and_verified(s3_server):
    bucket = s3_server.create_bucket()
    store = ArtifactStore(f"s3://{bucket}/team/artifacts", s3_server.storage_options)
    assert not store.is_local and store.local_path("0" * 64) is None
    sha = store.put_bytes(b"model bytes")
    assert sha == hashlib.sha256(b"model bytes").hexdigest()
    assert store.put_bytes(b"model bytes") == sha  # stored once
    assert store.get_bytes(sha) == b"model bytes"
    assert store.size(sha) == len(b"model bytes")

    import s3fs

    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    assert fs.ls(f"{bucket}/team/artifacts/sha256/{sha[:2]}") == [
        f"{bucket}/team/artifacts/sha256/{sha[:2]}/{sha}"
    ]
    fs.pipe_file(f"{bucket}/team/artifacts/sha256/{sha[:2]}/{sha}", b"tampered")
    fs.invalidate_cache()
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get_bytes(sha)


def test_files_round_trip_through_s3(s3_server, tmp_path):
    bucket = s3_server.create_bucket()
    store = ArtifactStore(f"s3://{bucket}/a", s3_server.storage_options)
    source = tmp_path / "notebook.ipynb"
    source.write_bytes(b"{}" * 100_000)
    sha = store.put_file(source)
    copy = store.get_file(sha, tmp_path / "out" / "copy.ipynb")
    assert copy.read_bytes() == source.read_bytes()
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == sha


def test_a_missing_bucket_or_an_unreachable_endpoint_fail_at_start(s3_server):
    from jupyterlab_mlops.errors import Unavailable

    with pytest.raises(Unavailable, match="bucket 'no-such-bucket' does not exist"):
        ArtifactStore("s3://no-such-bucket/x", s3_server.storage_options)
    bucket = s3_server.create_bucket()
    wrong = {**s3_server.storage_options, "endpoint_url": "http://127.0.0.1:9"}
    with pytest.raises(Unavailable, match="cannot be reached"):
        ArtifactStore(
            f"s3://{bucket}/x",
            {**wrong, "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1}},
        )


def test_the_artifact_root_and_its_options_come_from_config_or_environment(
    s3_server, tmp_path, monkeypatch
):
    import json

    from jupyterlab_mlops.app import MLOps

    bucket = s3_server.create_bucket()
    monkeypatch.setenv("MLOPS_ARTIFACT_ROOT", f"s3://{bucket}/lab")
    monkeypatch.setenv("MLOPS_ARTIFACT_STORAGE_OPTIONS", json.dumps(s3_server.storage_options))
    mlops = MLOps(root_dir=str(tmp_path))
    sha = mlops.artifacts.put_bytes(b"shared by the team")
    assert mlops.artifacts.get_bytes(sha) == b"shared by the team"
    # Workers and kernels started by the server reach the same bucket the same way.
    child = mlops.child_environment()
    assert child["MLOPS_ARTIFACT_ROOT"] == f"s3://{bucket}/lab"
    assert json.loads(child["MLOPS_ARTIFACT_STORAGE_OPTIONS"]) == s3_server.storage_options
    mlops.stop()
