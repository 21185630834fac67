"""The PostgreSQL fixtures (tests/pgserver.py): each test gets its own empty UTF-8 database."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from .pgserver import fresh_database

TEXT = "Делегацію України очолює Умєров"


def test_a_row_round_trips_through_sqlalchemy_and_psycopg(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO notes (body) VALUES (:body)"), {"body": TEXT})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT body FROM notes")).scalar_one() == TEXT
    finally:
        engine.dispose()
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as conn:
        assert conn.execute("SELECT body FROM notes").fetchone() == (TEXT,)
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)


def test_each_database_is_fresh_and_separate(postgres_server: str, postgres_url: str) -> None:
    with fresh_database(postgres_server) as other:
        assert other != postgres_url
        with psycopg.connect(postgres_url.replace("+psycopg", "", 1)) as conn:
            conn.execute("CREATE TABLE mine (x int)")
        with psycopg.connect(other.replace("+psycopg", "", 1)) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
            assert tables == (0,)
