"""A local helpdesk API for the sync tests: a real HTTP server on 127.0.0.1 (port 0), answering in each vendor's
documented shapes from a small in-memory data set, with faults the tests script (429 with Retry-After, 500,
expired cursors, a stall before a page)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body


@dataclass
class Api:
    """What the server knows; ``handle`` answers one request (path, query) -> (status, headers, body)."""

    handle: Callable[[Api, str, dict[str, str], dict[str, str]], Answer] = lambda api, p, q, h: (404, {}, {})
    faults: list[tuple[str, Answer]] = field(default_factory=list)  # (path prefix, answer) served once, in order
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    stall: threading.Event | None = None  # when set up, a request with "stall" in the query waits for it
    base: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    api: Api

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        api = self.api
        api.requests.append((parts.path, query, headers))
        answer: Answer | None = None
        for i, (prefix, fault) in enumerate(api.faults):
            if parts.path.startswith(prefix):
                answer = fault
                del api.faults[i]
                break
        if answer is None:
            answer = api.handle(api, parts.path, query, headers)
        status, extra, body = answer
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client was killed (the kill -9 test)
            pass


@contextmanager
def serve(api: Api) -> Iterator[Api]:
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    api.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def paged(items: list[dict[str, Any]], query: dict[str, str], base: str, path: str, per_page: int) -> Answer:
    """One page of ``items`` (``page`` from 1) with a ``Link: <…>; rel="next"`` header, as GitHub and Freshdesk."""
    page = int(query.get("page", "1"))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        rest = {**query, "page": str(page + 1)}
        link = f"{base}{path}?" + "&".join(f"{k}={v}" for k, v in rest.items())
        headers["Link"] = f'<{link}>; rel="next"'
    return 200, headers, chunk
