"""The web provider's `jsonPath` (a JSONPath; Kubernetes-style braces are accepted and removed),
compiled with jsonpath-ng. Apart from the HTTP call (providers/web.py) so that the template checks
(analysis/checks.py) can reject an invalid path without importing an HTTP client."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jsonpath_ng import JSONPath


def compile_json_path(text: str) -> JSONPath:
    from jsonpath_ng.ext.parser import parse

    text = (text or "").strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    return parse(text or "$")
