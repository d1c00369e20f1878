"""Settings from ``BUTTERFLY_*`` environment variables and an optional TOML config file.

Precedence (highest first): command-line options, environment variables, the config file
(``BUTTERFLY_CONFIG`` or ``<user config dir>/butterfly/config.toml``), defaults. User data (the default
SQLite database) lives in the platformdirs user data dir unless ``BUTTERFLY_DATA_DIR`` says otherwise.
"""

from __future__ import annotations

import getpass
import locale
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_config_path, user_data_path
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from butterfly.errors import ConfigError

APP_NAME = "butterfly"


def default_config_file() -> Path:
    """Where the config file is looked for."""
    env = os.environ.get("BUTTERFLY_CONFIG")
    if env:
        return Path(env).expanduser()

    return user_config_path(APP_NAME) / "config.toml"


def _default_data_dir() -> Path:
    return user_data_path(APP_NAME)


def _default_language() -> str:
    """zh-TW for Traditional-Chinese locales, zh-CN for other Chinese ones, en otherwise."""
    lang = os.environ.get("LC_ALL") or os.environ.get("LANG") or (locale.getlocale()[0] or "")
    lang = lang.replace("-", "_").lower()
    if lang.startswith(("zh_tw", "zh_hk", "zh_mo", "zh_hant")):
        return "zh-TW"
    if lang.startswith("zh"):
        return "zh-CN"
    return "en"


class SimilaritySettings(BaseModel):
    """``[similarity]``: how tickets are compared (weekly grouping, the walk's similar tickets, the ticket report)."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["tfidf", "embeddings"] = Field(
        default="tfidf",
        description="tfidf (default) or embeddings (English text by a sentence-embedding model; needs the "
        "butterfly-check[embeddings] extra; CJK text keeps TF-IDF)",
    )


class Settings(BaseSettings):
    """All of butterfly's settings. Every path can be overridden."""

    model_config = SettingsConfigDict(env_prefix="BUTTERFLY_", extra="forbid", env_nested_delimiter="__")

    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in data_dir")
    data_dir: Path = Field(default_factory=_default_data_dir, description="where the default database lives")
    reviewer: str | None = Field(default=None, description="your reviewer name; default: the OS user")
    language: str = Field(default_factory=_default_language, description="zh-CN, zh-TW or en")
    checklist: str | None = Field(default=None, description="a checklist file or shipped id")
    templates: Path | None = Field(default=None, description="folder of report templates overriding the built-in ones")
    timezone: str = Field(default="UTC", description="zone for naive times in imports and for display")
    sync: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="butterfly sync: [sync.SOURCE] tables, BUTTERFLY_SYNC__SOURCE__FIELD (read by butterfly.sync.config)",
    )
    similarity: SimilaritySettings = Field(
        default_factory=SimilaritySettings,
        description="[similarity] engine = tfidf | embeddings (BUTTERFLY_SIMILARITY__ENGINE)",
    )
    sqlite_busy_timeout: float = Field(
        default=30.0, ge=0, description="seconds a SQLite command waits for another process's lock"
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh-CN", "zh-TW", "en"):
            raise ValueError("must be zh-CN, zh-TW or en")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=default_config_file()))

    @property
    def default_database_path(self) -> Path:
        return self.data_dir / "butterfly.db"

    def effective_reviewer(self) -> str:
        if self.reviewer:
            return self.reviewer

        try:
            return getpass.getuser()
        except Exception:
            return "reviewer"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; a broken config file or variable is a :class:`ConfigError`."""
    return load_settings()


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        where = default_config_file()
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"invalid settings: {details}", hint=f"check BUTTERFLY_* variables and the config file {where}"
        ) from None
    except Exception as exc:  # a TOML syntax error
        if exc.__class__.__name__ == "TOMLDecodeError":
            raise ConfigError(f"{default_config_file()}: not valid TOML: {exc}") from None
        raise
