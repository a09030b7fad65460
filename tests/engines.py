"""Real engines for the tests: a throw-away PostgreSQL cluster, started and stopped by pytest.

The machine has Debian's PostgreSQL 15 (``/usr/lib/postgresql/<v>/bin``); nothing runs until a
test asks for it. One cluster per test session on a free port, in a temporary directory, as the
``postgres`` user when the tests run as root (the server refuses root); each test gets a database
of its own. Where no PostgreSQL is installed the PostgreSQL variants are skipped with the reason
(``make test`` installs nothing for it: the machine image has it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

PG_ROOTS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    for root in PG_ROOTS:
        if (root / "initdb").is_file():
            return root
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class PostgresCluster:
    bindir: Path
    directory: Path
    port: int
    user: str = "mlops"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.directory, postgres.pw_uid, postgres.pw_gid)
        data = self.directory / "data"
        self._run(self.bindir / "initdb", "-D", data, "-A", "trust", "-U", self.user, "-E", "UTF8")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            self.bindir / "pg_ctl",
            "-D",
            data,
            "-o",
            options,
            "-l",
            self.directory / "log",
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        try:
            self._run(
                self.bindir / "pg_ctl",
                "-D",
                self.directory / "data",
                "-m",
                "immediate",
                "-w",
                "stop",
            )
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_postgres() -> PostgresCluster | str:
    """A running cluster, or the reason there can be none here."""
    bindir = postgres_bin()
    if bindir is None:
        return "PostgreSQL is not installed (no initdb)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install 'jupyterlab_mlops[postgres]')"
    directory = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    cluster = PostgresCluster(bindir, directory, _free_port())
    cluster.start()
    return cluster


# -- an S3-compatible object store -------------------------------------------------------------


@dataclass
class S3Server:
    """moto's server mode on loopback: a stand-in for S3 (same API, in memory)."""

    process: subprocess.Popen
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environment(self) -> dict[str, str]:
        """The standard variables boto/s3fs read: what a team sets on every machine."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    @property
    def storage_options(self) -> dict:
        return {"key": "testing", "secret": "testing", "endpoint_url": self.endpoint}

    def create_bucket(self) -> str:
        import boto3

        name = f"mlops-{uuid.uuid4().hex[:10]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_s3() -> S3Server | str:
    try:
        import moto  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as err:
        return f"no S3 stand-in here ({err.name} is not installed)"
    import sys
    import time
    import urllib.request

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"moto's server exited with {process.returncode}"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return S3Server(process, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    return "moto's server did not answer within 60 s"
