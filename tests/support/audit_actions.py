"""Every audit action the code can write, found by reading the audit.record calls."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("authencode", "clinic_qr", "liff_web", "linebot_app", "reader_agent")


class Unresolved(Exception):
    pass


class _Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                return node
        return None


def _modules(root: Path) -> list[_Module]:
    return [
        _Module(path)
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _calls(modules: list[_Module], name: str) -> Iterator[tuple[_Module, ast.Call]]:
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    yield module, node


def _argument(call: ast.Call, position: int, name: str, count: int = 0) -> ast.expr | None:
    """The argument a call passes for parameter ``name`` (``position`` of ``count``)."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    starred = [i for i, arg in enumerate(call.args) if isinstance(arg, ast.Starred)]
    if starred and position > starred[-1]:  # f(a, *rest, b): count from the end
        from_end = count - position
        return call.args[-from_end] if len(call.args) - from_end > starred[-1] else None
    if starred and position >= starred[0]:
        return None
    return call.args[position] if position < len(call.args) else None


def _values(modules: list[_Module], module: _Module, node: ast.expr, depth: int = 0) -> set[str]:
    """The strings an expression can be, following a parameter to its callers' arguments."""
    if depth > 5:
        raise Unresolved(ast.unparse(node))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _values(modules, module, node.body, depth) | _values(
            modules, module, node.orelse, depth
        )
    if isinstance(node, ast.JoinedStr):
        parts = [
            _values(
                modules, module, part.value if isinstance(part, ast.FormattedValue) else part, depth
            )
            for part in node.values
        ]
        return {"".join(choice) for choice in itertools.product(*parts)}
    if isinstance(node, ast.Name):
        function = module.enclosing_function(node)
        names = [a.arg for a in function.args.args] if function else []
        if function is None or node.id not in names:
            raise Unresolved(f"{module.path}: {ast.unparse(node)}")
        position = names.index(node.id)
        found: set[str] = set()
        for caller_module, call in _calls(modules, function.name):
            arg = _argument(call, position, node.id, len(names))
            if arg is None:
                raise Unresolved(f"{caller_module.path}:{call.lineno} {function.name}()")
            found |= _values(modules, caller_module, arg, depth + 1)
        if not found:
            raise Unresolved(f"{module.path}: no caller of {function.name}")
        return found
    raise Unresolved(f"{module.path}:{node.lineno} {ast.unparse(node)}")


def written_actions(root: Path) -> dict[str, str]:
    """Each action -> where it is written (path:line); raises Unresolved for an action the
    reader cannot work out (make it a literal, or a parameter its callers pass literally)."""
    modules = _modules(root)
    actions: dict[str, str] = {}
    for module, call in _calls(modules, "record"):
        func = call.func
        if not (isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "audit"):
            continue
        action = _argument(call, 2, "action")
        assert action is not None, f"{module.path}:{call.lineno}"
        for value in _values(modules, module, action):
            actions.setdefault(value, f"{module.path.relative_to(root)}:{call.lineno}")
    return actions
