"""The tests mirror the tree: a library module's tests are found by its path, no test reaches
a private name of the library, and every test TESTING.md names exists.

    tweetbots/sources/mastodon.py   ->  tests/tweetbots/sources/test_mastodon.py
    tweetbots/sources/__init__.py   ->  tests/tweetbots/sources/test_sources.py
    tasks/stage.py                  ->  tests/tasks/test_stage.py

Shared fakes and helpers live in tests/fakes/; tests/e2e, tests/deployments, tests/bench and
the tests of the README and of this tree test the product as a whole, not one module.
"""

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
LIBRARY = ("tweetbots", "tasks", "flows")
DOCS = ("TESTING.md", "README.md")


# -- one test module per library module ------------------------------------------------


def library_module_of(test_module: Path) -> Path:
    """The library module a test module tests, by its path: tests/a/b/test_c.py tests
    a/b/c.py, and tests/a/b/test_b.py the package a/b/__init__.py."""
    *folders, name = test_module.relative_to(TESTS).with_suffix("").parts
    tested = name.removeprefix("test_")
    if folders and tested == folders[-1]:
        return Path(*folders, "__init__.py")
    return Path(*folders, f"{tested}.py")


def test_a_test_module_is_named_by_the_module_it_tests():
    named = {
        "tweetbots/sources/test_mastodon.py": "tweetbots/sources/mastodon.py",
        "tweetbots/sources/test_sources.py": "tweetbots/sources/__init__.py",
        "tweetbots/test_clean.py": "tweetbots/clean.py",
        "tweetbots/stages/test_clean.py": "tweetbots/stages/clean.py",
        "tasks/test_stage.py": "tasks/stage.py",
    }
    for test_module, module in named.items():
        assert library_module_of(TESTS / test_module) == Path(module)


def test_every_test_module_of_the_library_mirrors_a_module():
    mirrored = [TESTS / package for package in LIBRARY]
    test_modules = sorted(p for top in mirrored for p in top.rglob("test_*.py"))
    assert test_modules, "no test module found"
    orphans = [
        f"{p.relative_to(TESTS)} (no {library_module_of(p)})"
        for p in test_modules
        if not (REPO / library_module_of(p)).is_file()
    ]
    assert orphans == [], "name each test module after the module it tests"


def test_nothing_but_test_modules_and_packages_under_the_mirrored_folders():
    """Helpers shared by tests live in tests/fakes/, not beside the tests."""
    others = [
        p.relative_to(TESTS).as_posix()
        for package in LIBRARY
        for p in (TESTS / package).rglob("*.py")
        if not p.name.startswith("test_") and p.name != "__init__.py"
    ]
    assert others == []


# -- no private name of the library ----------------------------------------------------

# A dotted path into the library, as a string: what monkeypatch.setattr or
# importlib.import_module would reach.
_DOTTED = re.compile(rf"^({'|'.join(LIBRARY)})(\.\w+)+$")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _of_library(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in LIBRARY


def private_names_reached(source: str) -> list[str]:
    """Where `source` reaches a private (`_name`) of the library: imports of one, an
    attribute of a name it imported from the library, a (name, "_attribute") call such as
    monkeypatch.setattr or getattr, and a dotted path in a string."""
    tree = ast.parse(source)
    imported, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in (a for a in node.names if _of_library(a.name)):
                if any(_private(part) for part in alias.name.split(".")):
                    found.append(f"line {node.lineno}: import {alias.name}")
                imported.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and _of_library(node.module):
            if any(_private(part) for part in node.module.split(".")):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                imported.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        found += _reached_through(node, imported)
    return found


def _reached_through(node: ast.AST, imported: set[str]) -> list[str]:
    if isinstance(node, ast.Attribute) and _private(node.attr):
        base = node.value
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in imported:
            return [f"line {node.lineno}: {ast.unparse(node)}"]
    if isinstance(node, ast.Call) and len(node.args) >= 2:
        target, attribute = node.args[:2]
        if (
            isinstance(target, ast.Name)
            and target.id in imported
            and isinstance(attribute, ast.Constant)
            and isinstance(attribute.value, str)
            and _private(attribute.value)
        ):
            return [f"line {node.lineno}: {ast.unparse(node)}"]
    is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
    if is_text and _DOTTED.match(node.value) and any(map(_private, node.value.split("."))):
        return [f"line {node.lineno}: {node.value!r}"]
    return []


@pytest.mark.parametrize(
    "source",
    [
        "from tweetbots.train import _batch_schedule",
        "from tweetbots.sources import _http",
        "from tweetbots.sources._hosts import ALLOWED_HOSTS_ENV",
        "import tweetbots.sources._http as http",
        "from tweetbots import clean\nclean._CHUNK_ROWS",
        "import tweetbots.sources\ntweetbots.sources._http.POLICY",
        "from tweetbots import lineage\nmonkeypatch.setattr(lineage, '_api', None)",
        "from flows import cli\ngetattr(cli, '_console')",
        "monkeypatch.setattr('tasks.runtime._SLOT', 1)",
    ],
)
def test_the_check_finds_a_private_name_reached(source):
    assert private_names_reached(source)


@pytest.mark.parametrize(
    "source",
    [
        "from tweetbots import __version__",
        "from tweetbots.sources import client\nclient.rate_limit_wait",
        "import torch\ntorch._dynamo.reset()",
        "self._httpd.shutdown()",
        "monkeypatch.setattr(constants, '_private', 1)",
        "'tweetbots.sources.client'",
    ],
)
def test_the_check_lets_public_names_and_other_libraries_be(source):
    assert private_names_reached(source) == []


def test_no_test_reaches_a_private_name_of_the_library():
    reached = {
        path.relative_to(TESTS).as_posix(): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := private_names_reached(path.read_text(encoding="utf-8")))
    }
    assert reached == {}, "test through public names (make one public, with a docstring)"


# -- the tests the documents name exist ------------------------------------------------

# `file::test` (relative to tests/), `::test` (another test of the file named before it)
# and `[case]` (a parametrized case of the test named before it), each in backquotes.
_REFERENCE = re.compile(r"`((?:[\w/]+/)?test_\w+\.py)?(?:::(\w+))?(\[[^`]*\])?`")


def named_tests(text: str) -> list[tuple[str, str | None]]:
    """(file, test or None) of every test reference in `text`, in order."""
    named, file = [], None
    for match in _REFERENCE.finditer(text):
        path, test, case = match.groups()
        if path:
            file = path.removeprefix("tests/")  # the README names them from the checkout
        elif not test:  # `[case]` alone, or no reference at all
            continue
        if file is None:
            raise AssertionError(f"{match.group(0)} names no file before it")
        named.append((file, test))
    return named


def test_references_are_read_as_testing_md_writes_them():
    text = "`a/test_x.py::test_one[case]`, `[other]`; `::test_two`; `tests/b/test_y.py`, `x.py`"
    assert named_tests(text) == [
        ("a/test_x.py", "test_one"),
        ("a/test_x.py", "test_two"),
        ("b/test_y.py", None),
    ]


def _defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("document", DOCS)
def test_every_test_a_document_names_exists(document):
    text = (REPO / document).read_text(encoding="utf-8")
    missing = sorted(
        {
            f"{file}::{test}" if test else file
            for file, test in named_tests(text)
            if not (TESTS / file).is_file() or (test and test not in _defined_tests(TESTS / file))
        }
    )
    assert missing == []


@pytest.mark.parametrize("document", DOCS)
def test_every_test_path_a_document_mentions_exists(document):
    """Paths like `pytest tests/tweetbots/test_clean.py`, outside the `file::test` form."""
    text = (REPO / document).read_text(encoding="utf-8")
    paths = set(re.findall(r"\btests/[\w/]+\.py\b", text))
    assert sorted(p for p in paths if not (REPO / p).is_file()) == []
