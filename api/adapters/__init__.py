"""The edge adapters: the database (tables, repositories, unit of work, migrations), group commit, webhook sending."""
