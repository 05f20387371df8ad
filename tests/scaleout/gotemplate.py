"""Just enough of Go's text/template (and Helm's functions) to render our own Helm chart in
CI, where no ``helm`` binary can be installed from the package registries. Supported:
``{{ pipeline }}`` with ``-`` trimming, comments, ``if``/``else if``/``else``, ``with``,
``range`` (lists and maps, with ``$k, $v :=``), ``define``/``include``, variables ``$`` and
``$name``, and the functions the chart uses. Anything else raises: a chart using more must
extend this (or be checked by a real ``helm template``)."""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Callable
from typing import Any

import yaml

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    for match in _ACTION.finditer(text):
        chunk = text[pos:match.start()]
        if match.group(1):
            chunk = chunk.rstrip()
        out.append(("text", chunk))
        out.append(("action", match.group(2)))
        pos = match.end()
        if match.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip())
    out.append(("text", text[pos:]))
    return [t for t in out if t != ("text", "")]


class Node:
    def __init__(self, kind: str, arg: str = "") -> None:
        self.kind, self.arg = kind, arg
        self.body: list[Any] = []
        self.orelse: list[Any] = []


def _parse(tokens: list[tuple[str, str]], defines: dict[str, list[Any]]) -> list[Any]:
    root: list[Any] = []
    stack: list[tuple[Node, list[Any]]] = []
    current = root
    for kind, value in tokens:
        if kind == "text":
            current.append(value)
            continue
        word, _, rest = value.partition(" ")
        if value.startswith("/*"):
            continue
        if word in ("if", "with", "range", "define"):
            node = Node(word, rest.strip())
            current.append(node) if word != "define" else None
            if word == "define":
                defines[shlex.split(rest)[0]] = node.body
            stack.append((node, current))
            current = node.body
        elif word == "else":
            node, parent = stack[-1]
            if rest.startswith("if "):  # else if: a nested if in the else branch
                inner = Node("if", rest[3:].strip())
                node.orelse.append(inner)
                stack[-1] = (node, parent)
                stack.append((inner, node.orelse))
                inner.arg = rest[3:].strip()
                inner.kind = "elif"
                current = inner.body
            else:
                current = node.orelse
        elif word == "end":
            node, parent = stack.pop()
            while node.kind == "elif":
                node, parent = stack.pop()
            current = parent
        else:
            current.append(Node("out", value))
    if stack:
        raise ValueError("unclosed block")
    return root


def _split_pipeline(expr: str) -> list[list[str]]:
    commands, words, depth, word, quote = [], [], 0, "", False
    for ch in expr:
        if quote:
            word += ch
            quote = ch != '"' or word.endswith('\\"')
            continue
        if ch == '"':
            quote, word = True, word + ch
        elif ch == "(":
            depth += 1
            word += ch
        elif ch == ")":
            depth -= 1
            word += ch
        elif ch == "|" and depth == 0:
            words.append(word) if word else None
            commands.append(words)
            words, word = [], ""
        elif ch.isspace() and depth == 0:
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    if word:
        words.append(word)
    commands.append(words)
    return commands


def _to_yaml(value: Any) -> str:
    if value in ({}, [], None):
        return "{}" if value == {} else ("[]" if value == [] else "null")
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _indent(n: int, text: str) -> str:
    return "\n".join(" " * n + line for line in str(text).split("\n"))


def _truthy(value: Any) -> bool:
    return bool(value) and value != 0


class Renderer:
    """Renders templates against ``root`` (Values, Release, Chart)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.defines: dict[str, list[Any]] = {}
        self.funcs: dict[str, Callable[..., Any]] = {
            "include": lambda name, dot: self._run(self.defines[name], dot, {}),
            "toYaml": _to_yaml, "nindent": lambda n, s: "\n" + _indent(n, s), "indent": _indent,
            "quote": lambda v: '"' + str("" if v is None else v).replace('"', '\\"') + '"',
            "default": lambda d, v=None: v if _truthy(v) else d, "toString": lambda v: str(v),
            "trunc": lambda n, s: str(s)[:n], "trimSuffix": lambda suf, s: s[: -len(suf)] if s.endswith(suf) else s,
            "printf": lambda fmt, *a: re.sub(r"%[sd]", "{}", fmt).format(*a), "contains": lambda a, b: a in b,
            "not": lambda v: not _truthy(v), "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
            "and": lambda *a: all(_truthy(x) for x in a), "or": lambda *a: next((x for x in a if _truthy(x)), a[-1]),
            "add": lambda *a: sum(int(x) for x in a),
            "sha256sum": lambda s: hashlib.sha256(str(s).encode()).hexdigest(),
        }

    def load_helpers(self, text: str) -> None:
        _parse(_tokens(text), self.defines)

    def render(self, text: str) -> str:
        return self._run(_parse(_tokens(text), self.defines), self.root, {})

    def _run(self, nodes: list[Any], dot: Any, variables: dict[str, Any]) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif node.kind == "out":
                value = self._pipeline(node.arg, dot, variables)
                out.append("" if value is None else _scalar(value))
            elif node.kind in ("if", "elif"):
                branch = node.body if _truthy(self._pipeline(node.arg, dot, variables)) else node.orelse
                out.append(self._run(branch, dot, variables))
            elif node.kind == "with":
                value = self._pipeline(node.arg, dot, variables)
                out.append(self._run(node.body, value, variables) if _truthy(value)
                           else self._run(node.orelse, dot, variables))
            elif node.kind == "range":
                out.append(self._range(node, dot, variables))
        return "".join(out)

    def _range(self, node: Node, dot: Any, variables: dict[str, Any]) -> str:
        names, _, expr = node.arg.rpartition(":=")
        value = self._pipeline(expr.strip() if names else node.arg, dot, variables)
        keys = [n.strip() for n in names.split(",")] if names else []
        items = sorted(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
        if not items:
            return self._run(node.orelse, dot, variables)
        out = []
        for key, item in items:
            scope = dict(variables)
            if len(keys) == 2:
                scope[keys[0]], scope[keys[1]] = key, item
            elif len(keys) == 1:
                scope[keys[0]] = item
            out.append(self._run(node.body, item, scope))
        return "".join(out)

    def _pipeline(self, expr: str, dot: Any, variables: dict[str, Any]) -> Any:
        value: Any = _MISSING
        for words in _split_pipeline(expr):
            args = [self._operand(w, dot, variables) for w in words[1:]]
            if value is not _MISSING:
                args.append(value)
            head = words[0]
            if head in self.funcs:
                value = self.funcs[head](*args)
            elif args:
                raise ValueError(f"unknown function {head!r}")
            else:
                value = self._operand(head, dot, variables)
        return value

    def _operand(self, word: str, dot: Any, variables: dict[str, Any]) -> Any:
        if word.startswith("(") and word.endswith(")"):
            return self._pipeline(word[1:-1], dot, variables)
        if word.startswith('"'):
            return word[1:-1].replace('\\"', '"')
        if re.fullmatch(r"-?\d+", word):
            return int(word)
        if word in ("true", "false"):
            return word == "true"
        if word == ".":
            return dot
        if word.startswith("$"):
            name, _, path = word.partition(".")
            base = self.root if name == "$" else variables[name]
            return _walk(base, path)
        if word.startswith("."):
            return _walk(dot, word[1:])
        if word in self.funcs:
            return self.funcs[word]()
        raise ValueError(f"cannot evaluate {word!r}")


_MISSING = object()


def _walk(value: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _to_yaml(value)
    return str(value)
