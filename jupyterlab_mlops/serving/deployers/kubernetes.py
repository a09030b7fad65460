"""Kubernetes: Deployment + Service manifests for the image the docker deployer builds.

No cluster is contacted: the manifests are written next to the build context
(``<root>/.mlops/deployments/<id>/kubernetes.yaml``) for ``kubectl apply -f`` or a GitOps repo.
When a Docker engine is reachable the image is built too, so the manifests reference an image
that exists (push it to the cluster's registry first).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ...errors import Unavailable
from ..keys import POLICY_FILE, policy_path
from .base import Deployer, Progress, no_progress
from .docker import (
    CONTAINER_PORT,
    CONTAINER_UID,
    LABEL_PREFIX,
    build_image,
    container_command,
    docker_client,
    write_context,
)
from .local import input_arguments

DEFAULT_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}


def k8s_name(text: str) -> str:
    """An RFC 1123 label: lower-case alphanumerics and '-', at most 63 characters."""
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return (slug or "model")[:63].rstrip("-")


def render_manifests(
    *,
    name: str,
    image: str,
    labels: dict[str, str],
    namespace: str = "default",
    replicas: int = 1,
    resources: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    command: list[str] | None = None,
) -> list[dict[str, Any]]:
    """A Deployment (probes on /health, resources, non-root) and a ClusterIP Service; with a
    ``policy`` (API-key hashes, allowed hosts/origins) a Secret mounted for the process."""
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "jupyterlab-mlops"}
    # Label values must be <= 63 chars of [A-Za-z0-9-_.]; lineage goes into annotations.
    annotations = {k: v for k, v in labels.items() if v}
    probe = {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 5}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": selector,
            "annotations": annotations,
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector, "annotations": annotations},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": CONTAINER_UID,
                        "runAsGroup": CONTAINER_UID,
                    },
                    "containers": [
                        {
                            "name": "model",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
                            "readinessProbe": {
                                **probe,
                                "initialDelaySeconds": 3,
                                "periodSeconds": 5,
                                "failureThreshold": 3,
                            },
                            "livenessProbe": {
                                **probe,
                                "initialDelaySeconds": 30,
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                            },
                            "resources": resources or DEFAULT_RESOURCES,
                            "securityContext": {"allowPrivilegeEscalation": False},
                        }
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": selector},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    if command is not None:
        deployment["spec"]["template"]["spec"]["containers"][0]["command"] = command
    if policy is None:
        return [deployment, service]
    secret_name = f"{name}-serving-policy"[:253]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": namespace, "labels": selector},
        "type": "Opaque",
        "stringData": {POLICY_FILE: json.dumps(policy)},
    }
    pod = deployment["spec"]["template"]["spec"]
    pod["volumes"] = [{"name": "policy", "secret": {"secretName": secret_name}}]
    container = pod["containers"][0]
    container["volumeMounts"] = [{"name": "policy", "mountPath": "/etc/mlops", "readOnly": True}]
    container["command"] = [
        *(command or container_command()),
        "--security-file",
        f"/etc/mlops/{POLICY_FILE}",
    ]
    # the Service's names answer as Host (in-cluster callers), besides IPs and loopback
    hosts = policy.setdefault("allowed_hosts", [])
    for host in (
        name,
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.cluster.local",
    ):
        if host not in hosts:
            hosts.append(host)
    secret["stringData"][POLICY_FILE] = json.dumps(policy)
    return [deployment, service, secret]


def _read_policy(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


class KubernetesDeployer(Deployer):
    target = "kubernetes"

    def start(self, deployment: dict[str, Any], progress: Progress = no_progress) -> dict[str, Any]:
        context_dir = Path(deployment["context_dir"])
        ref = f"{deployment['model']}/{deployment['version']}"
        summary = write_context(
            self.context, ref, context_dir, progress=progress, root=self.context.deployments_dir
        )
        config = deployment.get("config") or {}
        name = k8s_name(deployment["name"])
        namespace = k8s_name(config.get("namespace") or "default")
        manifests = render_manifests(
            name=name,
            image=summary["image"],
            labels={**summary["labels"], f"{LABEL_PREFIX}.deployment": deployment["id"]},
            namespace=namespace,
            replicas=int(config.get("replicas") or 1),
            resources=config.get("resources"),
            policy=_read_policy(policy_path(deployment)),
            command=[*container_command(), *input_arguments(config)],
        )
        path = Path(deployment["manifest_path"])
        path.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
        progress(f"wrote {path}")
        image_built = False
        try:
            client = docker_client()
        except Unavailable:
            progress("no Docker engine reachable: build the image from the context yourself")
        else:
            build_image(client, context_dir, summary["image"], progress)
            image_built = True
        return {
            "url": f"http://{name}.{namespace}.svc.cluster.local",
            "image": summary["image"],
            "status": "written",
            "status_reason": (
                f"manifests written to {path}; apply with `kubectl apply -f {path}`"
                + ("" if image_built else f" after building the image from {context_dir}")
            ),
        }

    def stop(self, deployment: dict[str, Any]) -> None:
        return None

    def is_alive(self, deployment: dict[str, Any]) -> bool:
        return False

    def logs(self, deployment: dict[str, Any], tail: int = 200) -> str:
        path = deployment.get("manifest_path")
        if path and Path(path).is_file():
            return Path(path).read_text()
        return ""
