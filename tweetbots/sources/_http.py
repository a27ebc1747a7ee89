"""The one polite HTTP GET the network sources (Mastodon, Bluesky) share.

Polite means: a `tweetbots/<version>` User-Agent, a bounded number of attempts with
exponential backoff plus jitter on timeouts, connection errors and 5xx answers, and on a
429 a wait for as long as the server asks (`Retry-After` in seconds or as an HTTP date,
Mastodon's `X-RateLimit-Reset` as an ISO time, Bluesky's `RateLimit-Reset` as epoch
seconds) when that is at most `RetryPolicy.max_wait_s`. Longer than that fails at once:
waiting minutes inside a pipeline stage helps nobody, a later run will succeed.

Any other answer (2xx, 404, 401 ...) is returned to the caller, which knows what a
missing account means on its platform. Failures that retrying could not fix become a
one-line `SourceError` naming the caller's `label` (e.g. `mastodon:@ada@example.social`).

Tests make the waits short by replacing `POLICY` (and may replace `sleep`).
"""

import logging
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tweetbots import __version__
from tweetbots.sources import SourceError

log = logging.getLogger(__name__)

USER_AGENT = f"tweetbots/{__version__}"
# Epoch-seconds values are far above any sensible delta: below this a reset header is a delay.
_EPOCH_THRESHOLD = 1_000_000_000
_WAIT_HEADERS = ("retry-after", "x-ratelimit-reset", "ratelimit-reset")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 1.0  # first retry waits about this, then doubles
    max_wait_s: float = 60.0  # the longest rate-limit wait honoured
    timeout_s: float = 20.0


POLICY = RetryPolicy()
sleep = time.sleep  # module attribute so tests can observe or shorten the waits


def base_url(env_var: str, default: str) -> str:
    """The service's base URL: the environment's override (tests, mirrors) or the default."""
    return (os.environ.get(env_var) or default).rstrip("/")


def client(base: str) -> httpx.Client:
    """An httpx client for one service, with our User-Agent and timeout."""
    return httpx.Client(
        base_url=base,
        headers={"User-Agent": USER_AGENT},
        timeout=POLICY.timeout_s,
        follow_redirects=True,
    )


def polite_get(
    session: httpx.Client, path: str, params: dict[str, Any] | None, label: str
) -> httpx.Response:
    """GET with retries; returns any answer that is neither a 5xx nor a 429."""
    policy = POLICY
    problem = "no attempt made"
    for attempt in range(1, policy.attempts + 1):
        delay = _backoff(attempt, policy)
        try:
            response = session.get(path, params=params)
        except httpx.TransportError as exc:  # timeouts, refused connections, DNS, resets
            problem = " ".join(str(exc).split()) or type(exc).__name__
        else:
            if response.status_code < 500 and response.status_code != 429:
                return response
            problem = f"HTTP {response.status_code} from {response.url.host}"
            if response.status_code == 429:
                delay = _rate_limit_delay(response, delay, policy, label)
        if attempt < policy.attempts:
            log.info(
                "%s: %s; retry %d of %d in %.1f s",
                label,
                problem,
                attempt,
                policy.attempts - 1,
                delay,
            )
            sleep(delay)
    raise SourceError(
        f"{label}: {session.base_url.host} failed {policy.attempts} attempts ({problem}); "
        "check the name and your network, or try again later"
    )


def _rate_limit_delay(
    response: httpx.Response, backoff: float, policy: RetryPolicy, label: str
) -> float:
    """How long a 429 asks us to wait (our backoff if it does not say)."""
    wait = _rate_limit_wait(response.headers)
    if wait is None:
        return backoff
    if wait > policy.max_wait_s:
        raise SourceError(
            f"{label}: rate limited by {response.url.host} for {wait:.0f} s, longer than the "
            f"{policy.max_wait_s:.0f} s we wait; try again later"
        )
    return wait


def _backoff(attempt: int, policy: RetryPolicy) -> float:
    # Jitter keeps several bots scraping at once from retrying in lockstep.
    return policy.backoff_s * 2 ** (attempt - 1) * (1 + random.random() / 2)


def _rate_limit_wait(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds a 429 asks us to wait (the longest any header names); None without a hint."""
    now = now or datetime.now(UTC)
    waits = [_header_wait(headers[name], now) for name in _WAIT_HEADERS if name in headers]
    known = [w for w in waits if w is not None]
    return max(0.0, *known) if known else None


def _header_wait(value: str, now: datetime) -> float | None:
    """A header as a wait: delay seconds, epoch seconds, an ISO time or an HTTP date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        return _time_header_wait(value, now)
    return number if number < _EPOCH_THRESHOLD else number - now.timestamp()


def _time_header_wait(value: str, now: datetime) -> float | None:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            log.debug("unreadable rate-limit header %r", value)
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()
