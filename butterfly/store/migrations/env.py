"""Alembic environment: target_metadata is SQLModel's; the connection comes from butterfly.store.db."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import butterfly.store.models  # noqa: F401 - register the tables

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from butterfly.store.db import get_engine, resolve_url

        with get_engine(resolve_url()).connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("butterfly migrations run online only: use `butterfly db upgrade`")
run_migrations_online()
