"""A Kubernetes API emulator for tests: real REST protocol on 127.0.0.1, simulated controllers, faults.

    with KubeEmulator(kubelet_config={"readyAfterSeconds": {"*": 10}}) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        api.fail(method="PUT", path="/replicasets/", status=409)   # the next matching call answers 409
        api.set_now(datetime(2026, 1, 1, tzinfo=timezone.utc))     # the simulated controllers' clock
"""

from .server import STATUS_SUBRESOURCE, Fault, KubeEmulator, Request, write_kubeconfig

__all__ = ["KubeEmulator", "Fault", "Request", "STATUS_SUBRESOURCE", "write_kubeconfig"]
