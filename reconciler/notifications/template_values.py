"""Go values in the notification templates: how Go's `text/template` and `fmt` see the plain JSON
values a template reads (truth, printing, numbers), the error every template part raises, and the
limits on what a template may render."""

from __future__ import annotations

MAX_OUTPUT_CHARS = 256 * 1024  # a template that renders more than this is refused
MAX_RANGE_ITEMS = 10_000


class TemplateError(Exception):
    """A template that cannot be parsed or rendered; `line` is 1-based inside the template text."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line


NO_VALUE = object()  # Go's invalid reflect.Value: a missing key


def truthy(value) -> bool:
    """Go's template truth: false, 0, nil, "" and empty collections are false."""
    if value is NO_VALUE or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True


def go_string(value) -> str:
    """How Go's fmt prints a value from JSON (%v)."""
    if value is NO_VALUE or value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        return text.replace("e+", "e+").replace("e-0", "e-0")
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[" + " ".join(f"{go_string(k)}:{go_string(value[k])}" for k in sorted(value, key=str)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


def go_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "interface {}"


def plain(value):
    return None if value is NO_VALUE else value


def number(value) -> float | int:
    value = plain(value)
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return 0
    return 0


def to_int(value) -> int:
    return int(number(value))
