"""Connection settings of each sync source, and its secret.

Settings live under ``[sync.SOURCE]`` in the config file or in ``BUTTERFLY_SYNC__SOURCE__FIELD`` variables (see
:class:`butterfly.settings.Settings`). A secret is never a setting: it comes from the environment variable the
source names (``token_env``, e.g. ``BUTTERFLY_ZENDESK_TOKEN``) or, when that is unset and the ``keyring`` extra is
installed, from the OS keyring (service ``butterfly``, user ``SOURCE:ACCOUNT``).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from butterfly.errors import ConfigError

SOURCES = ("zendesk", "freshdesk", "jira", "github", "servicenow")
KEYRING_SERVICE = "butterfly"


class ZendeskSync(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a mistyped setting is an error, not ignored

    subdomain: str | None = Field(default=None, description="ACME for https://acme.zendesk.com")
    url: str | None = Field(default=None, description="the API's base URL instead of the subdomain's")
    email: str | None = Field(default=None, description="the agent whose API token is used")
    token_env: str = Field(default="BUTTERFLY_ZENDESK_TOKEN", description="variable holding the API token")
    source: str | None = Field(default=None, description="butterfly's source name (default: zendesk)")
    comments: bool = Field(default=False, description="also fetch each synced ticket's conversation")


class FreshdeskSync(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a mistyped setting is an error, not ignored

    domain: str | None = Field(default=None, description="ACME for https://acme.freshdesk.com")
    url: str | None = None
    token_env: str = "BUTTERFLY_FRESHDESK_TOKEN"
    source: str | None = None
    comments: bool = False


class JiraSync(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a mistyped setting is an error, not ignored

    url: str | None = Field(default=None, description="https://ACME.atlassian.net")
    email: str | None = None
    jql: str | None = Field(default=None, description="which issues, e.g. project = SUP")
    token_env: str = "BUTTERFLY_JIRA_TOKEN"
    source: str | None = None
    comments: bool = False


class GithubSync(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a mistyped setting is an error, not ignored

    repos: list[str] = Field(default_factory=list, description="owner/name of each repository")
    url: str = "https://api.github.com"
    token_env: str = "BUTTERFLY_GITHUB_TOKEN"
    source: str | None = None
    comments: bool = False


class ServicenowSync(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a mistyped setting is an error, not ignored

    instance: str | None = Field(default=None, description="ACME for https://acme.service-now.com")
    url: str | None = None
    user: str | None = None
    token_env: str = Field(default="BUTTERFLY_SERVICENOW_PASSWORD", description="variable holding the password")
    query: str | None = Field(default=None, description="an extra encoded query, e.g. assignment_group=…")
    source: str | None = None
    comments: bool = False


class SyncSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a mistyped setting is an error, not ignored

    zendesk: ZendeskSync = Field(default_factory=ZendeskSync)
    freshdesk: FreshdeskSync = Field(default_factory=FreshdeskSync)
    jira: JiraSync = Field(default_factory=JiraSync)
    github: GithubSync = Field(default_factory=GithubSync)
    servicenow: ServicenowSync = Field(default_factory=ServicenowSync)


def sync_settings(raw: dict[str, Any]) -> SyncSettings:
    """The ``sync`` part of the settings, checked; :class:`ConfigError` naming the bad field."""
    try:
        return SyncSettings.model_validate(raw or {})
    except ValidationError as exc:
        details = "; ".join(f"sync.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"invalid sync settings: {details}", hint="check the [sync.SOURCE] tables and BUTTERFLY_SYNC__* variables"
        ) from None


def secret(source: str, account: str, token_env: str) -> str:
    """The source's secret from ``token_env`` or the OS keyring; :class:`ConfigError` naming where to put it."""
    value = os.environ.get(token_env, "")
    if value.strip():
        return value.strip()
    if importlib.util.find_spec("keyring") is not None:
        import keyring
        from keyring.errors import KeyringError

        try:
            stored = keyring.get_password(KEYRING_SERVICE, f"{source}:{account}")
        except KeyringError:
            stored = None
        if stored:
            return str(stored)
    raise ConfigError(
        f"{source}: no API secret: {token_env} is not set",
        hint=f"export {token_env}=… (from your CI's secret store), or keep it in the OS keyring: "
        f"pip install 'butterfly-check[keyring]' && keyring set {KEYRING_SERVICE} {source}:{account}",
    )


def describe(settings: SyncSettings) -> dict[str, dict[str, str]]:
    """Each source's settings for ``config show``: values, and whether the secret is present (never the secret)."""
    out: dict[str, dict[str, str]] = {}
    for name in SOURCES:
        model = getattr(settings, name)
        values = {k: ("-" if v in (None, []) else ", ".join(v) if isinstance(v, list) else str(v)) for k, v in model}
        values["secret"] = f"${model.token_env} " + ("set" if os.environ.get(model.token_env) else "not set")
        out[name] = values
    return out
