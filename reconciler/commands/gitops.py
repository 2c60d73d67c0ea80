"""`set image NAME CONTAINER=IMAGE [SOURCE]` and `restart NAME [SOURCE]`: the plugin's two most
used writes, done the GitOps way. The plugin patches the live Rollout; here Git is the desired
state, so each edits the Rollout's manifest in the checkout (formatting kept) and commits it. The
next `reconciler run` rolls the change out; nothing is applied to the cluster by these commands.

SOURCE is a local Git checkout (default: RECONCILER_SOURCE, else the current directory) or a Git
URL (cloned, committed and pushed). `--push` pushes a local checkout's commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import typer

from reconciler.commands.common import NamespaceOpt, NowOpt, PathOpt, RefOpt, parse_now

MAX_PUSH_ATTEMPTS = 5

PushOpt = Annotated[bool, typer.Option("--push", help="Push the commit to the checkout's upstream branch (a Git URL SOURCE is always pushed).")]
MessageOpt = Annotated[str | None, typer.Option("--message", "-m", help="Commit message (default: says what changed).")]


@dataclass
class Edited:
    """What an edit command did: the file, the commit (if any), whether it was pushed."""

    file: str
    changed: bool
    commit: str = ""
    committed: bool = False
    pushed: bool = False
    details: list = field(default_factory=list)

    def commit_line(self, push_asked: bool) -> str:
        if self.pushed:
            return f"committed {self.commit[:12]} and pushed it"
        if self.committed:
            return f"committed {self.commit[:12]} (not pushed: run `git push`, or pass --push)" if not push_asked else f"committed {self.commit[:12]}"
        return "wrote the file (not a Git repository: commit it yourself)"


def _source_default(source: str | None) -> str:
    import os

    return source or os.environ.get("RECONCILER_SOURCE") or "."


def _person(repository, env: dict) -> dict:
    """Commits made for a person carry their Git identity (git config), not the reconciler's."""
    out = dict(env)
    for key, setting in (("GIT_AUTHOR_NAME", "user.name"), ("GIT_AUTHOR_EMAIL", "user.email")):
        value = repository.config(setting)
        if value and key not in out:
            out[key] = value
            out[key.replace("AUTHOR", "COMMITTER")] = out.get(key.replace("AUTHOR", "COMMITTER"), value)
    return out


def edit_rollout_manifest(source: str, *, ref, path, name: str, namespace: str, edit: Callable[[str, int], tuple[str, list]],
                          message: Callable[[list, str], str], push: bool, purpose: str) -> Edited:
    """Find Rollout NAME's manifest under SOURCE, apply `edit(text, doc_index) -> (text, details)`,
    and commit exactly that file. A rejected push re-reads the file from the fetched branch and
    edits it again (never forced). A file with uncommitted changes is refused (they would be
    committed too)."""
    from pathlib import Path

    from reconciler import gitrepo
    from reconciler.commands.undo import find_rollout_manifest
    from reconciler.errors import Conflict, ReconcilerError
    from reconciler.source import open_source

    with open_source(source, ref=ref, path=path) as checkout:
        repo_dir, root = Path(checkout.repo_dir), Path(checkout.root)
        if root.is_file():  # SOURCE names the manifest itself
            repo_dir = root.parent
        repository = gitrepo.find(repo_dir)
        push = push or checkout.is_git
        committer = None
        if repository is not None:
            from reconciler.status.commit import GitCommitter

            # git runs at the repository's top, so the paths it is given are relative to it (SOURCE may be a subfolder)
            top = repository.top
            committer = GitCommitter(top, env=_person(repository, checkout.git_env()), push=push, own_paths=(), purpose=purpose)
        elif push:
            raise ReconcilerError(f"{source} is not a Git repository; there is nothing to push", hint="drop --push, or give a Git checkout or URL")
        for _attempt in range(MAX_PUSH_ATTEMPTS):
            manifest_file, doc_index = find_rollout_manifest(root, name, namespace)
            if root.is_file():
                manifest_file = root
            if manifest_file.is_symlink():
                raise ReconcilerError(f"{manifest_file.name} is a symbolic link; {purpose} edits plain files only", hint="edit the file the link points to")
            rel = manifest_file.resolve().relative_to(top.resolve()).as_posix() if committer else str(manifest_file)
            if committer is not None and committer.repository.has_changes(rel):
                raise ReconcilerError(f"{rel} has uncommitted changes; {purpose} would commit them too", hint="commit or stash your edits to that file first")
            original = manifest_file.read_text(encoding="utf-8")
            updated, details = edit(original, doc_index)
            shown = _shown(checkout, manifest_file, root)
            if updated == original:
                return Edited(file=shown, changed=False, details=details)
            manifest_file.write_text(updated, encoding="utf-8")
            if committer is None:
                return Edited(file=shown, changed=True, details=details)
            committer.own_paths = (rel,)
            try:
                committer.commit([rel], message(details, rel))
            except Conflict:
                continue  # the checkout now stands on the remote branch: read and edit again
            return Edited(file=shown, changed=True, details=details, committed=True, pushed=push,
                          commit=committer.head())
    raise ReconcilerError(f"{purpose} of {namespace}/{name}: the branch kept moving; {MAX_PUSH_ATTEMPTS} pushes were rejected",
                          hint="run it again in a moment")


def _shown(checkout, manifest_file, root) -> str:
    """The manifest's path as the user would type it: under SOURCE as given (local), or in the repository (URL)."""
    import os

    if checkout.is_git:
        return manifest_file.relative_to(checkout.repo_dir).as_posix()
    return os.path.relpath(manifest_file)


def _parse_pairs(rollout: str, args: list[str]) -> tuple[list[tuple[str, str]], str | None]:
    from reconciler.errors import UsageError

    pairs, source = [], None
    if not any("=" in arg for arg in args):
        raise UsageError("set image needs at least one CONTAINER=IMAGE", hint=f"e.g. `reconciler set image {rollout} nginx=nginx:1.27`")
    for index, arg in enumerate(args):
        container, sep, image = arg.partition("=")
        if sep:
            if not container or not image:
                raise UsageError(f"{arg!r} is not CONTAINER=IMAGE", hint="e.g. `reconciler set image web nginx=nginx:1.27`")
            pairs.append((container, image))
        elif index == len(args) - 1 and pairs:
            source = arg
        else:
            raise UsageError(f"{arg!r} is not CONTAINER=IMAGE", hint=f"write `reconciler set image {rollout} CONTAINER=IMAGE [SOURCE]`")
    if not pairs:
        raise UsageError("set image needs at least one CONTAINER=IMAGE", hint=f"e.g. `reconciler set image {rollout} nginx=nginx:1.27`")
    return pairs, source


def register(app, get_app, list_app) -> None:
    set_app = typer.Typer(help="Change a Rollout's manifest in Git (committed; the next run rolls it out).", no_args_is_help=True)
    app.add_typer(set_app, name="set")

    @set_app.command("image")
    def set_image_command(
        name: Annotated[str, typer.Argument(help="The Rollout.")],
        args: Annotated[list[str], typer.Argument(help="CONTAINER=IMAGE (one or more; * for every container), then SOURCE (default: RECONCILER_SOURCE, else .).", metavar="CONTAINER=IMAGE... [SOURCE]")],
        namespace: NamespaceOpt = "default",
        ref: RefOpt = None,
        path: PathOpt = None,
        push: PushOpt = False,
        message: MessageOpt = None,
    ) -> None:
        """Set container images in the Rollout's manifest and commit it (as `kubectl argo rollouts set image`, through Git)."""
        from reconciler.manifests.edit import set_images

        pairs, source = _parse_pairs(name, args)
        source = _source_default(source)

        def text(details, rel):
            changed = ", ".join(f"{c.container}={c.after}" for c in details)
            was = ", ".join(f"{c.container} {c.before}" for c in details)
            return message or f"set image {namespace}/{name}: {changed}\n\nWas: {was}. The next `reconciler run` starts a new revision."

        result = edit_rollout_manifest(source, ref=ref, path=path, name=name, namespace=namespace, push=push, purpose="set image",
                                       edit=lambda original, doc: set_images(original, doc, pairs, name), message=text)
        if not result.changed:
            typer.echo(f"rollout '{name}' already uses {', '.join(f'{c}={i}' for c, i in pairs)} in {result.file}; nothing to commit")
            return
        for change in result.details:
            typer.echo(f"rollout '{name}' image updated in {result.file}: {change.container} {change.before} -> {change.after}")
        typer.echo(result.commit_line(push))
        typer.echo("the next `reconciler run` starts a new revision with it (nothing was applied to the cluster yet)")

    @app.command("restart")
    def restart_command(
        name: Annotated[str, typer.Argument(help="The Rollout.")],
        source: Annotated[str | None, typer.Argument(help="Local Git checkout or Git URL (default: RECONCILER_SOURCE, else .).", show_default=False)] = None,
        in_: Annotated[str | None, typer.Option("--in", "-i", help="Restart this long from now (e.g. 30s, 5m, 1h), as the plugin's --in.")] = None,
        namespace: NamespaceOpt = "default",
        ref: RefOpt = None,
        path: PathOpt = None,
        now: NowOpt = None,
        push: PushOpt = False,
        message: MessageOpt = None,
    ) -> None:
        """Set spec.restartAt in the Rollout's manifest and commit it: later runs replace its pods started before that time, one pod per run."""
        from datetime import timedelta

        from reconciler.durations import parse_duration
        from reconciler.errors import UsageError
        from reconciler.manifests.edit import set_spec_field

        moment = parse_now(now)
        if in_:
            seconds = parse_duration(in_)
            if seconds is None or seconds < 0:
                raise UsageError(f"--in {in_!r} is not a duration", hint="write e.g. --in 30s, 5m or 1h")
            moment += timedelta(seconds=seconds)
        at = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = edit_rollout_manifest(
            _source_default(source), ref=ref, path=path, name=name, namespace=namespace, push=push, purpose="restart",
            edit=lambda original, doc: (set_spec_field(original, doc, "restartAt", at), [at]),
            message=lambda details, rel: message or f"restart {namespace}/{name}: spec.restartAt {at}\n\n"
            "Runs from then on replace the rollout's pods started before it, one pod per run.",
        )
        if not result.changed:
            typer.echo(f"rollout '{name}' already has spec.restartAt {at} in {result.file}; nothing to commit")
            return
        typer.echo(f"rollout '{name}' restarts at {at}: spec.restartAt set in {result.file}")
        typer.echo(result.commit_line(push))
        typer.echo("from then on each `reconciler run` replaces one pod started before it (nothing was applied to the cluster yet)")
