"""The migrations build exactly the schema the models declare (SQLite here; the MariaDB
round trip is in tests/integration/test_mariadb.py)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_migrated_schema_matches_the_models(app):
    from app.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == [], diff
