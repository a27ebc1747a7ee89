"""Progress bars for the stages' long loops, on a terminal and nowhere else.

tqdm with `disable=None` draws a bar only when stderr is a terminal: a worker's log, a
flow run's log or a test's captured output never fills with redraws. Bars are
`leave=False`: gone once done, so what stays on the terminal is the log lines.
"""

from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def bar(
    items: Iterable[T] | None = None, *, desc: str, unit: str, total: int | None = None
) -> tqdm:
    """A bar over `items` (or, without them, one to `update(n)` by hand up to `total`)."""
    return tqdm(items, desc=desc, unit=unit, total=total, disable=None, leave=False)
