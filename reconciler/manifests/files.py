"""Which files under SOURCE are read: every *.yaml / *.yml, not in hidden folders, not behind a
symlink leaving the root, not a FIFO or a folder named like a file, not a kustomize folder or a Helm
chart (one warning says to render it first). The file-level findings are made here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.findings import Finding, Severity

SUFFIXES = (".yaml", ".yml")


def manifest_files(root: Path, findings: list[Finding]):
    """(path as a string, relative name) of every manifest file under root; refuses symlinks leaving root."""
    real_root = root.resolve()

    def unreadable(err: OSError) -> None:  # os.walk would skip a folder it cannot list, silently
        where = Path(err.filename) if err.filename else root
        rel = where.relative_to(root).as_posix() if where != root and where.is_relative_to(root) else str(where)
        findings.append(file_finding(rel, f"cannot list the folder: {err.strerror}; its files were not read",
                                      "check its permissions (the reconciler must be able to read every manifest)", "read-error"))

    base = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False, onerror=unreadable):
        # Paths stay strings here: pathlib's objects cost more than the rest of a warm run's walk.
        rel_dir = dirpath[len(base):].lstrip(os.sep).replace(os.sep, "/")
        prefix = rel_dir + "/" if rel_dir else ""
        if _RENDERED_ELSEWHERE.intersection(filenames):
            rendered_elsewhere = render_first(Path(dirpath), root, filenames)
            if rendered_elsewhere is not None:
                findings.append(rendered_elsewhere)
                dirnames[:] = []
                continue
        for name in sorted(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
                continue
            sub = os.path.join(dirpath, name)
            if os.path.islink(sub):
                dirnames.remove(name)  # os.walk would not descend anyway; say why when it escapes
                if not _inside(Path(sub), real_root):
                    findings.append(_escape_finding(Path(sub), root))
            elif name.endswith(SUFFIXES):
                findings.append(file_finding(prefix + name, "is a folder, not a manifest file; the files in it are read as any folder's",
                                              "rename the folder if it is not meant to look like a YAML file", "not-a-file", severity=Severity.WARNING))
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(SUFFIXES):
                continue
            path = os.path.join(dirpath, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                mode = 0
            if stat.S_ISREG(mode):
                yield path, prefix + name
                continue
            if stat.S_ISLNK(mode) and not _inside(Path(path), real_root):
                findings.append(_escape_finding(Path(path), root))
                continue
            if not os.path.isfile(path):  # never opened: reading a FIFO would wait forever
                broken = stat.S_ISLNK(mode) and not os.path.exists(path)
                what = "a broken symbolic link" if broken else "not a regular file (a FIFO, socket or device)"
                findings.append(file_finding(prefix + name, f"is {what}; not read",
                                              "replace it with a plain YAML file, or remove it", "not-a-file"))
                continue
            yield path, prefix + name  # a symbolic link to a file inside the root


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
HELM_CHART_FILE = "Chart.yaml"
_RENDERED_ELSEWHERE = frozenset((*KUSTOMIZATION_FILES, HELM_CHART_FILE))


def render_first(folder: Path, root: Path, filenames) -> Finding | None:
    """The warning for a kustomize folder or a Helm chart (nothing under it is read), else None."""
    names = set(filenames)
    where = folder.relative_to(root).as_posix() if folder != root else "."
    kustomization = next((n for n in KUSTOMIZATION_FILES if n in names), None)
    if kustomization is not None:
        rel = (folder / kustomization).relative_to(root).as_posix()
        return file_finding(rel, f"a kustomization: the folder {where} is not read (its files are kustomize's input, not the objects it builds)",
                             f"render it first and point the reconciler at the output: kustomize build {where} > rendered/{_slug(where)}.yaml",
                             "render-first", severity=Severity.WARNING)
    if HELM_CHART_FILE in names:
        rel = (folder / HELM_CHART_FILE).relative_to(root).as_posix()
        return file_finding(rel, f"a Helm chart: the folder {where} is not read (its templates are not Kubernetes objects until rendered)",
                             f"render it first and point the reconciler at the output: helm template NAME {where} -f VALUES > rendered/{_slug(where)}.yaml",
                             "render-first", severity=Severity.WARNING)
    return None


def _slug(where: str) -> str:
    return "all" if where == "." else where.replace("/", "-")


def is_values_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith("values") and name.endswith(SUFFIXES)


def _inside(path: Path, real_root: Path) -> bool:
    try:
        path.resolve().relative_to(real_root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _escape_finding(path: Path, root: Path) -> Finding:
    return Finding(
        file=path.relative_to(root).as_posix(),
        line=1,
        col=1,
        path="",
        message="symlink points outside the repository root; not read",
        hint="replace the symlink with the file itself, or point it at a file inside the repository",
        rule="symlink-escape",
    )


def file_finding(rel: str, message: str, hint: str, rule: str, line: int = 1, col: int = 1, severity=Severity.ERROR) -> Finding:
    return Finding(file=rel, line=line, col=col, path="", message=message, hint=hint, rule=rule, severity=severity)

