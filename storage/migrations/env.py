"""Alembic environment: runs on the connection that storage.db hands over."""

from alembic import context

import alerts.models  # noqa: F401 (its tables are on the same Base)
from storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
context.run_migrations()
