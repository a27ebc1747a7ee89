"""The version of the code that decides a stage's output, read from what the code means.

Each stage names the modules that decide its output: its own module and the helpers it
calls (`CODE` in `tweetbots/stages/<stage>.py`). Their version is a hash of their syntax
trees without docstrings, comments or logging calls: rewording a log line, a comment or a
docstring changes nothing, while any change to what the code does is a new version. The
stage then reruns, and so does every stage that reads its output, because that output
gets a new fingerprint. Modules in no stage's list (the CLI, the demo data, the W&B log
reader) can be edited without rerunning anything.

Prefect's own TASK_SOURCE hashes only a task function's text, blind to the helpers it
calls (prefect.md, upstream #23062); this is the Dagster `code_version` idea, computed.
"""

import ast
import hashlib
import importlib.util
import threading
from functools import cache
from pathlib import Path

_LOGGERS = {"log", "logger", "logging"}
_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
# One parse at a time: CPython 3.11's ast.parse keeps its depth count per interpreter, and
# two threads parsing at once (the nightly senses its bots in a pool) can fail one with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905).
_PARSING = threading.Lock()


def code_version(*modules: str) -> str:
    """One version for the named modules (dotted names), in any order."""
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        digest.update(f"{name}={module_version(name)}\n".encode())
    return digest.hexdigest()[:16]


@cache
def module_version(name: str) -> str:
    """The hash of one module's meaning: its syntax tree, minus docstrings and log calls."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"module {name!r} has no source to version: check the stage's CODE")
    source = Path(spec.origin).read_text(encoding="utf-8")
    with _PARSING:
        tree = _WithoutWords().visit(ast.parse(source))
    # Unparsed, not dumped: the dump's fields change between Python versions, the code's
    # text does not, and a Python upgrade on a worker must not retrain every bot.
    return hashlib.sha256(ast.unparse(tree).encode()).hexdigest()[:16]


class _WithoutWords(ast.NodeTransformer):
    """Drops what documents or reports the code and never decides an output."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if isinstance(node, _DOCUMENTED) and node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:]
        for field, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, field, [s for s in value if not _is_log_call(s)] or [ast.Pass()])
        return node


_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _is_log_call(statement: ast.stmt) -> bool:
    """A bare `log.info(...)`-style call: a statement that only reports."""
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return False
    function = statement.value.func
    return (
        isinstance(function, ast.Attribute)
        and function.attr in _LOG_METHODS
        and isinstance(function.value, ast.Name)
        and function.value.id in _LOGGERS
    )
