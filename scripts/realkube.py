#!/usr/bin/env python3
"""A real Kubernetes control plane for the tests: etcd + kube-apiserver (+ kube-controller-manager
and simulated nodes) on 127.0.0.1, built from the Kubernetes Go modules.

    scripts/realkube.sh setup                      # build (or find cached) binaries; prints their dir
    scripts/realkube.sh start [--with-controllers] # prints the admin kubeconfig path as its last line
    scripts/realkube.sh stop DIR|KUBECONFIG        # stops what `start` started (PID files), removes DIR
    scripts/realkube.sh status                     # what `setup` would use, and why a piece is missing

`setup` builds `kube-apiserver` and `kube-controller-manager` from the wrapper Go module in
scripts/realkube/ (go.mod pins k8s.io/kubernetes and its staging modules) into
~/.cache/reconciler-realkube/<version>/. GOCACHE and GOMODCACHE stay at Go's defaults, so only a
fresh machine pays for the cold build. etcd is Debian's `etcd-server` (/usr/bin/etcd) or
$REALKUBE_ETCD. A failed build leaves `setup-failed` (the reason) next to where the binaries go,
which the tests quote when they skip.

`start` generates a CA, serving and client certificates (openssl) and a service-account signing
key, runs etcd and kube-apiserver with `--authorization-mode=RBAC` on free loopback ports, waits
for /readyz, installs the Argo Rollouts and Istio CRDs from ../shared/reference/crds and waits for
them to be served. `--with-controllers` also runs kube-controller-manager and `nodes` (a small
simulated kubelet of ours, below) that binds Pods to a fake Node and marks them Running and Ready,
or Succeeded/Failed for Job pods (a container whose command ends in `exit N` exits N).
Processes are found again only through the PID files in the state directory, never by name.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULE = HERE / "realkube"
ROOT = HERE.parent
CRDS = [ROOT.parent / "shared" / "reference" / "crds", ROOT / ".." / "shared" / "reference" / "crds"]
COMMANDS = ("kube-apiserver", "kube-controller-manager")
NODE_NAME = "realkube-node"


def version() -> str:
    """The k8s.io/kubernetes version pinned in scripts/realkube/go.mod."""
    match = re.search(r"^require k8s\.io/kubernetes (v\S+)", (MODULE / "go.mod").read_text(), re.M)
    if not match:
        raise SystemExit("scripts/realkube/go.mod does not require k8s.io/kubernetes")
    return match.group(1)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reconciler-realkube" / version()


def etcd_binary() -> str | None:
    return os.environ.get("REALKUBE_ETCD") or shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").exists() else None)


def missing() -> list[str]:
    """Why the control plane cannot start here (empty when it can)."""
    reasons = []
    built = cache_dir()
    if not (built / "kube-apiserver").exists():
        failed = built / "setup-failed"
        why = failed.read_text().strip() if failed.exists() else "run scripts/realkube.sh setup"
        reasons.append(f"kube-apiserver {version()} is not built in {built} ({why})")
    if etcd_binary() is None:
        reasons.append("etcd is not installed (apt-get install etcd-server, or set REALKUBE_ETCD)")
    if shutil.which("openssl") is None:
        reasons.append("openssl is not installed (apt-get install openssl)")
    return reasons


# -- setup ---------------------------------------------------------------------------------------


def setup() -> int:
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    failed = out / "setup-failed"
    log_path = out / "setup.log"
    if all((out / c).exists() for c in COMMANDS):
        print(f"cached: {', '.join(COMMANDS)} {version()} in {out}")
        failed.unlink(missing_ok=True)
        print(out)
        return 0
    go = shutil.which("go")
    if go is None:
        failed.write_text("no Go toolchain on PATH: install Go 1.26 or newer, then run scripts/realkube.sh setup\n")
        print(failed.read_text(), file=sys.stderr, end="")
        return 1
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "")
    ldflags = " ".join(
        f"-X k8s.io/component-base/version.{k}={v}"
        for k, v in (("gitVersion", version()), ("gitMajor", version()[1:].split(".")[0]), ("gitMinor", version().split(".")[1]),
                     ("gitTreeState", "clean"))
    )
    with open(log_path, "a") as log:
        for command in COMMANDS:
            if (out / command).exists():
                continue
            started = time.monotonic()
            target = out / f".{command}.partial"
            argv = ["nice", "-n", "15", go, "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", str(target),
                    f"k8s.io/kubernetes/cmd/{command}"]
            print(f"building {command} {version()} (a cold build takes 15-30 minutes on 2 cores; log: {log_path})", flush=True)
            log.write(f"$ {' '.join(argv)}\n")
            log.flush()
            proc = subprocess.run(argv, cwd=MODULE, env=env, stdout=log, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
                failed.write_text(f"go build of {command} {version()} failed (exit {proc.returncode}); see {log_path}: "
                                  + " | ".join(tail) + "\n")
                print(failed.read_text(), file=sys.stderr, end="")
                return 1
            target.rename(out / command)
            took = time.monotonic() - started
            log.write(f"built {command} in {took:.0f}s\n")
            print(f"built {command} in {took:.0f}s")
    failed.unlink(missing_ok=True)
    print(out)
    return 0


# -- certificates --------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certificates(pki: Path) -> None:
    pki.mkdir(parents=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=realkube-ca", "-days", "3", cwd=pki)
    leaves = {
        "apiserver": ("/CN=kube-apiserver", "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"),
        "admin": ("/O=system:masters/CN=realkube-admin", "clientAuth", None),
        "apiserver-kubelet-client": ("/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth", None),
    }
    for name, (subject, usage, san) in leaves.items():
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=pki)
        ext = pki / f"{name}.ext"
        ext.write_text(f"extendedKeyUsage={usage}\nkeyUsage=digitalSignature,keyEncipherment\n" + (f"{san}\n" if san else ""))
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "3", "-extfile", ext.name, cwd=pki)
    # The service-account token signing key (TokenRequest, the controllers' tokens).
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key", cwd=pki)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    for path in pki.glob("*.key"):
        path.chmod(0o600)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, server: str, pki: Path, *, token: str | None = None, user: str = "admin") -> Path:
    """A kubeconfig (JSON is YAML) with everything embedded, for the admin certificate or a token."""
    credentials = {"token": token} if token else {"client-certificate-data": _b64(pki / "admin.crt"),
                                                    "client-key-data": _b64(pki / "admin.key")}
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "realkube",
        "clusters": [{"name": "realkube", "cluster": {"server": server, "certificate-authority-data": _b64(pki / "ca.crt")}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": "realkube", "context": {"cluster": "realkube", "user": user, "namespace": "default"}}],
    }
    path.write_text(json.dumps(config, indent=1))
    path.chmod(0o600)
    return path


# -- a tiny admin client (stdlib only: `start` and `nodes` run before any venv exists) -------------


class Admin:
    def __init__(self, server: str, pki: Path):
        self.server = server
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def call(self, method: str, path: str, body=None, content_type: str = "application/json", timeout: float = 30) -> tuple[int, dict]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.server + path, data=data, method=method,
                                         headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else {}
        except ValueError:
            return status, {"raw": raw.decode(errors="replace")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(state: Path, name: str, argv: list[str]) -> int:
    log = open(state / f"{name}.log", "ab")  # noqa: SIM115 -- the detached child keeps writing to it after we return
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, cwd=state)
    (state / "pids").mkdir(exist_ok=True)
    # The whole command line, so `stop` can tell this process from another that reused its PID
    # (a bare program name such as `python` would match every Python process, the test runner too).
    (state / "pids" / f"{name}.pid").write_text(f"{proc.pid}\n" + "\0".join(map(str, argv)) + "\n")
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def _wait(what: str, check, timeout: float, state: Path, log_name: str, pid_name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        pid_file = state / "pids" / f"{pid_name}.pid"
        if pid_file.exists() and not _alive(int(pid_file.read_text().split()[0])):
            tail = (state / f"{log_name}.log").read_text(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(f"{pid_name} exited before {what}:\n" + "\n".join(tail))
        time.sleep(0.5)
    tail = (state / f"{log_name}.log").read_text(errors="replace").strip().splitlines()[-15:]
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}:\n" + "\n".join(tail))


def _install_crds(admin: Admin) -> list[str]:
    import yaml  # the project's venv has PyYAML; realkube.sh prefers it

    directory = next((d for d in CRDS if d.is_dir()), None)
    if directory is None:
        raise RuntimeError(f"no CRDs: expected ../shared/reference/crds next to the repository ({CRDS[0]})")
    names = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            if "istio" in path.name and doc["spec"]["group"] != "networking.istio.io":
                continue  # only the kinds the kube backend writes (VirtualService, DestinationRule, ...)
            status, body = admin.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", doc)
            if status not in (201, 409):
                raise RuntimeError(f"installing CRD {doc['metadata']['name']} from {path.name}: {status} {body.get('message')}")
            names.append(doc["metadata"]["name"])
    return names


def _established(admin: Admin, name: str) -> bool:
    status, body = admin.call("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    conditions = (body.get("status") or {}).get("conditions") or []
    return status == 200 and any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def start(with_controllers: bool, state: Path | None) -> int:
    reasons = missing()
    if reasons:
        print("cannot start: " + "; ".join(reasons), file=sys.stderr)
        return 1
    if with_controllers and not (cache_dir() / "kube-controller-manager").exists():
        print(f"cannot start --with-controllers: kube-controller-manager {version()} is not built (run scripts/realkube.sh setup)",
              file=sys.stderr)
        return 1
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None
    state = state or Path(tempfile.mkdtemp(prefix="reconciler-realkube-", dir=base))
    state.mkdir(parents=True, exist_ok=True)
    try:
        _start(state, with_controllers)
    except Exception as err:  # leave nothing running behind a failed start
        print(f"start failed: {err}", file=sys.stderr)
        stop(state, quiet=True)
        return 1
    print(f"state: {state}")
    print(state / "admin.kubeconfig")
    return 0


def _start(state: Path, with_controllers: bool) -> None:
    bins = cache_dir()
    pki = state / "pki"
    make_certificates(pki)
    etcd_client, etcd_peer, secure = _free_port(), _free_port(), _free_port()
    etcd_url = f"http://127.0.0.1:{etcd_client}"
    _spawn(state, "etcd", [
        etcd_binary(), "--name", "realkube", "--data-dir", str(state / "etcd"),
        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
        "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
        "--initial-cluster", f"realkube=http://127.0.0.1:{etcd_peer}", "--log-level", "warn",
    ])
    server = f"https://127.0.0.1:{secure}"
    audit_policy = state / "audit-policy.yaml"
    # Every request of a service account, with its verb and resource: tests compare them with deploy/rbac.yaml.
    audit_policy.write_text(json.dumps({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                                        "rules": [{"level": "Metadata", "userGroups": ["system:serviceaccounts"]}, {"level": "None"}]}))
    _spawn(state, "kube-apiserver", [
        str(bins / "kube-apiserver"), "--etcd-servers", etcd_url, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
        "--secure-port", str(secure), "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
        "--client-ca-file", str(pki / "ca.crt"), "--authorization-mode", "RBAC",
        "--service-account-key-file", str(pki / "sa.pub"), "--service-account-signing-key-file", str(pki / "sa.key"),
        "--service-account-issuer", "https://kubernetes.default.svc", "--api-audiences", "https://kubernetes.default.svc",
        "--service-cluster-ip-range", "10.96.0.0/16", "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
        "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"), "--cert-dir", str(pki),
        "--audit-policy-file", str(audit_policy), "--audit-log-path", str(state / "audit.log"), "--audit-log-format", "json",
        "--enable-priority-and-fairness=false", "--v", "0",
    ])
    admin = Admin(server, pki)

    def ready() -> bool:
        try:
            return admin.call("GET", "/readyz", timeout=5)[0] == 200
        except OSError:
            return False

    _wait("kube-apiserver /readyz", ready, 240, state, "kube-apiserver", "kube-apiserver")
    kubeconfig = write_kubeconfig(state / "admin.kubeconfig", server, pki)
    crds = _install_crds(admin)
    _wait("the CRDs to be established", lambda: all(_established(admin, n) for n in crds), 120, state, "kube-apiserver", "kube-apiserver")
    if with_controllers:
        _spawn(state, "kube-controller-manager", [
            str(bins / "kube-controller-manager"), "--kubeconfig", str(kubeconfig), "--leader-elect=false",
            "--service-account-private-key-file", str(pki / "sa.key"), "--root-ca-file", str(pki / "ca.crt"),
            "--use-service-account-credentials=false", "--secure-port", "0", "--concurrent-replicaset-syncs", "2",
            "--controllers", "*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-persistentvolume-binder,-attachdetach,-ttl",
            "--v", "0",
        ])
        _spawn(state, "nodes", [sys.executable, str(Path(__file__).resolve()), "nodes", str(state)])
        # The controllers are up once the service-account controller has made `default` its ServiceAccount.
        _wait("kube-controller-manager", lambda: admin.call("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
              180, state, "kube-controller-manager", "kube-controller-manager")
    (state / "server").write_text(server + "\n")


# -- the simulated nodes (--with-controllers) ----------------------------------------------------


_EXIT = re.compile(r"(?:^|[;&|\s])exit\s+(\d+)\s*;?\s*$")


def _exit_code(container: dict) -> int:
    words = [str(w) for w in list(container.get("command") or []) + list(container.get("args") or [])]
    match = _EXIT.search(words[-1].strip()) if words else None
    return int(match.group(1)) if match else 0


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def simulated_pod_status(pod: dict) -> dict | None:
    """The status a kubelet would report for a Pod bound to our fake Node, or None when done."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed") or ((pod.get("status") or {}).get("conditions") and phase == "Running"):
        return None
    containers = pod["spec"].get("containers") or []
    owner = next((o.get("kind") for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")), None)
    now = _now()
    if owner == "Job":
        codes = [_exit_code(c) for c in containers]
        phase = "Failed" if any(codes) else "Succeeded"
        statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
                     "state": {"terminated": {"exitCode": code, "reason": "Error" if code else "Completed", "startedAt": now, "finishedAt": now}}}
                    for c, code in zip(containers, codes)]
        ready = "False"
    else:
        phase = "Running"
        statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True, "restartCount": 0, "started": True,
                     "state": {"running": {"startedAt": now}}} for c in containers]
        ready = "True"
    conditions = [{"type": t, "status": s, "lastTransitionTime": now} for t, s in
                  (("PodScheduled", "True"), ("Initialized", "True"), ("ContainersReady", ready), ("Ready", ready))]
    return dict(pod.get("status") or {}, phase=phase, conditions=conditions, containerStatuses=statuses, startTime=now,
                hostIP="127.0.0.1", podIP="127.0.0.1")


def nodes(state: Path) -> int:
    """Poll Pods: bind unscheduled ones to NODE_NAME, then report them Running/Ready (or finished, for Jobs)."""
    server = (state / "server").read_text().strip() if (state / "server").exists() else None
    while server is None:
        time.sleep(0.5)
        server = (state / "server").read_text().strip() if (state / "server").exists() else None
    admin = Admin(server, state / "pki")
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME}},
            "spec": {}}
    admin.call("POST", "/api/v1/nodes", node)
    while True:
        try:
            _, pods = admin.call("GET", "/api/v1/pods")
            for pod in pods.get("items") or []:
                meta = pod["metadata"]
                where = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
                if meta.get("deletionTimestamp"):
                    admin.call("DELETE", where, {"gracePeriodSeconds": 0})
                    continue
                if not pod["spec"].get("nodeName"):
                    admin.call("POST", where + "/binding", {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": meta["name"]},
                                                            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME}})
                    continue
                status = simulated_pod_status(pod)
                if status is not None:
                    admin.call("PUT", where + "/status", dict(pod, status=status))
        except OSError:
            pass
        time.sleep(0.3)


# -- stop ----------------------------------------------------------------------------------------


def stop(target: Path, quiet: bool = False) -> int:
    state = target.parent if target.is_file() else target
    pids = state / "pids"
    if not pids.is_dir():
        if not quiet:
            print(f"nothing to stop: {state} has no pids/ (not a realkube state directory)", file=sys.stderr)
        return 1
    # Controllers first, etcd last.
    order = ["nodes", "kube-controller-manager", "kube-apiserver", "etcd"]
    for name in order:
        pid_file = pids / f"{name}.pid"
        if not pid_file.exists():
            continue
        pid, _, recorded = pid_file.read_text().partition("\n")
        pid = int(pid)
        expected = [part.encode() for part in recorded.rstrip("\n").split("\0")]
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        if cmdline[: len(expected)] != expected:
            continue  # the PID was reused by something else: leave it alone
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(state, ignore_errors=True)
    if not quiet:
        print(f"stopped and removed {state}")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb == "setup":
        return setup()
    if verb == "status":
        reasons = missing()
        print(f"version {version()}; binaries in {cache_dir()}; etcd {etcd_binary()}")
        for reason in reasons:
            print(f"missing: {reason}")
        return 1 if reasons else 0
    if verb == "start":
        with_controllers = "--with-controllers" in rest
        others = [a for a in rest if a != "--with-controllers"]
        state = Path(others[1]) if len(others) == 2 and others[0] == "--dir" else None
        return start(with_controllers, state)
    if verb == "stop" and len(rest) == 1:
        return stop(Path(rest[0]))
    if verb == "nodes" and len(rest) == 1:
        return nodes(Path(rest[0]))
    print(f"usage: realkube.sh setup | start [--with-controllers] [--dir DIR] | stop DIR | status (got {' '.join(argv)!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
