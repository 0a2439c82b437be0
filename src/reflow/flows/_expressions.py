"""A safe evaluator for condition expressions: Python syntax, a small whitelist, no ``eval``.

Allowed: literals, ``data`` (and ``env``, ``runtime``), subscripts, attribute access on mappings
(``data.counter.current`` means ``data["counter"]["current"]``), comparisons (``in`` too),
``and`` / ``or`` / ``not``, arithmetic, ``x if c else y``, list/tuple/dict/set literals and calls
of a few pure functions (``len``, ``int``, ...) and string methods.  Anything else (names,
lambdas, comprehensions, dunder attributes, other calls) is rejected when the expression is
parsed, so a flow document cannot run code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ExpressionError", "compile_expression", "evaluate"]


class ExpressionError(Exception):
    """The expression is not allowed, or failed while being evaluated."""


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "sorted": sorted,
    "any": any,
    "all": all,
    "sum": sum,
}
_METHODS = frozenset(
    {
        "lower",
        "upper",
        "strip",
        "startswith",
        "endswith",
        "get",
        "keys",
        "values",
        "items",
        "split",
        "count",
        "replace",
    }
)
_NAMES = frozenset({"data", "env", "runtime"})
_CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False}
# Results larger than this (a string or list built by * or +) are refused: no memory bombs.
_MAX_SIZE = 100_000


def compile_expression(source: str) -> ast.Expression:
    """Parse and check ``source``; raises ``ExpressionError`` naming what is not allowed."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid expression {source!r}: {exc.msg}") from exc
    called = {
        id(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
    }
    for node in ast.walk(tree):
        if id(node) not in called:
            _check_node(node, source)
    return tree


def _check_node(node: ast.AST, source: str) -> None:
    allowed = (
        ast.Expression,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Subscript,
        ast.Slice,
        ast.Attribute,
        ast.Compare,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.BinOp,
        ast.IfExp,
        ast.List,
        ast.Tuple,
        ast.Dict,
        ast.Set,
        ast.Call,
        *_BINARY,
        *_UNARY,
        *_COMPARE,
    )
    if not isinstance(node, allowed):
        raise ExpressionError(f"{type(node).__name__} is not allowed in expression {source!r}")
    if isinstance(node, ast.Name) and node.id not in _NAMES and node.id not in _CONSTANTS:
        raise ExpressionError(f"unknown name {node.id!r} in expression {source!r}")
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(f"attribute {node.attr!r} is not allowed in expression {source!r}")
    if isinstance(node, ast.Call):
        if node.keywords:
            raise ExpressionError(f"keyword arguments are not allowed in {source!r}")
        func = node.func
        if isinstance(func, ast.Name) and func.id in _FUNCTIONS:
            return
        if isinstance(func, ast.Attribute) and func.attr in _METHODS:
            return
        raise ExpressionError(f"this call is not allowed in expression {source!r}")


def evaluate(source: str | ast.Expression, names: Mapping[str, Any]) -> Any:
    """Evaluate a checked expression with ``names`` (``data``, ``env``, ``runtime``)."""
    tree = compile_expression(source) if isinstance(source, str) else source
    try:
        return _eval(tree.body, names)
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from exc


def _sized(value: Any) -> Any:
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > _MAX_SIZE:
        raise ExpressionError(f"result longer than {_MAX_SIZE} items")
    return value


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        sized = isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int)
        if sized and len(seq) * times > _MAX_SIZE:
            raise ExpressionError(f"result longer than {_MAX_SIZE} items")


def _eval(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return names.get(node.id, {})
    if isinstance(node, ast.Subscript):
        target = _eval(node.value, names)
        if isinstance(node.slice, ast.Slice):
            parts = [
                None if part is None else _eval(part, names)
                for part in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            return target[slice(*parts)]
        return target[_eval(node.slice, names)]
    if isinstance(node, ast.Attribute):
        target = _eval(node.value, names)
        if isinstance(target, Mapping):
            return target.get(node.attr)
        raise ExpressionError(f"cannot read attribute {node.attr!r} of {type(target).__name__}")
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            value: Any = True
            for operand in node.values:
                value = _eval(operand, names)
                if not value:
                    return value
            return value
        value = False
        for operand in node.values:
            value = _eval(operand, names)
            if value:
                return value
        return value
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, names))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, names), _eval(node.right, names)
        if isinstance(node.op, ast.Mult):
            _check_repeat(left, right)
        return _sized(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, names)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, names) else node.orelse, names)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_eval(element, names) for element in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(items)
        return set(items) if isinstance(node, ast.Set) else items
    if isinstance(node, ast.Dict):
        return {
            _eval(k, names) if k is not None else None: _eval(v, names)
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.Call):
        args = [_eval(arg, names) for arg in node.args]
        if isinstance(node.func, ast.Name):
            return _sized(_FUNCTIONS[node.func.id](*args))
        assert isinstance(node.func, ast.Attribute)
        target = _eval(node.func.value, names)
        if not isinstance(target, (str, Mapping)):
            raise ExpressionError(f"method {node.func.attr!r} needs a string or a mapping")
        method = getattr(target, node.func.attr, None)
        if method is None:
            raise ExpressionError(f"{type(target).__name__} has no method {node.func.attr!r}")
        return _sized(method(*args))
    raise ExpressionError(f"{type(node).__name__} is not allowed")
