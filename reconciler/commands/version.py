"""`reconciler version` (and `reconciler --version`): what this build is and what it validates against."""

from __future__ import annotations

import typer

from reconciler.commands.common import ViewFormat, dump, output_option


def version_info(with_schemas: bool) -> dict:
    """The package version; with `with_schemas`, the schema files the validation uses and the CRDs
    they were generated from (kind, apiVersions, CRD name, upstream commit)."""
    import platform

    from reconciler import __version__

    info: dict = {"version": __version__, "python": platform.python_version()}
    if with_schemas:
        info["schemas"] = schema_versions()
    return info


def schema_versions() -> list[dict]:
    import json
    from importlib import resources

    out = []
    folder = resources.files("reconciler").joinpath("schemas")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        schema = json.loads(entry.read_text(encoding="utf-8"))
        provenance = schema.get("x-provenance") or {}
        out.append(
            {
                "kind": schema.get("x-kubernetes-kind"),
                "apiVersions": list(schema.get("x-api-versions") or []),
                "crd": provenance.get("crd"),
                "crdVersion": provenance.get("schemaVersion"),
                "source": provenance.get("source"),
                "commit": provenance.get("commit"),
                "file": f"reconciler/schemas/{entry.name}",
            }
        )
    return out


def version_text() -> str:
    from reconciler import __version__

    return f"reconciler {__version__}\n"


def register(app, get_app, list_app) -> None:
    @app.command("version")
    def version_command(output: output_option(ViewFormat) = ViewFormat.text) -> None:  # type: ignore[valid-type]
        """The reconciler's version, and the schema and CRD versions it validates against."""
        if output == "text":
            info = version_info(with_schemas=True)
            lines = [f"reconciler {info['version']}", f"  Python: {info['python']}"]
            for schema in info["schemas"]:
                lines.append(f"  {schema['kind']}: {', '.join(schema['apiVersions'])} (CRD {schema['crd']} at {schema['commit']})")
            typer.echo("\n".join(lines))
            return
        typer.echo(dump(version_info(with_schemas=True), output.value), nl=False)
