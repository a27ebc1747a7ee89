"""The README documents what the code reads: every environment variable, every source."""

import ast
import re
from pathlib import Path

import pytest

from tweetbots.sources import SourceError, parse_spec

REPO = Path(__file__).parents[1]
# The families of variables the project reads or sets for the tools it drives.
VARIABLE = re.compile(r"(?:TWEETBOTS|WANDB|HF|PREFECT)_[A-Z0-9_]+")


def _read_in_python(path: Path) -> set[str]:
    """Variable names the module uses: string constants that are exactly a name
    (`os.environ.get("X")`, `secret(..., "X")`, `BASE_URL_ENV = "X"`) and Prefect
    settings it imports (`from prefect.settings import PREFECT_UI_URL`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if VARIABLE.fullmatch(node.value):
                found.add(node.value)
        elif isinstance(node, ast.ImportFrom) and node.module == "prefect.settings":
            found |= {alias.name for alias in node.names if VARIABLE.fullmatch(alias.name)}
    return found


def _read_by_the_project() -> set[str]:
    found = set()
    for package in ("tweetbots", "tasks", "flows"):
        for path in (REPO / package).rglob("*.py"):
            found |= _read_in_python(path)
    for path in [REPO / "prefect.yaml", *(REPO / "deployments").glob("*.*")]:
        if path.suffix in {".yaml", ".json"}:
            found |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return found


def _section(title: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"\n## {title}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def test_every_environment_variable_the_project_reads_is_in_the_readme_table():
    table = _section("Environment variables")
    documented = {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Z0-9_]+)`", row.split(" | ")[0])
    }
    read = _read_by_the_project()
    assert {"TWEETBOTS_HOME", "TWEETBOTS_MASTODON_BASE_URL", "HF_TOKEN"} <= read  # it looks
    assert sorted(read - documented) == []


def _source_schemes() -> list[str]:
    with pytest.raises(SourceError) as error:
        parse_spec("no-such-scheme:x")
    return re.findall(r"(\w+):\.\.\.", str(error.value))


def test_every_source_is_in_what_it_does():
    items = _section("What it does").split("\n- ")
    scrape = next(item for item in items if item.startswith("**scrape**"))
    schemes = _source_schemes()
    assert {"archive", "mastodon", "bluesky"} <= set(schemes)  # the list is read right
    assert [s for s in schemes if f"`{s}:" not in scrape] == []
