"""Alembic environment: migrates the database given by the caller, `-x url=...`, or DATABASE_URL."""

from alembic import context

import api.models  # noqa: F401  (registers every domain's tables on Base.metadata)
from api.core.database import Base, make_engine
from api.core.settings import get_settings

config = context.config
if config.config_file_name:
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = (
    config.attributes.get("database_url")
    or context.get_x_argument(as_dictionary=True).get("url")
    or get_settings().database_url
)


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, render_as_batch=True, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
