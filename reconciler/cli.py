"""The `reconciler` command line. Each area registers its commands from reconciler/commands/."""

from __future__ import annotations

import os
import sys

# Rich-formatted help and errors are for people at a terminal; a CronJob or a pipeline would pay
# ~150 ms of imports for them on every tick. TYPER_USE_RICH set by the user still wins.
if not sys.stdout.isatty():
    os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # noqa: E402

app = typer.Typer(
    name="reconciler",
    help="Progressive delivery (Argo Rollouts behaviour) as a GitOps batch job: one pass per invocation.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)
get_app = typer.Typer(help="Show one object.", no_args_is_help=True)
list_app = typer.Typer(help="List objects.", no_args_is_help=True)
app.add_typer(get_app, name="get")
app.add_typer(list_app, name="list")


def _print_version(value: bool) -> None:
    if value:
        from reconciler.commands.version import version_text

        typer.echo(version_text(), nl=False)
        raise typer.Exit(0)


_debug = {"on": False}


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and exit (`reconciler version -o json` adds the schema and CRD versions)."),
    debug: bool = typer.Option(False, "--debug", envvar="RECONCILER_DEBUG",
                               help="On an unexpected error, show the whole traceback instead of one line."),
) -> None:
    _debug["on"] = debug


def _register() -> None:
    import importlib
    import pkgutil

    import reconciler.commands as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name == "common":
            continue
        module = importlib.import_module(f"reconciler.commands.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app, get_app, list_app)


_register()


def _add_examples() -> None:
    """Every command's --help ends with an example (reconciler/commands/examples.py)."""
    from reconciler.commands.examples import EXAMPLES, epilog

    groups = [(app, "")] + [(group.typer_instance, f"{group.name} ") for group in app.registered_groups]
    for typer_app, prefix in groups:
        for info in typer_app.registered_commands:
            name = prefix + (info.name or info.callback.__name__)
            if not info.epilog and name in EXAMPLES:
                info.epilog = epilog(EXAMPLES[name])


_add_examples()


def _plugin_flag(arg: str) -> str:
    """The plugin (cobra) spells boolean flags `--watch=false`; click wants `--no-watch`."""
    flag, sep, value = arg.partition("=")
    if sep and flag == "--watch" and value.lower() in ("false", "true"):
        return "--watch" if value.lower() == "true" else "--no-watch"
    return arg


def _debug_wanted() -> bool:
    if _debug["on"]:
        return True
    return os.environ.get("RECONCILER_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _collect_garbage_less_often() -> None:
    """A run holds hundreds of thousands of small, long-lived dicts (manifests, observed objects,
    plans) and creates almost no reference cycles. With the default thresholds (a collection every
    700 allocations) the collector walked them again and again: about a tenth of a 1,000-rollout
    plan's CPU (bench/cli_bench.py). Cycles are still collected, every 50,000 allocations."""
    import gc

    gc.set_threshold(50_000, 20, 100)


def main() -> None:
    from reconciler.errors import EXIT_INFRA, ReconcilerError
    from reconciler.interrupt import Interrupted  # `run` and `plan` install the handlers (commands/engine.py)

    sys.argv[1:] = [_plugin_flag(arg) for arg in sys.argv[1:]]
    _collect_garbage_less_often()
    try:
        app()
    except Interrupted as stop:
        typer.secho(f"error: {stop} (exit {stop.exit_code}); no write was left half-done", fg=typer.colors.RED, err=True)
        typer.echo("hint: what this run recorded stays recorded; the next run continues from there", err=True)
        sys.exit(stop.exit_code)
    except ReconcilerError as err:
        typer.secho(f"error: {err.message}", fg=typer.colors.RED, err=True)
        if err.hint:
            typer.echo(f"hint: {err.hint}", err=True)
        sys.exit(err.exit_code)
    except Exception as err:  # a bug, or input nothing checked: one line, never a traceback (unless asked)
        if _debug_wanted():
            raise
        from reconciler.logs import redact

        detail = redact(" ".join(str(err).split()))[:300]
        typer.secho(f"error: unexpected {type(err).__name__}{': ' + detail if detail else ''}", fg=typer.colors.RED, err=True)
        typer.echo("hint: run again with --debug (or RECONCILER_DEBUG=1) to see where, and report it with that output", err=True)
        sys.exit(EXIT_INFRA)
