"""Persistence: tables, Alembic migrations, repositories and the unit of work (SQLAlchemy 2.x Core).

The pieces most callers need are re-exported here::

    engine = create_db_engine(settings.database_url)
    upgrade_database(engine)                 # at service start and by `creditpolicy db upgrade`
    with UnitOfWork(engine) as uow: ...      # one transaction; uow.commit() or it rolls back
"""

from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import check_database, upgrade_database
from api.adapters.db.unit_of_work import AbstractUnitOfWork, UnitOfWork

__all__ = ["AbstractUnitOfWork", "UnitOfWork", "check_database", "create_db_engine", "upgrade_database"]
