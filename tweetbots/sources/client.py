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

Bounded, whatever the server does: each attempt has a total deadline
(`RetryPolicy.deadline_s`) over connecting, the TLS handshake, the headers and the body,
not only a timeout per read, so a server trickling one byte every few seconds fails
like a timeout (and is retried like one). Redirects are followed only within the same
origin (scheme, host and port), at most `MAX_REDIRECTS` times; a redirect elsewhere is
a one-line `SourceError` naming both hosts. Every connection goes through
`tweetbots.sources.hosts`: the host is resolved once, refused if any of its addresses
is not public (unless listed in `TWEETBOTS_ALLOWED_HOSTS`), and the socket connects to
those checked addresses, never to a second lookup. For that our transport connects
directly: `HTTP(S)_PROXY` is not used by the network sources.

Tests make the waits short by replacing `POLICY` (and may replace `sleep`).
"""

import logging
import os
import random
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from tweetbots import __version__
from tweetbots.sources import SourceError
from tweetbots.sources.hosts import HostNotAllowed, is_allowed, public_addresses

log = logging.getLogger(__name__)

USER_AGENT = f"tweetbots/{__version__}"
# Epoch-seconds values are far above any sensible delta: below this a reset header is a delay.
_EPOCH_THRESHOLD = 1_000_000_000
_WAIT_HEADERS = ("retry-after", "x-ratelimit-reset", "ratelimit-reset")
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 1.0  # first retry waits about this, then doubles
    max_wait_s: float = 60.0  # the longest rate-limit wait honoured
    timeout_s: float = 20.0  # connect, and each read or write
    deadline_s: float = 60.0  # one attempt, start to last byte (redirects included)


POLICY = RetryPolicy()
sleep = time.sleep  # module attribute so tests can observe or shorten the waits


def base_url(env_var: str, default: str) -> str:
    """The service's base URL: the environment's override (tests, mirrors) or the default."""
    return (os.environ.get(env_var) or default).rstrip("/")


def client(base: str) -> httpx.Client:
    """An httpx client for one service: our User-Agent, timeouts and guarded transport."""
    return httpx.Client(
        base_url=base,
        headers={"User-Agent": USER_AGENT},
        timeout=POLICY.timeout_s,
        follow_redirects=False,  # polite_get follows only same-origin ones
        transport=_GuardedTransport(),
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
            response = _get_within_deadline(session, path, params, label, policy)
        except HostNotAllowed as exc:
            raise SourceError(f"{label}: {exc}") from None
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


def _get_within_deadline(
    session: httpx.Client, path: str, params: dict[str, Any] | None, label: str, policy: RetryPolicy
) -> httpx.Response:
    """One attempt: the GET and its same-origin redirects, all within policy.deadline_s."""
    token = _DEADLINE.set((time.monotonic() + policy.deadline_s, policy.deadline_s))
    try:
        response = session.get(path, params=params)
        for _ in range(MAX_REDIRECTS):
            if response.next_request is None:
                return response
            _check_same_origin(response, response.next_request.url, label)
            response = session.send(response.next_request)
        if response.next_request is None:
            return response
        raise SourceError(
            f"{label}: {response.url.netloc.decode()} redirected more than {MAX_REDIRECTS} "
            "times; check the server address"
        )
    finally:
        _DEADLINE.reset(token)


def _check_same_origin(response: httpx.Response, target: httpx.URL, label: str) -> None:
    """A redirect may move within the server, never to another host, port or scheme."""
    here = response.url
    if (target.scheme, target.host, target.port) != (here.scheme, here.host, here.port):
        raise SourceError(
            f"{label}: {here.scheme}://{here.netloc.decode()} redirects to "
            f"{target.scheme}://{target.netloc.decode()}, which is not followed (a source "
            "reads only the server it names); if that is the same service, name it instead"
        )


# -- the transport: checked addresses, and a deadline over every socket operation ------

# (monotonic time the current attempt must end by, its length in seconds); None outside
# polite_get. A context variable: each thread's requests keep their own deadline.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("deadline", default=None)


def _within_deadline(timeout: float | None, error: type[Exception]) -> float | None:
    """The socket timeout to use now: the given one, cut to what is left of the deadline."""
    current = _DEADLINE.get()
    if current is None:
        return timeout
    left = current[0] - time.monotonic()
    if left <= 0:
        raise error(f"no complete answer within the {current[1]:g} s deadline")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout = _within_deadline(timeout, httpcore.ReadTimeout)
        try:
            return self._stream.read(max_bytes, timeout)
        except httpcore.ReadTimeout:
            _within_deadline(None, httpcore.ReadTimeout)  # says "deadline" when that is why
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to public addresses (or allowed hosts), to the addresses it checked."""

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, **options: Any
    ) -> httpcore.NetworkStream:
        if is_allowed(host, port):
            addresses = [host]
        else:
            try:
                addresses = public_addresses(host, port)
            except OSError as exc:  # the name does not resolve: like any failed connect
                raise httpcore.ConnectError(f"{host}: {exc}") from exc
        problem: Exception = httpcore.ConnectError(f"{host}: no address")
        for address in addresses:  # like socket.create_connection, but over checked ones
            try:
                limit = _within_deadline(timeout, httpcore.ConnectTimeout)
                return _DeadlineStream(super().connect_tcp(address, port, limit, **options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                problem = exc
        raise problem


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, its connection pool given our network backend."""

    def __init__(self) -> None:
        ssl_context = httpx.create_ssl_context()  # slow (it loads the CA bundle): made once
        super().__init__(verify=ssl_context)
        # httpx takes no network backend, so its pool is replaced by an equal one that
        # has ours. Fail loudly, never silently unguarded, if httpx renames the pool.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx changed: HTTPTransport has no _pool to guard")
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=_GuardedBackend()
        )


def _rate_limit_delay(
    response: httpx.Response, backoff: float, policy: RetryPolicy, label: str
) -> float:
    """How long a 429 asks us to wait (our backoff if it does not say)."""
    wait = rate_limit_wait(response.headers)
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


def rate_limit_wait(headers: httpx.Headers, now: datetime | None = None) -> float | None:
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
