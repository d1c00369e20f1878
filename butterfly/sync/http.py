"""HTTP for sync: one client per run, retries with backoff, rate limits, and clear errors.

- HTTP 429, and GitHub's 403 secondary rate limit: wait ``Retry-After`` seconds (or until
  ``X-RateLimit-Reset``), at most :data:`MAX_WAIT` at a time, then ask again.
- 5xx answers, timeouts and dropped connections: exponential backoff with jitter (tenacity), up to
  :data:`ATTEMPTS` tries in all.
- 401, 403 and 404: one :class:`SyncError` naming the source and what to check. URLs in messages carry no query
  string (a token never travels in a URL here, but an account's filters may be private).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from butterfly.errors import ButterflyError

ATTEMPTS = 6
MAX_WAIT = 300.0  # seconds: never sleep longer than this for one rate limit
TIMEOUT = httpx.Timeout(30.0, connect=10.0)

CHECKS = {
    401: "the credentials were refused: check the account settings and the API token",
    403: "the token may not read this: check its permissions (see the README's sync section)",
    404: "not found: check the URL, subdomain, instance or repository name",
}


class SyncError(ButterflyError):
    """A sync cannot go on: the API refused, or kept failing."""


class _Again(Exception):
    """A response worth asking again for, after ``wait`` seconds (``None``: back off)."""

    def __init__(self, response: httpx.Response, wait: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.wait = wait


def _plain(url: httpx.URL | str) -> str:
    return str(httpx.URL(str(url)).copy_with(query=None, fragment=None))


def _retry_after(response: httpx.Response, now: Callable[[], float]) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` in seconds or as a date, or GitHub's reset time)."""
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now())
            except (TypeError, ValueError):
                return None
    if response.headers.get("x-ratelimit-remaining") == "0" and response.headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(response.headers["x-ratelimit-reset"]) - now())
        except ValueError:
            return None
    return None


class Http:
    """GET JSON pages from one API (``base_url``) with ``headers``/``auth``; counts requests and retries."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        min_interval: float = 0.0,
    ) -> None:
        self.source = source
        self.sleep = sleep
        self.min_interval = min_interval  # seconds between two requests (Zendesk's incremental export: 10/minute)
        self._last = 0.0
        self.requests = 0
        self.retries = 0
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Accept": "application/json", "User-Agent": "butterfly-sync", **(headers or {})},
            auth=auth,
            timeout=TIMEOUT,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(initial=1, max=60)(state)
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, _Again) and exc.wait is not None:
            return min(exc.wait, MAX_WAIT)
        return float(backoff)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1

    def get(
        self, url: str, params: Mapping[str, Any] | None = None, *, allow: tuple[int, ...] = (), paced: bool = True
    ) -> httpx.Response:
        """The successful response to GET ``url`` (a path under the base URL, or a full next-page URL).

        ``allow``: client-error statuses the caller handles itself (returned, not raised). ``paced=False``: a
        request outside the paced listing (Zendesk's comments are under the general rate limit, not the
        incremental export's 10 a minute); 429s are still waited out.
        """
        retrying = Retrying(
            stop=stop_after_attempt(ATTEMPTS),
            wait=self._wait,
            retry=retry_if_exception_type((_Again, httpx.TimeoutException, httpx.TransportError)),
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            response: httpx.Response = retrying(self._get_once, url, params, allow, paced)
        except _Again as exc:
            raise SyncError(
                f"{self.source}: {_plain(exc.response.request.url)} answered HTTP {exc.response.status_code} "
                f"{ATTEMPTS} times",
                hint="the service may be down or limiting this token; what was committed is kept: run sync again later",
            ) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise SyncError(
                f"{self.source}: cannot reach {_plain(exc.request.url) if _has_request(exc) else url}: "
                f"{type(exc).__name__}",
                hint="check the URL and the network; what was committed is kept: run sync again later",
            ) from None
        return response

    def _get_once(
        self, url: str, params: Mapping[str, Any] | None, allow: tuple[int, ...], paced: bool = True
    ) -> httpx.Response:
        if paced and self.min_interval and self._last:
            pause = self._last + self.min_interval - time.monotonic()
            if pause > 0:
                self.sleep(pause)
        self.requests += 1
        if paced:
            self._last = time.monotonic()
        response = self.client.get(url, params=params)
        status = response.status_code
        if status in allow:
            return response
        if status == 429 or (status == 403 and _rate_limited(response)):
            raise _Again(response, _retry_after(response, time.time))
        if status >= 500:
            raise _Again(response, _retry_after(response, time.time))
        if status in CHECKS:
            raise SyncError(f"{self.source}: HTTP {status} from {_plain(response.request.url)}", hint=CHECKS[status])
        if status >= 400:
            raise SyncError(f"{self.source}: HTTP {status} from {_plain(response.request.url)}")
        return response

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise SyncError(f"{self.source}: {_plain(response.request.url)} did not answer with JSON") from None


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True


def _rate_limited(response: httpx.Response) -> bool:
    """GitHub's primary (remaining 0) and secondary (Retry-After, or the message) rate limits answer 403."""
    if response.headers.get("retry-after") or response.headers.get("x-ratelimit-remaining") == "0":
        return True
    try:
        message = str(response.json().get("message", "")).lower()
    except (ValueError, AttributeError):
        return False
    return "rate limit" in message


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (GitHub, Freshdesk, ServiceNow), or ``None``."""
    link = response.links.get("next")
    return link.get("url") if link else None
