"""The change listener on both databases: it hears committed changes only, its own schema's only, and
starts again after losing its connection (PostgreSQL), telling the caches to resynchronise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from api.adapters.change_listener import ChangeListener, NotificationListener, start_change_listener
from api.adapters.db.engine import create_db_engine
from api.adapters.db.migrate import upgrade_database
from api.adapters.db.unit_of_work import UnitOfWork
from api.service.changes import KEYS, VERSIONS
from tests.integration.conftest import throwaway_database

WAIT = 30.0  # seconds a test waits for what must happen (on a loaded machine); never a measured bound


class Recorder:
    """The handlers of a listener: what it told, in order."""

    def __init__(self) -> None:
        self.told: list[str] = []
        self._changed = threading.Condition()

    def changed(self, topic: str) -> None:
        self._tell(topic)

    def resynchronised(self) -> None:
        self._tell("resynchronised")

    def lost(self) -> None:
        self._tell("lost")

    def _tell(self, what: str) -> None:
        with self._changed:
            self.told.append(what)
            self._changed.notify_all()

    def wait_for(self, what: str, times: int = 1) -> None:
        with self._changed:
            told = self._changed.wait_for(lambda: self.told.count(what) >= times, timeout=WAIT)
        assert told, f"waited {WAIT} s for {what!r} x{times}; was told {self.told}"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def listening(engine: Engine, recorder: Recorder) -> Iterator[ChangeListener]:
    listener = start_change_listener(engine, recorder)
    recorder.wait_for("resynchronised")
    assert listener.live
    yield listener
    listener.stop()


def announce(engine: Engine, topic: str, *, commit: bool = True) -> None:
    with UnitOfWork(engine) as uow:
        uow.changes.announce(topic)
        if commit:
            uow.commit()


def test_announcing_bumps_a_counter_per_topic_in_the_transaction(engine: Engine) -> None:
    announce(engine, VERSIONS)
    announce(engine, VERSIONS)
    announce(engine, KEYS, commit=False)
    announce(engine, KEYS)
    with UnitOfWork(engine, read_only=True) as uow:
        assert uow.changes.serials() == {VERSIONS: 2, KEYS: 1}


def test_a_committed_change_is_heard_and_a_rolled_back_one_is_not(
    engine: Engine, recorder: Recorder, listening: ChangeListener
) -> None:
    announce(engine, KEYS, commit=False)
    announce(engine, VERSIONS)
    recorder.wait_for(VERSIONS)
    announce(engine, KEYS)
    recorder.wait_for(KEYS)
    assert recorder.told == ["resynchronised", VERSIONS, KEYS]


def test_stopping_ends_the_thread(engine: Engine, recorder: Recorder) -> None:
    listener = start_change_listener(engine, recorder)
    recorder.wait_for("resynchronised")
    listener.stop()
    listener.stop()  # twice changes nothing
    assert not listener.live and not listener.running


@pytest.mark.postgres
def test_changes_in_another_schema_are_not_heard(tmp_path: Path, recorder: Recorder) -> None:
    with (
        throwaway_database("postgres", tmp_path / "ours", prefix="ours") as ours_url,
        throwaway_database("postgres", tmp_path / "theirs", prefix="theirs") as theirs_url,
    ):
        ours, theirs = create_db_engine(ours_url), create_db_engine(theirs_url)
        try:
            upgrade_database(ours)
            upgrade_database(theirs)
            listener = start_change_listener(ours, recorder)
            recorder.wait_for("resynchronised")
            announce(theirs, VERSIONS)
            announce(ours, KEYS)
            recorder.wait_for(KEYS)
            listener.stop()
            assert recorder.told == ["resynchronised", KEYS]
        finally:
            ours.dispose()
            theirs.dispose()


@pytest.mark.postgres
def test_a_lost_connection_is_reopened_and_the_caches_resynchronised(
    postgres_engine: Engine, recorder: Recorder
) -> None:
    listener = start_change_listener(postgres_engine, recorder)
    try:
        recorder.wait_for("resynchronised")
        assert isinstance(listener, NotificationListener) and listener.backend_pid is not None
        with postgres_engine.begin() as connection:  # what a database restart does to the connection
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid})
        recorder.wait_for("lost")
        recorder.wait_for("resynchronised", times=2)
        assert listener.live and listener.resynchronisations == 2
        announce(postgres_engine, VERSIONS)
        recorder.wait_for(VERSIONS)
        assert recorder.told == ["resynchronised", "lost", "resynchronised", VERSIONS]
    finally:
        listener.stop()


@pytest.fixture
def postgres_engine(tmp_path: Path) -> Iterator[Engine]:
    with throwaway_database("postgres", tmp_path) as url:
        engine = create_db_engine(url)
        upgrade_database(engine)
        yield engine
        engine.dispose()
