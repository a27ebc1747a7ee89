"""Where bots are published: one module per target scheme, all behind `Target`.

A target URI names a place for many bots (`file:///srv/bots`, `hf://my-org`-style
`hf://namespace/name`); `open_target(uri, bot)` gives the place of one bot there. The
module `tweetbots/targets/<scheme>.py` defines `TARGET`, a `Target` subclass; a new target
(S3, a Hub mirror) is one new module, found by its scheme.
"""

import pkgutil
import re
from abc import ABC, abstractmethod
from importlib import import_module
from pathlib import Path


class PublishError(ValueError):
    """A target that cannot be published to: one line naming it and the fix."""


class Target(ABC):
    """One bot's place at a target: what the gate reads and what publishing writes."""

    # The URIs `check_uri` accepts, as a regular expression the UI's form can check (JSON
    # Schema `pattern`: searched, so anchored with ^; Python and JSON Schema syntax alike).
    URI_PATTERN: str

    def __init__(self, uri: str, bot: str, token: str | None = None):
        self.check_uri(uri)
        self.uri, self.bot, self.token = uri, bot, token

    @classmethod
    @abstractmethod
    def check_uri(cls, uri: str) -> None:
        """Raise a one-line PublishError unless `uri` is a well-formed URI of this scheme."""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """What `transformers.pipeline(model=...)` takes: a Hub id or a local path."""

    @abstractmethod
    def file_url(self, name: str) -> str:
        """Where a published file is read from (the card's thumbnail)."""

    def check_credentials(self) -> None:  # noqa: B027 - most targets need none
        """Fail in one line, before anything is read or sent, when a credential is missing."""

    @abstractmethod
    def published_card(self) -> str | None:
        """The README of the bot published here now; None when none is."""

    @abstractmethod
    def publish(self, files: dict[str, Path], message: str, private: bool = False) -> str:
        """Put `files` (name -> local file or directory) here in one step; return a URL.

        `private`: a place this creates is visible to its owner only, where the target
        has such a thing (a Hub repo); an existing place keeps its visibility."""


def open_target(uri: str, bot: str, token: str | None = None) -> Target:
    """The bot's place at the target `uri`."""
    return _target_class(uri)(uri, bot, token)


def check_target_uri(uri: str) -> str:
    """`uri` if it is a target URI of a known scheme; a one-line PublishError otherwise."""
    _target_class(uri).check_uri(uri)
    return uri


def uri_pattern() -> str:
    """One pattern for the URIs of every target scheme, for the parameter form."""
    classes = [import_module(f"{__name__}.{scheme}").TARGET for scheme in schemes()]
    return "|".join(f"(?:{target.URI_PATTERN})" for target in classes)


def _target_class(uri: str) -> type[Target]:
    scheme = uri.partition("://")[0] if "://" in uri else ""
    if not re.fullmatch(r"[a-z][a-z0-9]*", scheme) or scheme not in schemes():
        known = " or ".join(f"{s}://..." for s in schemes())
        raise PublishError(f"target {uri!r} is not a target URI: use {known}")
    return import_module(f"{__name__}.{scheme}").TARGET


def schemes() -> list[str]:
    """The schemes of the target modules beside this one."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
