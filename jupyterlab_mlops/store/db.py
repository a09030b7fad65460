"""Engine, sessions and schema migration.

SQLite (WAL, foreign keys, busy timeout) is the embedded default so several processes — the
server, run workers, serving processes, the CLI — can share one store safely; any SQLAlchemy URL
works (PostgreSQL for teams). The schema is owned by alembic and upgraded on open.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from ..errors import MLOpsError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_upgrade_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """Owns the engine; hands out sessions that commit on success and roll back on error."""

    def __init__(self, url: str, *, upgrade: bool = True):
        self.url = url
        parsed = make_url(url)
        self.kind = parsed.get_backend_name()
        kwargs: dict = {"future": True}
        if self.kind == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.kind == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
            # "BEGIN IMMEDIATE" (see ``write_session``) serialises writers across processes.
            event.listen(self.engine, "connect", _disable_pysqlite_begin)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            self.upgrade()

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, safe to show in the UI and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def upgrade(self) -> None:
        """Bring the schema to the newest revision shipped with this package."""
        with _upgrade_lock, self.engine.begin() as connection:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any error, always close."""
        with self._unit_of_work(immediate=False) as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A unit of work that takes the write lock at BEGIN.

        Use it for read-then-write sequences that must not interleave between processes
        (issuing the next model version, claiming a queued run). On SQLite this is
        ``BEGIN IMMEDIATE``; elsewhere callers lock rows with ``SELECT … FOR UPDATE``.
        """
        with self._unit_of_work(immediate=True) as session:
            yield session

    @contextmanager
    def _unit_of_work(self, *, immediate: bool) -> Iterator[Session]:
        session = self._sessions()
        if immediate and self.kind == "sqlite":
            session.connection(execution_options={"mlops_immediate": True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _disable_pysqlite_begin(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection) -> None:
    if connection.get_execution_options().get("mlops_immediate"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


class SchemaError(MLOpsError):
    code = "schema_error"
    status = 500
