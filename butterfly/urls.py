"""Database URLs made safe to print: every secret in every form a URL can carry it replaced by ``***``.

Parsed with SQLAlchemy's URL object (the parser the engine itself uses), then corrected for the one form it
reads differently from a person: an unencoded ``@`` in the password (``u:S3cret@PW@host``) ends SQLAlchemy's
password at the first ``@``, so the rest would print as part of the host. Secrets are the password (with or
without a user name) and every query parameter that carries one (``password``, ``sslpassword``, ``passfile`` and
anything named like a key, token or secret). :func:`redact_text` also removes those values from free text such as
a driver's error message, which may quote the host or the connection string.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)
_FALLBACK = re.compile(r"(?P<head>://[^/?#]*?:)[^/?#]*@(?P<host>[^@/?#]*)(?=[/?#]|$)")


def _parsed(url: str) -> tuple[Any, list[tuple[str, str]]] | None:
    """SQLAlchemy's URL for ``url`` with the secrets taken out, and (secret text, replacement) pairs for free
    text; ``None`` if unparsable."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:
        return None
    secrets: list[tuple[str, str]] = []
    password = parsed.password
    host = parsed.host
    if host and "@" in host:  # an unencoded @ in the password: the password runs to the last @ of the authority
        extra, host = host.rsplit("@", 1)
        secrets.append((f"{extra}@{host}", f"{MASK}@{host}"))  # the "host" a driver would quote in its error
        password = f"{password or ''}@{extra}"
        parsed = parsed.set(host=host)
    if password:
        secrets.append((str(password), MASK))
        parsed = parsed.set(password=MASK)
    hidden: dict[str, str] = {}
    for name, value in parsed.query.items():
        if _SECRET_PARAM.search(name):
            values = value if isinstance(value, tuple) else (value,)
            secrets.extend((str(v), MASK) for v in values if v)
            hidden[name] = MASK
    if hidden:
        parsed = parsed.update_query_dict(hidden)
    return parsed, secrets


def without_secrets(url: str) -> Any:
    """SQLAlchemy's URL for ``url`` with no password and no secret query parameter (for a command to run)."""
    result = _parsed(url)
    if result is None:
        raise ValueError("not a database URL")
    parsed = result[0].set(password=None)
    secret = [name for name in parsed.query if _SECRET_PARAM.search(name)]
    return parsed.difference_update_query(secret) if secret else parsed


def redact_url(url: str) -> str:
    """``url`` with its password and secret query parameters replaced by ``***`` (safe to print)."""
    result = _parsed(url)
    if result is None:
        return _FALLBACK.sub(lambda m: f"{m.group('head')}{MASK}@{m.group('host')}", url)
    parsed, _ = result
    text: str = parsed.render_as_string(hide_password=False)
    return text.replace("%2A%2A%2A", MASK)


def redact_text(text: str, url: str) -> str:
    """``text`` (an error message) with every secret of ``url`` in it replaced by ``***``."""
    result = _parsed(url)
    secrets = result[1] if result is not None else []
    for secret, mask in sorted(set(secrets), key=lambda pair: len(pair[0]), reverse=True):
        if len(secret) >= 3:  # a one- or two-character password would mask half the message; it is weak anyway
            text = text.replace(secret, mask)
            text = text.replace(_quoted(secret), mask)
    return _FALLBACK.sub(lambda m: f"{m.group('head')}{MASK}@{m.group('host')}", text)


def _quoted(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
