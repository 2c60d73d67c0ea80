"""The safe condition evaluator: every documented form, Argo's typing rules, and its refusals."""

import math

import pytest

from reconciler.analysis.expr import ExprError, check_expression, compile_expression, evaluate, evaluate_condition


@pytest.mark.parametrize(
    "text, result, expected",
    [
        # comparisons on a scalar (Prometheus scalar, Web number)
        ("result >= 0.95", 0.97, True),
        ("result >= 0.95", 0.90, False),
        ("result > 1", 2, True),
        ("result < 1", 2, False),
        ("result <= 2", 2, True),
        ("result == 2", 2.0, True),
        ("result != 2", 3, True),
        # indexing a vector (Prometheus vector)
        ("result[0] >= 0.95", [0.99, 0.1], True),
        ("result[1] >= 0.95", [0.99, 0.1], False),
        ("result[-1] < 0.5", [0.99, 0.1], True),
        # strings (Web provider, Job-less checks)
        ("result == 'true'", "true", True),
        ('result == "ok"', "ok", True),
        ("result != 'true'", "false", True),
        # booleans
        ("result == true", True, True),
        ("result", True, True),
        ("result == false", True, False),
        # logic, both spellings
        ("result > 0 and result < 1", 0.5, True),
        ("result > 0 && result < 1", 1.5, False),
        ("result < 0 or result > 1", 1.5, True),
        ("result < 0 || result > 1", 0.5, False),
        ("not (result > 1)", 0.5, True),
        ("!(result > 1)", 2, False),
        ("not result", False, True),
        # len, isNaN, isInf, isNil
        ("len(result) == 0", [], True),
        ("len(result) == 0 || result[0] >= 0.95", [], True),
        ("len(result) > 0 && result[0] >= 0.95", [0.96], True),
        ("isNaN(result)", math.nan, True),
        ("isNaN(result)", 1.0, False),
        ("!isNaN(result) && result >= 0.95", math.nan, False),
        ("isInf(result)", math.inf, True),
        ("isInf(result)", 3.0, False),
        ("isNil(result)", None, True),
        # all / any / none / one / count / filter / map over a vector
        ("all(result, {# > 0.9})", [0.95, 0.99], True),
        ("all(result, {# > 0.9})", [0.95, 0.5], False),
        ("all(result, # > 0.9)", [0.95, 0.99], True),
        ("any(result, {# < 0.5})", [0.95, 0.4], True),
        ("any(result, {# < 0.5})", [0.95, 0.6], False),
        ("none(result, {# < 0.5})", [0.95, 0.6], True),
        ("one(result, {# < 0.5})", [0.1, 0.6], True),
        ("count(result, {# > 0.5}) >= 2", [0.6, 0.7, 0.1], True),
        ("len(filter(result, {# > 0.5})) == 2", [0.6, 0.7, 0.1], True),
        ("all(result, {isNaN(#) == false})", [0.6], True),
        ("all(result, true)", [], True),
        # conversions and defaults
        ("asInt(result) == 3", "3", True),
        ("asFloat(result) > 0.5", "0.75", True),
        ("asInt(result) == 3", 3.7, True),
        ("default(result, 0) == 0", None, True),
        ("default(result, 0) == 5", 5, True),
        # maps (Web provider returning an object)
        ("result.status == 'ok'", {"status": "ok"}, True),
        ("result['status'] == 'ok'", {"status": "ok"}, True),
        ("result.missing == nil", {"status": "ok"}, True),
        ("result.data.rate > 0.9", {"data": {"rate": 0.95}}, True),
        # arithmetic and precedence
        ("result * 100 >= 95", 0.95, True),
        ("result / 2 == 0.5", 1, True),
        ("result % 2 == 1", 3, True),
        ("2 ** 3 == result", 8, True),
        ("-result == -1", 1, True),
        ("result + 1 * 2 == 5", 3, True),
        ("(result + 1) * 2 == 8", 3, True),
        ("true or false and false", None, True),
        # membership and string operators
        ("result in [200, 201]", 201, True),
        ("result not in [200, 201]", 500, True),
        ("'a' in result", {"a": 1}, True),
        ("result contains 'ell'", "hello", True),
        ("result startsWith 'he'", "hello", True),
        ("result endsWith 'lo'", "hello", True),
        ("result matches '^h.*o$'", "hello", True),
        # conditional
        ("(len(result) > 0 ? result[0] : 1.0) >= 0.95", [], True),
    ],
)
def test_each_form(text, result, expected):
    assert evaluate_condition(text, result) is expected


def test_nan_compares_false_like_go():
    assert evaluate_condition("result >= 0.95", math.nan) is False
    assert evaluate_condition("result < 0.95", math.nan) is False


def test_bool_is_not_a_number():
    assert evaluate_condition("result == 1", True) is False


def test_number_and_string_are_never_equal():
    assert evaluate_condition("result == '1'", 1) is False


def test_division_by_zero_is_infinite_as_in_go():
    assert evaluate_condition("isInf(result / 0)", 1) is True
    assert evaluate_condition("isNaN(result / 0)", 0) is True


@pytest.mark.parametrize(
    "text, result, message",
    [
        ("result[0] >= 0.95", [], "index out of range"),
        ("result > 'a'", 1, "invalid operation"),
        ("result and true", 1, "needs a bool"),
        ("result + 1", 1, "expected bool"),
        ("asInt(result) > 1", "x", "not an integer"),
        ("isNaN(result)", "x", "needs a number"),
        ("result.a > 0", None, "from nil"),
        ("unknown > 0", 1, "unknown name"),
        ("all(result, {#})", [1], "needs a bool"),
        ("1 % 0 == 0", None, "divide by zero"),
    ],
)
def test_runtime_errors_are_expr_errors(text, result, message):
    with pytest.raises(ExprError, match=message):
        evaluate_condition(text, result)


@pytest.mark.parametrize(
    "text, message",
    [
        ("result >=", "unexpected end"),
        ("result >= 0.95)", r"unexpected '\)'"),
        ("(result", r"expected '\)'"),
        ("result @ 1", "unexpected character"),
        ("__import__('os').system('true')", "unknown function"),
        ("open('/etc/passwd')", "unknown function"),
        ("# > 1", "only allowed inside a predicate"),
        ("{# > 1}", "only allowed as the second argument"),
        ("all(result)", "takes a collection and a predicate"),
        ("", "empty expression"),
        ("result[0] >= 0.95; import os", "unexpected character"),
        ("lambda: 1", "unexpected"),
    ],
)
def test_check_expression_reports_what_is_unsupported(text, message):
    problem = check_expression(text)
    assert problem is not None
    import re

    assert re.search(message, problem), problem


def test_check_expression_accepts_the_documented_forms():
    for text in [
        "result[0] >= 0.95",
        "result == 'true'",
        "len(result) == 0 || result[0] >= 0.95",
        "all(result, {# > 0.9})",
        "isNaN(result) or isInf(result)",
        "asInt(result) > 0 && asFloat(result) < 1.5",
        "default(result, 0) >= 0",
    ]:
        assert check_expression(text) is None, text


def test_dunder_fields_are_plain_map_lookups_not_python_attributes():
    # `.x` only ever looks a key up in a map; Python objects are never touched.
    assert evaluate("result.__class__", {"result": {"__class__": 1}}) == 1
    with pytest.raises(ExprError):
        evaluate("result.__class__", {"result": 1.0})


def test_compile_once_evaluate_many():
    compiled = compile_expression("result >= 0.95")
    assert [compiled.evaluate({"result": v}) for v in (0.9, 0.95, 1.0)] == [False, True, True]


def test_deep_nesting_is_refused_not_crashing():
    text = "(" * 3000 + "1" + ")" * 3000 + " == 1"
    with pytest.raises(ExprError):
        evaluate_condition(text, None)


# -- properties -------------------------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

floats = st.floats(allow_nan=True, allow_infinity=True)


@given(floats, floats)
def test_comparisons_agree_with_ieee_floats(a, b):
    for op, expected in ((">=", a >= b), ("<", a < b), ("==", a == b), ("!=", a != b)):
        assert evaluate_condition(f"result[0] {op} result[1]", [a, b]) is expected


@settings(max_examples=300)
@given(st.text(alphabet="result[]0123456789.<>=!&|()'\"#{}, andornotlen+-*/%?:", max_size=40))
def test_any_text_either_evaluates_or_raises_expr_error(text):
    try:
        evaluate_condition(text, [0.5, 1.0])
    except ExprError:
        pass
