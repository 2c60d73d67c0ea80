"""The "kube" param of the scenario tests' `backend` fixture (tests/backends.py).

The CLI runs as a subprocess with `--cluster kube` and KUBECONFIG pointing at an emulator started
here, on 127.0.0.1, with token authentication and the RBAC of deploy/rbac.yaml enforced: every
scenario then also proves that the least-privilege Role/ClusterRole are enough.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import yaml

from .server import KubeEmulator

DEPLOY_RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"


LEASE_ROLE = "reconciler-lease"


def rbac_from_manifests(path: Path = DEPLOY_RBAC, lease_namespace: str = "default") -> list[tuple[str, str, str, str]]:
    """(group, resource, verb, scope) granted by deploy/rbac.yaml, bound as its comments say: Role
    `reconciler` in every namespace ("namespace"), Role `reconciler-lease` only in the Lease's
    namespace ("namespace:NAME"; a run outside a pod puts its Lease in `default`), the ClusterRole
    ("cluster")."""
    rules = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") not in ("Role", "ClusterRole"):
            continue
        if doc["kind"] == "ClusterRole":
            scope = "cluster"
        else:
            scope = f"namespace:{lease_namespace}" if doc["metadata"]["name"] == LEASE_ROLE else "namespace"
        for rule in doc.get("rules") or []:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        rules.append((group, resource, verb, scope))
    return rules


def _moment(now) -> datetime:
    if isinstance(now, datetime):
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    text = str(now)
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text).astimezone(timezone.utc)


class KubeBackend:
    name = "kube"

    def __init__(self, api: KubeEmulator, kubeconfig: Path):
        self.api = api
        self.kubeconfig = kubeconfig
        self.cli_args = ["--cluster", "kube"]
        self.env = {"KUBECONFIG": str(kubeconfig)}

    def kubelet_config(self, config: dict) -> None:
        self.api.kubelet_config = dict(config or {})

    def set_now(self, now) -> None:
        """The simulated controllers' clock follows the run's --now, as the local cluster's does."""
        self.api.set_now(_moment(now))

    def cluster(self, now=None):
        from tests.kube_reader import TestKubeCluster

        if now is not None:
            self.set_now(now)
        return TestKubeCluster(kubeconfig=str(self.kubeconfig))


@contextmanager
def kube_backend(tmp_path: Path) -> Iterator[KubeBackend]:
    with KubeEmulator(rbac=rbac_from_manifests()) as api:
        yield KubeBackend(api, api.write_kubeconfig(tmp_path / "kubeconfig"))
