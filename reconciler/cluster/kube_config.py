"""The kube backend's configuration: a kubeconfig (KUBECONFIG / `--context`) or the pod's service
account, as a kubernetes.client.Configuration (split out of reconciler/cluster/kube.py)."""

from __future__ import annotations

import os

from reconciler.errors import ClusterError


def load_configuration(context: str | None, kubeconfig: str | None):
    """A kubernetes.client.Configuration from a kubeconfig, or from the pod's service account."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG", "")
    paths = [p for p in path.split(os.pathsep) if p] if path else [os.path.expanduser("~/.kube/config")]
    existing = [p for p in paths if os.path.exists(p)]
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not existing
    try:
        if in_cluster:
            if context:
                raise ClusterError(
                    f"--context {context!r} was given, but there is no kubeconfig (running in-cluster)",
                    hint="drop --context inside a pod, or set KUBECONFIG to a kubeconfig file",
                )
            config.load_incluster_config(client_configuration=cfg)
        elif existing:
            config.load_kube_config(config_file=os.pathsep.join(existing) if len(existing) > 1 else existing[0],
                                    context=context, client_configuration=cfg, persist_config=False)
        else:
            raise ClusterError(
                f"no kubeconfig found (looked at {', '.join(paths)}) and not running inside a pod",
                hint="set KUBECONFIG to your kubeconfig file, or use --cluster local for the embedded cluster",
            )
    except ConfigException as err:
        hint = "check the kubeconfig (kubectl config get-contexts)"
        if context:
            hint = f"pick an existing context: kubectl config get-contexts; you asked for {context!r}"
        # The client's messages name files and contexts, never token values.
        raise ClusterError(f"cannot load the Kubernetes configuration: {err}", hint=hint) from None
    return cfg
