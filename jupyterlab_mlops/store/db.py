"""Engine, sessions and schema migration.

SQLite (WAL, foreign keys, busy timeout) is the embedded default so several processes — the
server, run workers, serving processes, the CLI — can share one store safely; any SQLAlchemy URL
works (PostgreSQL for teams). The schema is owned by alembic and upgraded on open.
"""

from __future__ import annotations

import os
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
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import MLOpsError, StoreUnavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_upgrade_lock = threading.Lock()


#: seconds a SQLite connection waits for another process's write lock before "database is locked"
DEFAULT_BUSY_TIMEOUT = 30.0


def _sqlite_pragmas(busy_timeout: float):
    def set_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    return set_pragmas


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """Owns the engine; hands out sessions that commit on success and roll back on error."""

    def __init__(
        self, url: str, *, upgrade: bool = True, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ):
        """``busy_timeout``: how long (SQLite) a write waits for another process's lock before
        it is a :class:`StoreUnavailable` — short in the server, so a request answers 503
        instead of hanging."""
        self.url = url
        parsed = make_url(url)
        self.kind = parsed.get_backend_name()
        kwargs: dict = {"future": True}
        if self.kind == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.kind == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas(busy_timeout))
            # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
            # "BEGIN IMMEDIATE" (see ``write_session``) serialises writers across processes.
            event.listen(self.engine, "connect", _disable_pysqlite_begin)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            try:
                self.upgrade()
            except OperationalError as err:
                raise self._unavailable(err) from err

    def _unavailable(self, err: OperationalError) -> MLOpsError | OperationalError:
        """:func:`store_error`, knowing that SQLite cannot open a file on a read-only disk."""
        database = make_url(self.url).database
        if self.kind == "sqlite" and database and database != ":memory:":
            folder = Path(database).parent
            if folder.is_dir() and os.statvfs(folder).f_flag & os.ST_RDONLY:
                return StoreUnavailable(
                    f"the store {self.display_url} is on a read-only file system: nothing can "
                    "be recorded until it is writable",
                    code="store_read_only",
                    retry_after=60,
                )
        return store_error(err, self.display_url)

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
        try:
            if immediate and self.kind == "sqlite":
                session.connection(execution_options={"mlops_immediate": True})
            yield session
            session.commit()
        except OperationalError as err:
            session.rollback()
            raise self._unavailable(err) from err
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


# What the engines say when the store cannot take a transaction now (as opposed to a bug).
_BUSY = (
    "database is locked",
    "database table is locked",
    "lock timeout",
    "deadlock detected",
    "could not obtain lock",
    "could not serialize access",
)
_READ_ONLY = ("readonly database", "read-only", "read only")
_UNREACHABLE = (
    "unable to open database",
    "connection refused",
    "could not connect",
    "server closed the connection",
    "connection timed out",
    "no such host",
)


def store_error(err: OperationalError, where: str) -> MLOpsError | OperationalError:
    """The :class:`StoreUnavailable` (a 503 with ``Retry-After``) an engine error means, or the
    error itself when it is not about availability (a bug: let it surface as a 500)."""
    text = str(getattr(err, "orig", err)).lower()
    if any(marker in text for marker in _BUSY):
        return StoreUnavailable(
            "the store is busy: another process holds its write lock; retry shortly",
            code="store_busy",
            retry_after=5,
        )
    if any(marker in text for marker in _READ_ONLY):
        return StoreUnavailable(
            f"the store {where} is read-only: nothing can be recorded until it is writable",
            code="store_read_only",
            retry_after=60,
        )
    if any(marker in text for marker in _UNREACHABLE):
        return StoreUnavailable(
            f"the store {where} cannot be reached", code="store_unreachable", retry_after=10
        )
    return err


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
