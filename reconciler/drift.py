"""Drift: fields of a Git-managed object that differ live from what the reconciler applied. Pure.

A run applies a manifest from Git only when its content changed (the applied-hash annotation), so a
hand change (`kubectl edit` of a Service's selector, a ConfigMap's data) would otherwise stay
forever. `drifted_fields(applied, live)` compares every field the manifest sets (the fields we own;
server defaults and other managers' additions are not ours and are ignored) and names the ones that
differ, as paths like `spec.selector.app` or `spec.ports[0].port`. Fields the engine itself moves
between runs (a Service's `rollouts-pod-template-hash`, route weights) are taken from the live
object before comparing, so they are never reported.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler import POD_TEMPLATE_HASH_LABEL

# metadata the server owns or the reconciler adds itself; never drift
_IGNORED_METADATA = {"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink"}


# Fields the engine writes itself between runs (selectors follow the stable/canary hash, routers set
# weights): not drift, whatever Git says. Paths as drifted_fields names them, [N] for any index.
ENGINE_OWNED = {
    "Service": [f"spec.selector.{POD_TEMPLATE_HASH_LABEL}"],
    "VirtualService": ["spec.http[N].route[N].weight"],
    "DestinationRule": [f"spec.subsets[N].labels.{POD_TEMPLATE_HASH_LABEL}"],
}


def _engine_owned(kind: str, path: str) -> bool:
    generic = re.sub(r"\[\d+\]", "[N]", path)
    return generic in ENGINE_OWNED.get(kind, ())


def drifted_fields(applied: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Paths of the fields `applied` sets that `live` does not have with the same value."""
    out = _drifted(applied, live)
    return [path for path in out if not _engine_owned(str(applied.get("kind", "")), path)]


def _drifted(applied: dict[str, Any], live: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in applied.items():
        if key in ("status", "apiVersion", "kind"):
            continue
        if key == "metadata":
            value = {k: v for k, v in (value or {}).items() if k not in _IGNORED_METADATA and k not in ("name", "namespace")}
        _compare(value, live.get(key), key, out)
    return out


def _compare(want: Any, have: Any, where: str, out: list[str]) -> None:
    if isinstance(want, dict):
        if not isinstance(have, dict):
            out.append(where)
            return
        for key, value in want.items():
            _compare(value, have.get(key), f"{where}.{key}", out)
    elif isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            out.append(where)
            return
        for index, (value, other) in enumerate(zip(want, have)):
            _compare(value, other, f"{where}[{index}]", out)
    elif want is None:
        return  # `field: null` in YAML sets nothing
    elif not _same_scalar(want, have):
        out.append(where)


def _same_scalar(want: Any, have: Any) -> bool:
    if want == have and type(want) is type(have):
        return True
    if isinstance(want, bool) or isinstance(have, bool):
        return want == have and isinstance(want, bool) and isinstance(have, bool)
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return want == have
    return False
