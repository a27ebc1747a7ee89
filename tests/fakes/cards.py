"""Reading a model card's Markdown the way a reader sees it: its headings and table rows."""

import re


def headings(text: str) -> list[str]:
    """The card's `## ` headings, in order."""
    return re.findall(r"^## .+$", text, re.MULTILINE)


def table(text: str) -> list[list[str]]:
    """Every table row's cells, split at the pipes a name cannot escape (`\\|` stays)."""
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows]
