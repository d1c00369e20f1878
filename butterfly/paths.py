"""Where shipped resources live, in a wheel and in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def templates_dir() -> Path:
    """The built-in Jinja2 templates: ``butterfly/templates`` in a wheel, ``templates/`` in a checkout."""
    packaged = Path(str(resources.files("butterfly") / "templates"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def examples_dir() -> Path:
    """Shipped examples: ``butterfly/examples`` in a wheel, ``examples/`` in a checkout."""
    packaged = Path(str(resources.files("butterfly") / "examples"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "examples"
