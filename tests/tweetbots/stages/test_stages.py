"""Every stage module tells its whole story, and declares all the code that decides it."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from tweetbots.stages import STAGES

# Imported by stages without deciding what they output: the data root's bookkeeping, the
# version function itself, the package's version string, the progress bars.
NOT_DECIDING = {
    "tweetbots",
    "tweetbots.stages",
    "tweetbots.store",
    "tweetbots.code_version",
    "tweetbots.progress",
}
MODULES = {name: f"tweetbots.stages.{name.replace('-', '_')}" for name in STAGES}


def _tweetbots_imports(module: str) -> set[str]:
    """The tweetbots modules `module` imports at its top level (`from tweetbots import x`
    included). A function's own import serves that function: the stage declares it when
    it calls that function (the scrape stage's readers, say)."""
    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tweetbots"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if _is_module(submodule) else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tweetbots")}
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_has_one_name_its_settings_key_and_build(name):
    stage = importlib.import_module(MODULES[name])
    assert name == stage.NAME
    assert MODULES[name] in stage.CODE
    assert callable(stage.output_key) and callable(stage.run)
    key_inputs = set(inspect.signature(stage.output_key).parameters)
    assert key_inputs <= set(inspect.signature(stage.run).parameters)


@pytest.mark.parametrize("name", STAGES)
def test_the_code_version_covers_every_module_the_stage_calls(name):
    """Follows the imports from the stage module through the modules it declares: any
    tweetbots module reached must be declared (or be bookkeeping), or an edit in it would
    reuse outputs the old code made."""
    stage = importlib.import_module(MODULES[name])
    declared, seen, todo = set(stage.CODE), set(), [MODULES[name], *stage.CODE]
    while todo:
        module = todo.pop()
        seen.add(module)
        reached = _tweetbots_imports(module) - NOT_DECIDING - set(MODULES.values())
        assert reached <= declared, (module, sorted(reached - declared))
        todo += sorted(reached - seen)
