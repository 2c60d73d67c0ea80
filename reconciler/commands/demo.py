"""`reconciler demo`: seed 000's canary, every step, on a throw-away embedded cluster.

A temporary Git repository holds the seed's manifests (nginx:1.14.1, 5 replicas, steps
setWeight 20 / pause 60s / setWeight 80 / pause 60s); progress is kept with `--status commit` in
that repository; a simulated clock moves forward between invocations. After each `run` the
`get rollout` tree is printed. Once revision 1 is Healthy the image is bumped to nginx:1.14.2 by a
commit, as the seed does, and the canary walks to the end.
"""

from __future__ import annotations

from typing import Annotated

import typer

START = "2026-01-01T00:00:00Z"
ROLLOUT = ("default", "rollout-test-canary-nginx")
OLD_IMAGE, NEW_IMAGE = "nginx:1.14.1", "nginx:1.14.2"

# Seed 000's canary manifests (the same as fixtures/canary-nginx/nginx.yaml; a test keeps them
# equal). Embedded so the demo works from an installed wheel, where fixtures/ is not shipped.
MANIFEST = """\
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: rollout-test-canary-nginx-conf
data:
  nginx.conf: |
    user nginx;
    worker_processes  1;
    error_log  /var/log/nginx/error.log;
    events {
      worker_connections  1024;
    }
    http {
      server {
          listen       80;
          server_name  _;

          location / {
              root   html;
              index  index.html index.htm;
          }

          location /nginx_status {
              stub_status on;
              access_log off;
              allow 127.0.0.1;
              deny all;
          }

      }
    }

---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollout-test-canary-nginx
spec:
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {duration: 60}
      - setWeight: 80
      - pause: {duration: 60}
  selector:
    matchLabels:
      app: nginx
  replicas: 5
  template:
    metadata:
      annotations:
        prometheus.io/scrape: 'true'
        prometheus.io/port: '9113'
      labels:
        app: nginx
    spec:
      volumes:
      - name: nginx-conf
        configMap:
          name: rollout-test-canary-nginx-conf
          items:
            - key: nginx.conf
              path: nginx.conf
      containers:
      - name: nginx
        image: nginx:1.14.1
        ports:
        - containerPort: 80
        volumeMounts:
        - mountPath: /etc/nginx/nginx.conf
          readOnly: true
          name: nginx-conf
          subPath: nginx.conf
      - name: nginx-exporter
        image: nginx/nginx-prometheus-exporter:0.11.0
        args:
          - -nginx.scrape-uri=http://localhost/nginx_status
        ports:
          - containerPort: 9113
"""


def register(app: typer.Typer, get_app: typer.Typer, list_app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        step_seconds: Annotated[int, typer.Option("--step-seconds", help="Simulated seconds between invocations.")] = 30,
        max_invocations: Annotated[int, typer.Option("--max-invocations", help="Stop after this many runs.")] = 40,
        keep: Annotated[str | None, typer.Option("--keep", help="Keep the demo repository and cluster in this new directory.")] = None,
    ) -> None:
        """Walk seed 000's canary through every step on a temporary embedded cluster, printing the tree after each run."""
        from reconciler.errors import UsageError

        if step_seconds < 1 or max_invocations < 1:
            raise UsageError("--step-seconds and --max-invocations must be at least 1")
        outcome = run_demo(typer.echo, step_seconds=step_seconds, max_invocations=max_invocations, keep=keep)
        if not outcome.finished:
            raise typer.Exit(1)


class DemoOutcome:
    def __init__(self):
        self.invocations = 0
        self.views: list[dict] = []  # the view after each invocation
        self.finished = False
        self.directory = None


def run_demo(echo, *, step_seconds: int = 30, max_invocations: int = 40, keep: str | None = None, now: str = START) -> DemoOutcome:
    """The demo as a function (tests call it). `echo` receives each block of text to print."""
    import shutil
    import tempfile
    from datetime import timedelta
    from pathlib import Path

    from reconciler.cluster import open_cluster
    from reconciler.commands.common import parse_now
    from reconciler.errors import UsageError
    from reconciler.render.tree import render_rollout
    from reconciler.runner import run_once
    from reconciler.status.commit import CommitStatusStore

    if keep is not None and Path(keep).exists() and any(Path(keep).iterdir()):
        raise UsageError(f"--keep {keep}: the directory is not empty", hint="name a new or empty directory")
    base = Path(keep) if keep is not None else Path(tempfile.mkdtemp(prefix="reconciler-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    repo, cluster_dir = base / "repo", base / "cluster"
    outcome = DemoOutcome()
    outcome.directory = base
    env = _git_env()
    try:
        repo.mkdir()
        (repo / "nginx.yaml").write_text(MANIFEST, encoding="utf-8")
        _git(repo, env, "init", "-q", "-b", "main")
        _git(repo, env, "add", "nginx.yaml")
        _git(repo, env, "commit", "-q", "-m", "seed 000: rollout-test-canary-nginx with nginx:1.14.1")
        clock = parse_now(now)
        cluster = open_cluster(f"local:{cluster_dir}", now=clock)
        store = CommitStatusStore(repo, env=env, push=False)
        echo(f"# reconciler demo: seed 000's canary on an embedded cluster in {cluster_dir}")
        echo(f"# manifests and status commits in {repo}; simulated clock starts at {now}, +{step_seconds}s per run\n")
        bumped = False
        for invocation in range(1, max_invocations + 1):
            report = run_once(repo, cluster, store, clock, dry_run=False, source_label="demo")
            view = _view_after(cluster_dir, store, clock) or _view_of(report)
            outcome.invocations = invocation
            outcome.views.append(view)
            echo(f"$ reconciler run  # invocation {invocation}, now {clock.strftime('%Y-%m-%dT%H:%M:%SZ')}")
            echo(f"$ reconciler get rollout {ROLLOUT[1]}")
            echo(render_rollout(view, clock) if view else "(no view)\n")
            healthy_on = view.get("status") == "Healthy" and _stable_image(view)
            if healthy_on == OLD_IMAGE and not bumped:
                manifest = repo / "nginx.yaml"
                manifest.write_text(manifest.read_text(encoding="utf-8").replace(f"image: {OLD_IMAGE}", f"image: {NEW_IMAGE}", 1), encoding="utf-8")
                _git(repo, env, "commit", "-q", "-m", f"bump nginx to {NEW_IMAGE.split(':')[1]}", "--", "nginx.yaml")
                echo(f"$ git commit -m 'bump nginx to {NEW_IMAGE.split(':')[1]}'  # image {OLD_IMAGE} -> {NEW_IMAGE}\n")
                bumped = True
            elif healthy_on == NEW_IMAGE and bumped:
                outcome.finished = True
                log = _git(repo, env, "log", "--oneline")
                from reconciler.render.table import render_rollout_list

                echo(f"$ reconciler list rollouts\n{render_rollout_list([view])}")
                echo(f"# done after {invocation} invocations: {NEW_IMAGE} is stable. The repository's history:\n{log}")
                break
            if invocation > 1 and _is_stuck(outcome.views):
                echo("# the rollout stopped changing; see the status above")
                break
            clock = clock + timedelta(seconds=step_seconds)
            cluster = open_cluster(f"local:{cluster_dir}", now=clock)
        return outcome
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)


def _view_after(cluster_dir, store, clock) -> dict:
    """The view exactly as `get rollout` builds it (recorded state + live ReplicaSets and pods)."""
    from reconciler.cluster import open_cluster
    from reconciler.commands.views import build_views

    views = build_views(open_cluster(f"local:{cluster_dir}", now=clock), store.load(), clock, ROLLOUT[0], {ROLLOUT[1]})
    return views[0] if views else {}


def _view_of(report) -> dict:
    for result in getattr(report, "results", []) or []:
        if (result.namespace, result.name) == ROLLOUT:
            return result.view or (result.plan.view if result.plan is not None else {}) or {}
    return {}


def _stable_image(view: dict) -> str | None:
    """The nginx image tagged stable (and only stable: the canary is done) in the view."""
    for image in view.get("images") or []:
        if image.get("image", "").startswith("nginx:") and "stable" in (image.get("tags") or []) and "canary" not in (image.get("tags") or []):
            nginx_images = [i for i in view.get("images") or [] if i.get("image", "").startswith("nginx:")]
            return image["image"] if len(nginx_images) == 1 else None
    return None


def _is_stuck(views: list[dict]) -> bool:
    """Degraded, or many identical views in a row while not waiting on a timed pause."""
    if views[-1].get("status") == "Degraded":
        return True
    return len(views) >= 8 and all(_fingerprint(v) == _fingerprint(views[-1]) for v in views[-8:])


def _fingerprint(view: dict) -> tuple:
    return (view.get("status"), view.get("step"), view.get("revision"), str(view.get("replicas")))


def _git_env() -> dict:
    import os

    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="reconciler demo", GIT_AUTHOR_EMAIL="demo@localhost", GIT_COMMITTER_NAME="reconciler demo", GIT_COMMITTER_EMAIL="demo@localhost")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def _git(repo, env, *args: str) -> str:
    """git's command line in the demo's repository, through GitPython (reconciler/gitrepo.py)."""
    from reconciler import gitrepo
    from reconciler.errors import ReconcilerError

    try:
        return gitrepo.GitCommand(repo, env=env, timeout=60).run(*args).stdout
    except gitrepo.GitFailed as failed:
        raise ReconcilerError(f"demo: git {args[0]} failed: {failed.stderr.strip()}", hint="the demo needs `git` on PATH") from None
    except gitrepo.GitTimeout as late:
        raise ReconcilerError(f"demo: {late}", hint="the demo's git commands are local; check the disk") from None
