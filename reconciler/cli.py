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
    add_completion=False,
    pretty_exceptions_enable=False,
)
get_app = typer.Typer(help="Show one object.", no_args_is_help=True)
list_app = typer.Typer(help="List objects.", no_args_is_help=True)
app.add_typer(get_app, name="get")
app.add_typer(list_app, name="list")


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


def main() -> None:
    from reconciler.errors import ReconcilerError

    try:
        app()
    except ReconcilerError as err:
        typer.secho(f"error: {err.message}", fg=typer.colors.RED, err=True)
        if err.hint:
            typer.echo(f"hint: {err.hint}", err=True)
        sys.exit(err.exit_code)
