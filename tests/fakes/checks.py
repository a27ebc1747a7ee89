"""Checks many tests make: an error is one line naming what it must, and a tree of files is
what it was (every file compared by its digest)."""

import hashlib
from pathlib import Path

import pytest


def one_line(error: pytest.ExceptionInfo, *parts: str) -> str:
    """The error's message, checked to be one line that holds each of `parts`."""
    message = str(error.value)
    assert "\n" not in message, message
    for part in parts:
        assert part in message, (part, message)
    return message


def snapshot(top: Path, *skip: Path, folders: bool = False) -> dict[str, str]:
    """Every file under `top` (none under a `skip` folder) with its sha256; with `folders`,
    every folder too, so that a folder left behind shows."""
    return {
        p.relative_to(top).as_posix(): _digest(p) if p.is_file() else "<folder>"
        for p in sorted(top.rglob("*"))
        if (p.is_file() or (folders and p.is_dir())) and not any(s in p.parents for s in skip)
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
