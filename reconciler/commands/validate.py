"""`reconciler validate SOURCE`: load and check manifests; findings located at file:line:col."""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler.commands.common import (
    AllowSecretsOpt,
    ApplyClusterScopedOpt,
    CacheDirOpt,
    ContextOpt,
    NoCacheOpt,
    PathOpt,
    PeriodOpt,
    RefOpt,
    SourceArg,
    StrictOpt,
    cache_dir,
    choices,
    parse_period,
    source_policy,
)

FindingsFormat = choices("FindingsFormat", "text", "json", "yaml", "github")
FORMATS = tuple(member.value for member in FindingsFormat)


def register(app, get_app, list_app) -> None:
    @app.command("validate")
    def validate_command(
        source: SourceArg,
        ref: RefOpt = None,
        path: PathOpt = None,
        output_format: Annotated[
            FindingsFormat,
            typer.Option("--output", "-o", "--format", "-f", case_sensitive=False,
                         help="text (grouped by file), json, yaml, or github (workflow commands for Actions)."),
        ] = FindingsFormat.text,
        cluster: Annotated[
            str | None,
            typer.Option(
                "--cluster",
                envvar="RECONCILER_VALIDATE_CLUSTER",
                help="Also look referenced objects up live: local[:DIR] or kube. Without it, only the source counts.",
            ),
        ] = None,
        context: ContextOpt = None,
        period: PeriodOpt = None,
        strict: StrictOpt = False,
        allow_secrets: AllowSecretsOpt = False,
        apply_cluster_scoped: ApplyClusterScopedOpt = False,
        cache: CacheDirOpt = None,
        no_cache: NoCacheOpt = False,
    ) -> None:
        """Check manifests: strict CRD schemas, Argo Rollouts' rules, references. Exit 0 valid, 1 findings, 2 error."""
        code = run_validate(source, ref=ref, path=path, output_format=output_format.value, cluster=cluster, context=context, echo=typer.echo,
                            period_seconds=parse_period(period), strict=strict, policy=source_policy(allow_secrets, apply_cluster_scoped),
                            cache_dir=cache_dir(cache, no_cache))
        raise typer.Exit(code)


def run_validate(source, *, ref=None, path=None, output_format="text", cluster=None, context=None, echo=print, period_seconds=None,
                 strict: bool = False, policy=None, cache_dir=None) -> int:
    """`cache_dir`: the source cache's folder (reconciler/manifests/source_cache.py), None for none."""
    from reconciler.errors import EXIT_FINDINGS, EXIT_OK
    from reconciler.findings import has_errors
    from reconciler.manifests.loader import load_directory
    from reconciler.source import open_source
    from reconciler.validation import validate
    from reconciler.validation.cache import source_cache
    from reconciler.validation.report import render

    live = None
    if cluster:
        from reconciler.cluster import open_cluster
        from reconciler.validation.live import LiveLookup

        live = LiveLookup(open_cluster(cluster, context=context))
    with open_source(source, ref=ref, path=path) as checkout:
        loaded = load_directory(checkout.root, cache=source_cache(cache_dir, checkout))
        findings = list(loaded.findings) + validate(loaded.manifests, live=live, period_seconds=period_seconds, policy=policy)
        if strict:
            from reconciler.validation import strict as make_strict

            findings = make_strict(findings)
        prefix = _prefix(checkout)
        echo(render(findings, output_format, files_read=loaded.files_read, objects=len(loaded.manifests), source=checkout.display_url,
                    commit=checkout.commit, prefix=prefix))
        unchecked = [f for f in findings if f.rule == "reference"] if live is None else []
        if unchecked and output_format == "text":
            echo(f"not checked against a cluster (no --cluster): {len(unchecked)} reference(s) missing from the source; "
                 "pass --cluster to look them up live")
    return EXIT_FINDINGS if has_errors(findings) else EXIT_OK


def _prefix(checkout) -> str:
    """Findings name files relative to the manifests root; print them so a person (or GitHub) can
    open them: relative to the working directory for a local source, to the repository for Git."""
    if not checkout.is_git:
        return local_prefix(checkout)
    try:
        rel = checkout.root.resolve().relative_to(checkout.repo_dir.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel in ("", ".") else rel + "/"


def local_prefix(checkout) -> str:
    """The folder part of a local SOURCE as the user typed it (`deploy/`, `/abs/deploy/`, none for
    `.`), plus --path. A single file is named by the findings already: only its folder is kept."""
    import posixpath

    given = checkout.display_url.replace("\\", "/")
    if checkout.root.is_file():
        folder = posixpath.dirname(given)
    else:
        folder = given.rstrip("/") or "/"
        sub = checkout.root.resolve().relative_to(checkout.repo_dir.resolve()).as_posix()
        if sub not in ("", "."):
            folder = posixpath.join(folder, sub)
    if folder in ("", "."):
        return ""
    return folder if folder.endswith("/") else folder + "/"
