"""Enough of GitHub Actions' expression language to evaluate this project's workflows offline.

Used by ``ci/rehearse.py`` (``make ci-local``) to decide which steps run and with what
environment, and by the tests to check the label and concurrency logic. It follows GitHub's
documented semantics for what the workflows use: literals, context paths with ``*`` filters,
``!``, comparisons (strings compare case-insensitively), ``&&`` and ``||`` returning an
operand, and the functions below. Anything else raises ``ExpressionError`` rather than guess.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
TOKEN = re.compile(
    r"\s*(?:(?P<number>0x[0-9a-fA-F]+|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    pass


class Filtered(list):
    """The result of ``.*``: property access maps over the items."""


def evaluate(
    expression: str, contexts: Mapping[str, Any], status: Mapping[str, bool] | None = None
) -> Any:
    """The value of one expression (without ``${{ }}``)."""
    parser = _Parser(_tokens(expression), contexts, status or {})
    value = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()[1]!r} in {expression!r}")
    return value


def interpolate(text: Any, contexts: Mapping[str, Any]) -> Any:
    """A workflow value with every ``${{ expression }}`` replaced by its value as a string."""
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    whole = TEMPLATE.fullmatch(stripped)
    if whole:  # a lone expression keeps its type (cancel-in-progress: ${{ ... }} is a boolean)
        return evaluate(whole.group(1), contexts)
    return TEMPLATE.sub(lambda m: to_string(evaluate(m.group(1), contexts)), text)


def condition(text: Any, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> bool:
    """A step's or job's ``if:``; without a status function it means ``success() && (...)``."""
    if text is None:
        text = "success()"
    if isinstance(text, bool):
        return text
    expression = str(text).strip()
    whole = TEMPLATE.fullmatch(expression)
    if whole:
        expression = whole.group(1).strip()
    if not any(re.search(rf"\b{name}\s*\(", expression) for name in STATUS_FUNCTIONS):
        expression = f"success() && ({expression})"
    return truthy(evaluate(expression, contexts, status))


def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, indent=2)


def _to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    if type(left) is type(right) and not isinstance(left, (int, float)):
        return left == right
    return _to_number(left) == _to_number(right)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if isinstance(left, str) and isinstance(right, str):
        a, b = left.casefold(), right.casefold()
    else:
        a, b = _to_number(left), _to_number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_equal(item, needle) for item in haystack)
    return to_string(needle).casefold() in to_string(haystack).casefold()


def _format(template: str, *args: Any) -> str:
    def replace(match: re.Match) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        return to_string(args[int(match.group(1))])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", replace, template)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": lambda s, p: to_string(s).casefold().startswith(to_string(p).casefold()),
    "endswith": lambda s, p: to_string(s).casefold().endswith(to_string(p).casefold()),
    "format": _format,
    "join": lambda items, sep=",": (
        to_string(sep).join(to_string(i) for i in items)
        if isinstance(items, list)
        else to_string(items)
    ),
    "tojson": lambda value: json.dumps(value, indent=2),
    "fromjson": json.loads,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = TOKEN.match(text, position)
        if not match:
            raise ExpressionError(f"cannot read {text[position:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens, contexts, status):
        self.tokens, self.index = tokens, 0
        self.contexts, self.status = contexts, status

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'}, found {token and token[1]!r}")
        self.index += 1
        return token

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] == value:
            self.index += 1
            return True
        return False

    def expression(self) -> Any:
        value = self.conjunction()
        while self.accept("||"):
            right = self.conjunction()
            value = value if truthy(value) else right
        return value

    def conjunction(self) -> Any:
        value = self.negation()
        while self.accept("&&"):
            right = self.negation()
            value = right if truthy(value) else value
        return value

    def negation(self) -> Any:
        if self.accept("!"):
            return not truthy(self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        value = self.primary()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.index += 1
            return _compare(token[1], value, self.primary())
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return _to_number(text)
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "op" and text == "(":
            value = self.expression()
            self.take(")")
            return self.access(value)
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.accept("("):
            args = []
            if not self.accept(")"):
                args.append(self.expression())
                while self.accept(","):
                    args.append(self.expression())
                self.take(")")
            return self.access(self.call(text, args))
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r}")
        return self.access(self.contexts[text])

    def call(self, name: str, args: list[Any]) -> Any:
        lowered = name.lower()
        if lowered in STATUS_FUNCTIONS:
            if lowered == "always":
                return True
            return bool(self.status.get(lowered, lowered == "success"))
        if lowered not in FUNCTIONS:
            raise ExpressionError(f"function {name}() is not supported here")
        return FUNCTIONS[lowered](*args)

    def access(self, value: Any) -> Any:
        while True:
            if self.accept("."):
                if self.accept("*"):
                    value = _star(value)
                    continue
                value = _property(value, self.take()[1])
            elif self.accept("["):
                key = self.expression()
                self.take("]")
                value = _star(value) if key == "*" else _property(value, key)
            else:
                return value


def _star(value: Any) -> Filtered:
    if isinstance(value, dict):
        return Filtered(value.values())
    return Filtered(value if isinstance(value, list) else [])


def _property(value: Any, key: Any) -> Any:
    if isinstance(value, Filtered):
        found = (_property(item, key) for item in value)
        return Filtered(item for item in found if item is not None)
    if isinstance(value, dict):
        lowered = str(key).lower()  # context keys are case-insensitive
        return next((v for k, v in value.items() if str(k).lower() == lowered), None)
    if isinstance(value, list) and isinstance(key, (int, float)) and not isinstance(key, bool):
        index = int(key)
        return value[index] if 0 <= index < len(value) else None
    return None
