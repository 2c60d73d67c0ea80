"""deploy/: the manifests parse, the RBAC is exactly what the kube backend calls, the CronJob and image are safe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from reconciler.cluster.kube_grants import rbac_rules
from reconciler.kinds import APPLIED_FROM_SOURCE, KINDS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
_BY_PLURAL = {k.plural: k for k in KINDS.values()}


def cli_commands() -> dict:
    """{command name: {option or env var name: click parameter}} of the real CLI."""
    import typer.main

    from reconciler.cli import app

    group = typer.main.get_command(app)
    out = {}
    for name, command in group.commands.items():
        params = {}
        for param in getattr(command, "params", []):
            for opt in list(param.opts) + list(param.secondary_opts):
                params[opt] = param
            if param.envvar:
                params[param.envvar] = param
        out[name] = params
    return out


def load_all(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def granted(rules) -> set[tuple[str, str, str]]:
    out = set()
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb))
    return out


def expected(role: str) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for kind, group, resource, verbs in rbac_rules() if kind == role for verb in verbs}


# Each role of deploy/rbac.yaml, and the name rbac_rules() gives its rules.
ROLES = {("Role", "reconciler"): "Role", ("Role", "reconciler-lease"): "LeaseRole", ("ClusterRole", "reconciler"): "ClusterRole"}


def roles(docs) -> dict[str, dict]:
    found = {ROLES[(d["kind"], d["metadata"]["name"])]: d for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert len(found) == len([d for d in docs if d["kind"] in ("Role", "ClusterRole")]) == len(ROLES)
    return found


def deploy_rbac() -> list[tuple[str, str, str, str]]:
    """Every (group, resource, verb, scope) deploy/ grants."""
    return sorted({(*rule, role) for role, doc in roles(load_all("rbac.yaml")).items() for rule in granted(doc["rules"])})


def test_every_manifest_parses_and_the_kustomization_lists_them():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert kustomization["namespace"]
    for resource in kustomization["resources"]:
        docs = load_all(resource)
        assert docs and all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)
    assert "secret.example.yaml" not in kustomization["resources"]  # never apply a placeholder token
    [image] = kustomization["images"]
    assert image["name"] == load_all("cronjob.yaml")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"].split(":")[0]


def test_rbac_grants_exactly_what_the_kube_backend_calls():
    found = roles(load_all("rbac.yaml"))
    for role, doc in found.items():
        assert granted(doc["rules"]) == expected(role), role
    # Namespaced kinds are never in the ClusterRole: a run reads and writes them one namespace at a time.
    assert not [resource for _, resource, _ in granted(found["ClusterRole"]["rules"]) if _BY_PLURAL[resource.split("/")[0]].namespaced]
    # The Lease is in a Role of its own (bound where the CronJob runs), not in the Role copied to every namespace.
    assert {resource for _, resource, _ in granted(found["LeaseRole"]["rules"])} == {"leases"}
    assert "leases" not in {resource for _, resource, _ in granted(found["Role"]["rules"])}


def test_rbac_has_no_wildcards_and_no_secrets():
    text = (DEPLOY / "rbac.yaml").read_text()
    assert "*" not in text
    for _group, resource, verb, _ in deploy_rbac():
        assert resource not in ("secrets", "serviceaccounts", "namespaces", "roles", "rolebindings"), f"{resource}: never"
        assert verb not in ("escalate", "bind", "impersonate", "deletecollection", "watch")
        if verb == "patch":  # server-side apply, of the kinds applied from Git only
            assert _BY_PLURAL[resource].kind in APPLIED_FROM_SOURCE, resource


def test_bindings_tie_the_roles_to_the_cronjob_service_account():
    docs = load_all("rbac.yaml")
    [service_account] = load_all("serviceaccount.yaml")
    pod = load_all("cronjob.yaml")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == service_account["metadata"]["name"]
    kustomize_ns = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["namespace"]
    bindings = by_kind(docs, "RoleBinding") + by_kind(docs, "ClusterRoleBinding")
    bound = {(b["roleRef"]["kind"], b["roleRef"]["name"]) for b in bindings}
    assert bound == set(ROLES)  # every role is bound, once
    for binding in bindings:
        assert binding["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
        assert binding["kind"] == ("RoleBinding" if binding["roleRef"]["kind"] == "Role" else "ClusterRoleBinding")
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": service_account["metadata"]["name"], "namespace": kustomize_ns}]


def test_the_lease_role_is_bound_where_the_cronjob_runs_and_holds_its_lease():
    """The run's Lease lives in the pod's own namespace (no --lease-namespace in the CronJob); the
    kustomization puts the CronJob, the lease Role and its binding in that one namespace."""
    docs = load_all("rbac.yaml")
    [cronjob] = load_all("cronjob.yaml")
    lease_docs = [d for d in docs if d["metadata"]["name"] == "reconciler-lease"]
    assert {d["kind"] for d in lease_docs} == {"Role", "RoleBinding"}
    assert all("namespace" not in d["metadata"] for d in lease_docs + [cronjob])  # all take the kustomization's
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert "--lease-namespace" not in " ".join(container["args"])
    assert "RECONCILER_LEASE_NAMESPACE" not in {e["name"] for e in container["env"]}
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"].get("automountServiceAccountToken", True)


def test_cronjob_runs_one_pass_at_a_time_safely():
    [cronjob] = load_all("cronjob.yaml")
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] <= 300
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    [container] = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    # Every writable path is the emptyDir.
    env = {e["name"]: e for e in container["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for var in ("HOME", "TMPDIR"):
        path = env[var]["value"]
        mount = next(m for m in mounts if path == m or path.startswith(m + "/"))
        assert "emptyDir" in volumes[mounts[mount]]
    # The Git token comes from a Secret, never a literal.
    token = env["RECONCILER_GIT_TOKEN"]
    assert "value" not in token and token["valueFrom"]["secretKeyRef"]["name"] == load_all("secret.example.yaml")[0]["metadata"]["name"]


def test_cronjob_uses_real_commands_flags_and_env_vars():
    [cronjob] = load_all("cronjob.yaml")
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    commands = cli_commands()
    command = container["args"][0]
    assert command in commands
    for arg in container["args"][1:]:
        if arg.startswith("-"):
            assert arg.split("=")[0] in commands[command]
    from reconciler.source.credentials import TOKEN_VARS

    for entry in container["env"]:
        name = entry["name"]
        if name.startswith("RECONCILER_") and name not in TOKEN_VARS:
            assert name in commands[command], f"{name} is not read by `reconciler {command}`"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["RECONCILER_CLUSTER"] == "kube" and env["RECONCILER_STATUS"] in ("annotations", "commit")
    assert env["RECONCILER_LOG_FORMAT"] == "json"
    # --period says how often runs happen, for the analysis timing warnings: the schedule's own step.
    from reconciler.durations import parse_duration

    step = re.fullmatch(r"\*/(\d+) \* \* \* \*", cronjob["spec"]["schedule"])
    assert step and parse_duration(env["RECONCILER_PERIOD"]) == int(step.group(1)) * 60


def _stages(text: str) -> list[list[str]]:
    """Dockerfile instructions (continuations joined), split into stages."""
    joined = re.sub(r"\\\n", " ", text)
    stages: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_dockerfile_is_small_non_root_and_read_only_friendly():
    stages = _stages((DEPLOY / "Dockerfile").read_text())
    assert len(stages) >= 2, "a build stage and a runtime stage"
    final = stages[-1]
    assert re.match(r"FROM python:3\.\d+-slim\b", final[0])
    runtime = " ".join(final)
    for build_tool in ("gcc", "build-essential", "make ", "python3-dev", "libc6-dev"):
        assert build_tool not in runtime
    assert "pip uninstall -y pip" in runtime
    assert "rm -rf /var/lib/apt/lists/*" in runtime
    [user] = [line for line in final if line.startswith("USER ")]
    assert user.split()[1].split(":")[0] not in ("0", "root")
    env = " ".join(line for line in final if line.startswith("ENV "))
    assert "HOME=/work" in env and "TMPDIR=/work" in env
    [entrypoint] = [line for line in final if line.startswith("ENTRYPOINT")]
    assert '"reconciler"' in entrypoint
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^reconciler = "reconciler\.cli:main"', pyproject, re.M)
    # The CronJob's emptyDir is where the image expects to write.
    pod = load_all("cronjob.yaml")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/work"
    assert pod["securityContext"]["runAsUser"] == int(user.split()[1].split(":")[0])


@pytest.mark.parametrize("path", sorted(p.name for p in DEPLOY.glob("*.yaml")))
def test_no_literal_secret_in_deploy(path):
    text = (DEPLOY / path).read_text()
    assert not re.search(r"(ghp_|github_pat_|glpat-)[A-Za-z0-9_]{10,}", text)
