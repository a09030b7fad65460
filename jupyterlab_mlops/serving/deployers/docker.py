"""Serving containers: a complete, reproducible build context, built and run with the docker SDK.

The context holds everything the image needs and nothing else:

- ``bundle/`` — the model bundle (``write_bundle``: artifact + ``mlops-model.json``), sha256-checked
  again by the serving process at start-up;
- ``app/jupyterlab_mlops/…`` — only the modules of this package the serving process imports
  (found by following its imports), not the JupyterLab extension: the image stays small;
- ``requirements.txt`` — every distribution those modules (and the model) need, with their
  dependencies, pinned to the versions recorded in the training run's environment (falling back
  to this environment);
- optionally ``wheels/`` (``pip download`` on the host, installed with ``--no-index``: air-gapped
  sites and reproducible builds) and ``extra-ca.pem`` (corporate proxies; used via ``PIP_CERT``
  in the build stage only);
- ``Dockerfile`` — two stages (the wheels and CA never reach the final image), a non-root user,
  a HEALTHCHECK on ``/health``, lineage labels;
- ``mlops-context.json`` — what was written, with the sha256 of every file.

With no engine reachable the context is still written, and the error says where.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata as metadata
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ...errors import InvalidInput, MLOpsError, Unavailable
from ...paths import ConfinedDir
from ...version import __version__
from ..keys import POLICY_FILE
from .base import Deployer, DeployerContext, Progress, free_port, no_progress, wait_healthy
from .local import ADMIN_TOKEN_ENV, admin_token, input_arguments

PACKAGE = "jupyterlab_mlops"
CONTAINER_PORT = 8080
CONTAINER_UID = 10001
LABEL_PREFIX = "io.jupyterlab-mlops"
START_TIMEOUT = 120.0
# Distributions a model flavour needs at load time beyond what the serving code imports.
FLAVOUR_DISTRIBUTIONS = {"sklearn": ["scikit-learn", "skops"]}
# uvicorn picks these up at run time when installed (faster event loop and HTTP parser); the
# image gets them when the build host has them.
RUNTIME_EXTRAS = ["uvloop", "httptools"]


# -- which code and which packages the image needs -----------------------------------------------


# (serialization, flavour, model class) -> traced closure: the same for every bundle of a kind.
_CLOSURES: dict[tuple, tuple[dict[str, Path], set[str]]] = {}

_PROBE = r"""
import asyncio, json, sys, tempfile
before = set(sys.modules)
import uvicorn  # noqa: F401 - imported by the serving CLI
from jupyterlab_mlops.serving import __main__  # noqa: F401
from jupyterlab_mlops.serving.app import create_app
with tempfile.TemporaryDirectory() as tmp:
    app = create_app(sys.argv[1], prediction_log=tmp + "/p.sqlite")
    async def lifespan():
        async with app.router.lifespan_context(app):
            pass
    asyncio.run(lifespan())
modules = {}
for name, module in list(sys.modules.items()):
    if name in before or module is None:
        continue
    modules[name] = getattr(module, "__file__", None)
print(json.dumps(modules))
"""


def _absolute_imports(path: Path) -> set[str]:
    """Top-level names of the third-party modules a file imports anywhere (lazy ones too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n != PACKAGE and n not in sys.stdlib_module_names}


def serving_closure(bundle_dir: str | Path) -> tuple[dict[str, Path], set[str]]:
    """What the serving process really imports to serve this bundle (run in a subprocess).

    Returns our modules (name -> file) and the top-level names of third-party modules. Tracing a
    real start-up (app created, model loaded) catches lazy imports that reading the code misses.
    """
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(bundle_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise MLOpsError(
            f"could not trace the serving process's imports: {tail}", code="build_failed"
        )
    loaded: dict[str, str | None] = json.loads(result.stdout.strip().splitlines()[-1])
    ours: dict[str, Path] = {}
    for name, file in loaded.items():
        if name.split(".")[0] == PACKAGE and file and file.endswith(".py"):
            ours[name] = Path(file)
    # Third-party packages our code names itself; their declared dependencies are added from
    # package metadata. Packages imported only because they happen to be installed here (an
    # optional pyarrow under pandas, pytest under skops) stay out of the image.
    external: set[str] = set()
    for file in ours.values():
        external |= _absolute_imports(file)
    return ours, external


def _distributions_for(top_level_names: Iterable[str]) -> set[str]:
    mapping = metadata.packages_distributions()
    found: set[str] = set()
    for name in top_level_names:
        for dist in mapping.get(name, []):
            found.add(canonicalize_name(dist))
    return found


def _requirement_closure(roots: Iterable[str]) -> dict[str, str]:
    """Installed distributions needed by ``roots`` (with dependencies) -> installed version."""
    environment = default_environment()
    seen: dict[str, str] = {}
    pending = [(canonicalize_name(r), set()) for r in roots]
    while pending:
        name, extras = pending.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = canonicalize_name(dist.metadata["Name"])
        first = key not in seen
        seen[key] = dist.version
        if not first and not extras:
            continue
        for raw in dist.requires or []:
            try:
                requirement = Requirement(raw)
            except InvalidRequirement:
                continue
            if requirement.marker is not None:
                active = any(
                    requirement.marker.evaluate({**environment, "extra": extra})
                    for extra in (extras or {""})
                )
                if not active:
                    continue
            dep = canonicalize_name(requirement.name)
            if dep not in seen or requirement.extras:
                pending.append((dep, set(requirement.extras)))
    return seen


def pinned_requirements(
    external: Iterable[str],
    flavour: str = "sklearn",
    extra_modules: Iterable[str] = (),
    captured: dict[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """``{distribution: version}`` for the serving code + model, and where each pin came from.

    Versions captured in the training run's environment win over this environment's, so the
    image runs the model with the library versions it was trained with.
    """
    roots = _distributions_for(set(external) | {m.split(".")[0] for m in extra_modules if m})
    roots |= {canonicalize_name(d) for d in FLAVOUR_DISTRIBUTIONS.get(flavour, [])}
    roots |= {canonicalize_name(d) for d in RUNTIME_EXTRAS}
    roots.discard(canonicalize_name(PACKAGE))
    closure = _requirement_closure(roots)
    closure.pop(canonicalize_name(PACKAGE), None)
    captured_norm = {canonicalize_name(k): str(v) for k, v in (captured or {}).items()}
    pins: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, version in sorted(closure.items()):
        if name in captured_norm:
            pins[name], sources[name] = captured_norm[name], "run"
        else:
            pins[name], sources[name] = version, "environment"
    return pins, sources


# -- the build context -------------------------------------------------------------------------


def image_repository(model_name: str) -> str:
    """``mlops-<model>``, lowered and restricted to what an image name allows."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", model_name.lower()).strip("-._") or "model"
    return f"mlops-{slug}"[:128]


def image_tag(model_name: str, version: int) -> str:
    return f"{image_repository(model_name)}:{int(version)}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lineage_labels(manifest: dict[str, Any]) -> dict[str, str]:
    lineage = manifest.get("lineage") or {}
    labels = {
        f"{LABEL_PREFIX}.model": str(manifest.get("name", "")),
        f"{LABEL_PREFIX}.version": str(manifest.get("version", "")),
        f"{LABEL_PREFIX}.artifact-sha256": str(manifest.get("artifact_sha256", "")),
        f"{LABEL_PREFIX}.serialization": str(manifest.get("serialization", "")),
        f"{LABEL_PREFIX}.run-id": str(lineage.get("run_id") or ""),
        f"{LABEL_PREFIX}.notebook-path": str(lineage.get("notebook_path") or ""),
        f"{LABEL_PREFIX}.notebook-sha256": str(lineage.get("notebook_sha256") or ""),
        f"{LABEL_PREFIX}.git-commit": str(lineage.get("git_commit") or ""),
        f"{LABEL_PREFIX}.serving-version": __version__,
        "org.opencontainers.image.title": image_repository(str(manifest.get("name", ""))),
        "org.opencontainers.image.version": str(manifest.get("version", "")),
    }
    return labels


def render_dockerfile(
    base_image: str, labels: dict[str, str], *, wheels: bool, extra_ca: bool
) -> str:
    install = "/opt/venv/bin/pip install --no-compile"
    if wheels:
        install += " --no-index --find-links /tmp/build/wheels"
    install += " -r /tmp/build/requirements.txt"
    lines = [
        "# Generated by jupyterlab-mlops: serving image for one model version.",
        f"FROM {base_image} AS build",
        "ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore",
        "COPY requirements.txt /tmp/build/requirements.txt",
    ]
    if wheels:
        lines.append("COPY wheels/ /tmp/build/wheels/")
    if extra_ca:
        lines.append("COPY extra-ca.pem /tmp/build/extra-ca.pem")
        lines.append("ENV PIP_CERT=/tmp/build/extra-ca.pem")
    lines += [
        # Test suites shipped inside wheels (pandas, scipy, numpy, …) are never imported when
        # serving: dropping them keeps the image small.
        f"RUN python3 -m venv /opt/venv && {install} \\\n"
        "    && find /opt/venv/lib -depth -type d \\( -name tests -o -name __pycache__ \\) "
        "-exec rm -rf {} +",
        "",
        f"FROM {base_image}",
    ]
    health = (
        "import sys, urllib.request; "
        f"sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{CONTAINER_PORT}/health', "
        "timeout=3).status == 200 else 1)"
    )
    cmd = container_command()
    # Stable, heavy layers first (the environment), per-model layers last: a new model version
    # rebuilds only its bundle and labels.
    lines += [
        "ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/opt/mlops/app PYTHONUNBUFFERED=1 "
        "PYTHONDONTWRITEBYTECODE=1 HOME=/var/lib/mlops",
        "COPY --from=build /opt/venv /opt/venv",
        f"RUN mkdir -p /var/lib/mlops && chown {CONTAINER_UID}:{CONTAINER_UID} /var/lib/mlops",
        "COPY app/ /opt/mlops/app/",
        "COPY bundle/ /opt/mlops/bundle/",
        "LABEL "
        + " \\\n      ".join(f"{key}={json.dumps(value)}" for key, value in sorted(labels.items())),
        f"USER {CONTAINER_UID}:{CONTAINER_UID}",
        "WORKDIR /var/lib/mlops",
        f"EXPOSE {CONTAINER_PORT}",
        "HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 "
        f"CMD {json.dumps(['python', '-c', health])}",
        f"CMD {json.dumps(cmd)}",
        "",
    ]
    return "\n".join(lines)


def container_command() -> list[str]:
    """The image's CMD: serve the bundle on every interface of the container."""
    return [
        "python",
        "-m",
        "jupyterlab_mlops.serving",
        "--bundle",
        "/opt/mlops/bundle",
        "--host",
        "0.0.0.0",
        "--port",
        str(CONTAINER_PORT),
        "--prediction-log",
        "/var/lib/mlops/predictions.sqlite",
    ]


def _copy_app(modules: dict[str, Path], dest: ConfinedDir) -> list[str]:
    """The serving modules under ``app/`` of the context (``dest``), through its writer."""
    package_root = Path(importlib.util.find_spec(PACKAGE).origin).parent  # type: ignore[union-attr]
    copied = []
    for _module, path in sorted(modules.items()):
        relative = path.relative_to(package_root.parent)
        dest.write(f"app/{relative.as_posix()}", path.read_bytes())
        copied.append(relative.as_posix())
    # _version.py is generated at build time; make sure the package imports without package.json.
    if f"{PACKAGE}/_version.py" not in copied:
        dest.write(f"app/{PACKAGE}/_version.py", f'__version__ = "{__version__}"\n'.encode())
        copied.append(f"{PACKAGE}/_version.py")
    return copied


def image_needs(
    bundles: Any,
    version: dict[str, Any],
    manifest: dict[str, Any],
    bundle_dir: Path,
    progress: Progress = no_progress,
) -> tuple[dict[str, Path], dict[str, str], dict[str, str]]:
    """Our modules, the pinned distributions and where each pin came from, for one bundle.

    What an image for ``version`` must hold; alias following compares it with a running image
    to decide whether the new version can be served by that image's environment."""
    key = (manifest.get("serialization"), manifest.get("flavour"), manifest.get("model_class"))
    if key not in _CLOSURES:
        progress("tracing what the serving process imports")
        _CLOSURES[key] = serving_closure(bundle_dir)
    modules, external = _CLOSURES[key]
    model_module = (version.get("model_class") or "").split(".")[0]
    pins, sources = pinned_requirements(
        external,
        version.get("flavour") or "sklearn",
        [model_module],
        bundles.training_packages(version),
    )
    return modules, pins, sources


def app_file_names(modules: dict[str, Path]) -> list[str]:
    """The paths (relative to the app directory) ``_copy_app`` gives ``modules``."""
    package_root = Path(importlib.util.find_spec(PACKAGE).origin).parent  # type: ignore[union-attr]
    return sorted(path.relative_to(package_root.parent).as_posix() for path in modules.values())


def download_wheels(requirements: Path, dest: Path, progress: Progress = no_progress) -> None:
    """``pip download`` the pinned wheels on the host (uses the host's pip config and CA)."""
    dest.mkdir(parents=True, exist_ok=True)
    progress("downloading pinned wheels on the host (pip download)")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "-q",
        "-r",
        str(requirements),
        "-d",
        str(dest),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise Unavailable(
            "pip download of the pinned wheels failed: "
            + (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        )


def write_context(
    source: DeployerContext | Any,
    ref: str,
    dest: str | Path,
    *,
    base_image: str | None = None,
    extra_ca_bundle: str | None = None,
    prefetch_wheels: bool | None = None,
    progress: Progress = no_progress,
    root: str | Path | None = None,
) -> dict[str, Any]:
    """Write a complete docker build context for model ``ref`` into ``dest``; return its summary.

    ``source`` is the deployers' context (or anything whose ``deployments.deployer_context`` is
    one: an ``MLOps``, for the CLI); the keyword arguments override its settings. Every file is
    written through :class:`~jupyterlab_mlops.paths.ConfinedDir` below ``root`` (``dest``'s
    parent by default): a symlink planted in the context is replaced or refused with a 403,
    never written through.
    """
    context = source if isinstance(source, DeployerContext) else source.deployments.deployer_context
    bundles = context.bundles
    dest = Path(dest)
    if dest.is_symlink():
        dest.unlink()  # the link goes, never what it points at
    elif dest.exists():
        shutil.rmtree(dest)
    base = dest.parent if root is None else Path(root)
    confined = ConfinedDir(base, os.path.relpath(dest, base))
    confined.make_dirs()
    base_image = base_image or context.docker_base_image
    extra_ca = extra_ca_bundle if extra_ca_bundle is not None else context.docker_extra_ca_bundle
    wheels = context.docker_prefetch_wheels if prefetch_wheels is None else prefetch_wheels

    progress(f"writing the model bundle for {ref}")
    version = bundles.versions.resolve(ref)
    manifest = bundles.write(f"{version['name']}/{version['version']}", dest / "bundle", root=base)
    modules, pins, sources = image_needs(bundles, version, manifest, dest / "bundle", progress)
    app_files = _copy_app(modules, confined)
    progress(f"copied {len(app_files)} modules of the serving app")
    from_run = sum(s == "run" for s in sources.values())
    header = [
        f"# Pinned for {version['name']} v{version['version']} by jupyterlab-mlops {__version__}.",
        f"# Versions from the training run's environment: {from_run}"
        f"; from the build host: {len(sources) - from_run}.",
    ]
    requirements = confined.write(
        "requirements.txt",
        ("\n".join(header + [f"{name}=={pin}" for name, pin in pins.items()]) + "\n").encode(),
    )
    progress(f"requirements.txt: {len(pins)} pinned distributions")

    if extra_ca:
        ca_path = Path(extra_ca)
        if not ca_path.is_file():
            raise InvalidInput(f"docker_extra_ca_bundle {extra_ca!r} is not a file")
        confined.write("extra-ca.pem", ca_path.read_bytes())
    if wheels:
        # pip follows links where it writes: it downloads to a private directory, and each
        # wheel is written into the context through the confined writer.
        with tempfile.TemporaryDirectory(prefix="mlops-wheels-") as private:
            download_wheels(requirements, Path(private), progress)
            for wheel in sorted(Path(private).iterdir()):
                with wheel.open("rb") as handle:
                    confined.write(
                        f"wheels/{wheel.name}", iter(lambda h=handle: h.read(1 << 20), b"")
                    )

    labels = lineage_labels(manifest)
    dockerfile = render_dockerfile(base_image, labels, wheels=bool(wheels), extra_ca=bool(extra_ca))
    confined.write("Dockerfile", dockerfile.encode())
    confined.write(".dockerignore", b"mlops-context.json\n")
    # COPY keeps modes: the writer gives files 0644 and directories 0755, so the non-root user
    # can read everything and identical contexts hash identically. Links are not followed.
    files = {
        p.relative_to(dest).as_posix(): _sha256(p)
        for p in sorted(dest.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
    summary = {
        "context_dir": str(dest),
        "model": version["name"],
        "version": version["version"],
        "image": image_tag(version["name"], version["version"]),
        "base_image": base_image,
        "labels": labels,
        "requirements": pins,
        "requirement_sources": sources,
        "app_files": app_files,
        "prefetched_wheels": bool(wheels),
        "extra_ca_bundle": bool(extra_ca),
        "files": files,
    }
    confined.write("mlops-context.json", json.dumps(summary, indent=2).encode())
    return summary


# -- alias following inside a running container ---------------------------------------------

# Where followed versions' bundles are copied in a container: root-owned, read-only to the
# serving user, kept across container restarts (the container's own layer).
DELIVERED_BUNDLES = "/opt/mlops/bundles"

# Run in the container (`docker exec`, as its serving user): the copied bundle must hash to the
# registry's sha256 — the manifest and the model file both — before the serving process is
# asked over its loopback to swap it in. Loading checks the hash again and never unpickles.
_SWITCH = r"""
import hashlib, json, os, sys, urllib.error, urllib.request
bundle, expected, port = sys.argv[1], sys.argv[2].lower(), sys.argv[3]
with open(os.path.join(bundle, "mlops-model.json")) as handle:
    manifest = json.load(handle)
model_file = manifest.get("model_file") or "model." + manifest["serialization"]
digest = hashlib.sha256()
with open(os.path.join(bundle, model_file), "rb") as handle:
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
if str(manifest.get("artifact_sha256")).lower() != expected or digest.hexdigest() != expected:
    print(json.dumps({"error": f"{bundle} hashes to {digest.hexdigest()}, not {expected}"}))
    sys.exit(3)
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/admin/reload",
    data=json.dumps({"bundle": bundle}).encode(),
    headers={
        "Content-Type": "application/json",
        "Authorization": "Bearer " + os.environ["MLOPS_SERVING_ADMIN_TOKEN"],
    },
    method="POST",
)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(request, timeout=120) as response:
        print(response.read().decode())
except urllib.error.HTTPError as err:
    print(json.dumps({"error": f"HTTP {err.code}: {err.read().decode()[:500]}"}))
    sys.exit(4)
"""


def bundle_archive(bundle_dir: Path, target: Path) -> bytes:
    """A tar of the bundle's files under ``target`` (relative), root-owned, world-readable."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for depth in range(1, len(target.parts) + 1):
            directory = tarfile.TarInfo(Path(*target.parts[:depth]).as_posix())
            directory.type, directory.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(directory)
        for path in sorted(bundle_dir.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            info = tarfile.TarInfo((target / path.name).as_posix())
            info.size, info.mode, info.mtime = path.stat().st_size, 0o644, int(time.time())
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()


# -- the engine ----------------------------------------------------------------------------------


def docker_client(timeout: int = 600):
    """A docker SDK client for ``DOCKER_HOST`` (or the default socket), or ``Unavailable``."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as err:  # docker raises DockerException, requests errors, FileNotFoundError
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        raise Unavailable(f"no Docker engine reachable at {where} ({err})") from None
    return client


def build_image(
    client, context_dir: str | Path, tag: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """Build with the low-level API, streaming the build output to ``progress``."""
    started = time.monotonic()
    image_id = None
    for chunk in client.api.build(
        path=str(context_dir), tag=tag, rm=True, forcerm=True, pull=False, decode=True
    ):
        if "error" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            raise MLOpsError(f"docker build of {tag} failed: {detail.strip()}", code="build_failed")
        if "stream" in chunk:
            for line in chunk["stream"].splitlines():
                if line.strip():
                    progress(line)
        elif "status" in chunk:
            progress(chunk["status"])
        aux = chunk.get("aux") or {}
        if "ID" in aux:
            image_id = aux["ID"]
    image = client.images.get(tag)
    size = int(image.attrs.get("Size") or 0)
    seconds = time.monotonic() - started
    progress(f"built {tag} ({size / 1e6:.0f} MB) in {seconds:.1f}s")
    return {"image": tag, "image_id": image_id or image.id, "size": size, "seconds": seconds}


class DockerDeployer(Deployer):
    target = "docker"

    def start(self, deployment: dict[str, Any], progress: Progress = no_progress) -> dict[str, Any]:
        summary, build = self._build(deployment, Path(deployment["context_dir"]), progress)
        return self._run(deployment, summary, build, free_port(), progress)

    def _build(
        self, deployment: dict[str, Any], context_dir: Path, progress: Progress
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Write the context of the record's version into ``context_dir`` and build its image."""
        ref = f"{deployment['model']}/{deployment['version']}"
        summary = write_context(
            self.context, ref, context_dir, progress=progress, root=self.context.deployments_dir
        )
        try:
            client = docker_client()
        except Unavailable as err:
            raise Unavailable(
                f"{err.message}. The build context was written to {context_dir}; build it with "
                f"`docker build -t {summary['image']} {context_dir}`.",
                details={"context_dir": str(context_dir), "image": summary["image"]},
            ) from None
        return summary, build_image(client, context_dir, summary["image"], progress)

    def _run(
        self,
        deployment: dict[str, Any],
        summary: dict[str, Any],
        build: dict[str, Any],
        port: int,
        progress: Progress,
    ) -> dict[str, Any]:
        """Run the built image as the deployment's container on ``127.0.0.1:port``."""
        client = docker_client()
        name = f"mlops-{deployment['id']}"
        try:
            client.containers.get(name).remove(force=True)
        except Exception:  # noqa: BLE001 - no such container is the normal case
            pass
        # The prediction log lives on the host (the drift monitor reads it there): mount a
        # directory the container's non-root user can write.
        data_dir = Path(deployment["prediction_log"]).parent / "container-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o777)
        progress(f"starting container {name} on 127.0.0.1:{port}")
        command = [*container_command(), *input_arguments(deployment.get("config") or {})]
        if (data_dir / POLICY_FILE).is_file():
            command += ["--security-file", f"/var/lib/mlops/{POLICY_FILE}"]
        container = client.containers.run(
            summary["image"],
            command=command,
            name=name,
            detach=True,
            ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", port)},
            volumes={str(data_dir): {"bind": "/var/lib/mlops", "mode": "rw"}},
            labels={**summary["labels"], f"{LABEL_PREFIX}.deployment": deployment["id"]},
            # The admin API (hot swap) answers the container's own loopback only: alias
            # following reaches it with `docker exec`, never through the published port.
            environment={ADMIN_TOKEN_ENV: admin_token(Path(deployment["log_path"]).parent)},
        )
        url = f"http://127.0.0.1:{port}"

        def alive() -> bool:
            container.reload()
            return container.status in ("created", "running")

        try:
            wait_healthy(
                url,
                timeout=START_TIMEOUT,
                alive=alive,
                describe=lambda: (
                    "Container log:\n" + container.logs(tail=15).decode("utf-8", "replace")
                ),
            )
        except Unavailable:
            container.remove(force=True)
            raise
        progress(f"healthy at {url}")
        return {
            "url": url,
            "port": port,
            "host": "127.0.0.1",
            "prediction_log": str(data_dir / "predictions.sqlite"),
            "image": summary["image"],
            "container_id": container.id,
            "image_size": build["size"],
        }

    # -- alias following ----------------------------------------------------------------------

    def reload(self, deployment: dict[str, Any], bundle_dir: str) -> dict[str, Any]:
        """Serve ``deployment["version"]`` from the running container, no request dropped.

        The new bundle is copied into the container and swapped in by its serving process
        (the hot swap of local deployments). A version the running image cannot serve — other
        pinned packages or serialization, or a container started before the admin API was
        passed to it — gets a new image and a new container on the same host port instead."""
        container = self._container(deployment)
        if container is None or container.status != "running":
            raise Unavailable(f"the container of deployment {deployment['id']} is not running")
        ref = f"{deployment['model']}/{deployment['version']}"
        manifest = self.context.bundles.write(ref, bundle_dir, root=self.context.deployments_dir)
        environment = (container.attrs.get("Config") or {}).get("Env") or []
        blocker = self.in_place_blocker(deployment, environment, manifest, Path(bundle_dir))
        if blocker is not None:
            return self._replace(deployment, blocker)
        self._switch_in_place(container, Path(bundle_dir), manifest)
        return {"status_reason": f"swapped in place in container {container.name}"}

    def in_place_blocker(
        self,
        deployment: dict[str, Any],
        environment: list[str],
        manifest: dict[str, Any],
        bundle_dir: Path,
    ) -> str | None:
        """Why the running image cannot serve this bundle (``None``: it can, in place).

        ``environment``: the container's ``KEY=value`` list (``docker inspect``)."""
        if not any(item.startswith(f"{ADMIN_TOKEN_ENV}=") for item in environment):
            return "the container was started without the admin API"
        summary_path = Path(deployment["context_dir"]) / "mlops-context.json"
        try:
            image = json.loads(summary_path.read_text())
        except (OSError, ValueError):
            return f"the running image's build summary {summary_path} is unreadable"
        served = (image.get("labels") or {}).get(f"{LABEL_PREFIX}.serialization")
        if served != manifest.get("serialization"):
            return f"the image serves {served} models, v{manifest['version']} is " + str(
                manifest.get("serialization")
            )
        version = self.context.bundles.versions.resolve(f"{manifest['name']}/{manifest['version']}")
        modules, pins, _ = image_needs(self.context.bundles, version, manifest, bundle_dir)
        missing = sorted(set(app_file_names(modules)) - set(image.get("app_files") or []))
        if missing:
            return f"the image lacks serving modules {', '.join(missing[:3])}"
        has = {canonicalize_name(k): v for k, v in (image.get("requirements") or {}).items()}
        changed = [
            f"{name}=={pin} (the image has {has.get(name) or 'none'})"
            for name, pin in pins.items()
            if has.get(name) != pin
        ]
        if changed:
            return f"v{manifest['version']} needs " + ", ".join(changed[:3])
        return None

    def _switch_in_place(self, container: Any, bundle_dir: Path, manifest: dict[str, Any]) -> None:
        """Copy the bundle into the container, check its sha256 there, hot-swap it."""
        delivered = Path(DELIVERED_BUNDLES)
        target = delivered / f"v{int(manifest['version'])}"
        archive = bundle_archive(bundle_dir, target.relative_to(delivered.parent))
        if not container.put_archive(str(delivered.parent), archive):
            raise Unavailable(f"could not copy the bundle into container {container.name}")
        code, output = container.exec_run(
            ["python", "-c", _SWITCH, str(target), manifest["artifact_sha256"], str(CONTAINER_PORT)]
        )
        text = output.decode("utf-8", "replace").strip()
        try:
            answer = json.loads(text.splitlines()[-1]) if text else {}
        except ValueError:
            answer = {"error": text[-500:]}
        if code != 0 or answer.get("version") != manifest["version"]:
            raise Unavailable(
                f"container {container.name} did not swap to v{manifest['version']}: "
                + str(answer.get("error") or text[-500:])
            )

    def _replace(self, deployment: dict[str, Any], why: str) -> dict[str, Any]:
        """A new image and container for the record's version, on the old container's port.

        Built while the old container serves; requests sent between its stop and the new
        container's first answer fail, so this is the fallback, not the rule."""
        context_dir = Path(deployment["context_dir"])
        next_dir = context_dir.with_name(context_dir.name + ".next")
        summary, build = self._build(deployment, next_dir, no_progress)
        summary["context_dir"] = str(context_dir)
        (next_dir / "mlops-context.json").write_text(json.dumps(summary, indent=2))
        shutil.rmtree(context_dir, ignore_errors=True)
        next_dir.rename(context_dir)
        old = self._container(deployment)
        if old is not None:
            old.remove(force=True)
        fields = self._run(deployment, summary, build, int(deployment["port"]), no_progress)
        return {**fields, "status_reason": f"restarted in a new image: {why}"}

    def _container(self, deployment: dict[str, Any]):
        if not deployment.get("container_id"):
            return None
        try:
            client = docker_client(timeout=5)
            return client.containers.get(deployment["container_id"])
        except Exception:  # noqa: BLE001 - engine gone or container removed: nothing to act on
            return None

    def stop(self, deployment: dict[str, Any]) -> None:
        container = self._container(deployment)
        if container is not None:
            container.stop(timeout=10)

    def remove(self, deployment: dict[str, Any]) -> None:
        container = self._container(deployment)
        if container is not None:
            container.remove(force=True)

    def is_alive(self, deployment: dict[str, Any]) -> bool:
        container = self._container(deployment)
        return container is not None and container.status == "running"

    def failure(self, deployment: dict[str, Any]) -> str | None:
        """From ``docker inspect``: exited (with its code), dead, OOM-killed, or removed."""
        if not deployment.get("container_id"):
            return "the deployment has no container"
        docker_client(timeout=5)  # an unreachable engine raises: nothing is concluded
        container = self._container(deployment)
        if container is None:
            return f"the container {deployment['container_id'][:12]} is gone"
        state = container.attrs.get("State") or {}
        status = state.get("Status") or container.status
        if status in ("running", "created", "restarting"):
            return None
        detail = f"exit code {state.get('ExitCode')}"
        if state.get("OOMKilled"):
            detail = "OOMKilled: the container ran out of memory; " + detail
        if state.get("Error"):
            detail += f"; {state['Error']}"
        return f"the container {container.name} is {status} ({detail})"

    def restart(
        self, deployment: dict[str, Any], progress: Progress = no_progress
    ) -> dict[str, Any]:
        container = self._container(deployment)
        if container is None:
            return self.start(deployment, progress)
        progress(f"restarting container {container.name}")
        container.restart(timeout=10)
        health = wait_healthy(deployment["url"], timeout=START_TIMEOUT)
        if health.get("version") != deployment["version"]:
            # The image's CMD serves the version it was built for; a version that alias
            # following swapped in since is swapped in again.
            bundle_dir = Path(deployment["bundle_dir"])
            ref = f"{deployment['model']}/{deployment['version']}"
            manifest = self.context.bundles.write(
                ref, bundle_dir, root=self.context.deployments_dir
            )
            progress(f"serving v{deployment['version']} again (followed since the image)")
            self._switch_in_place(container, bundle_dir, manifest)
        return {"status": "running"}

    def logs(self, deployment: dict[str, Any], tail: int = 200) -> str:
        container = self._container(deployment)
        if container is None:
            return ""
        return container.logs(tail=tail).decode("utf-8", "replace")
