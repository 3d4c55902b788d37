"""DriverStatement: hot-path SQL on the session's psycopg connection behaves as SQLAlchemy would.

Same transaction as the session, SQLAlchemy's exception classes, and after
a dropped connection (a database restart) one 503 and then a fresh pool.
"""

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from app.driver_sql import DriverStatement
from app.extensions import db
from app.idempotency import IdempotencyKey
from app.models import utcnow
from tests.conftest import ADMIN_URL

INSERT_KEY = DriverStatement(
    "INSERT INTO idempotency_keys (scope, key, request_hash, resource_id, response_status, created_at, expires_at) "
    "VALUES (:scope, :key, 'hash', '1', 201, :now, :now) RETURNING id"
)
BACKEND_PID = DriverStatement("SELECT pg_backend_pid()")


def key_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(IdempotencyKey))


def test_rows_come_back_as_tuples_and_a_write_returns_its_rows(app_context):
    assert DriverStatement("SELECT 1, 'a' UNION ALL SELECT 2, 'b' ORDER BY 1").rows({}) == [(1, "a"), (2, "b")]
    assert DriverStatement("SELECT 1 WHERE false").first({}) is None
    [(key_id,)] = INSERT_KEY.rows({"scope": "test", "key": "k1", "now": utcnow()})
    assert key_id > 0
    assert DriverStatement("UPDATE idempotency_keys SET response_status = 200 WHERE id = :id").rows({"id": key_id}) == []
    db.session.rollback()


def test_a_statement_runs_in_the_session_s_transaction(app):
    with app.app_context():
        INSERT_KEY.rows({"scope": "test", "key": "rolled-back", "now": utcnow()})
        # The session sees it (same connection, same transaction)...
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
        db.session.rollback()
    # ...and its rollback takes it away.
    assert key_rows(app) == 0

    with app.app_context():
        INSERT_KEY.rows({"scope": "test", "key": "committed", "now": utcnow()})
        db.session.commit()
    assert key_rows(app) == 1


def test_a_unique_violation_is_sqlalchemy_s_integrity_error_and_the_session_recovers(app):
    with app.app_context():
        INSERT_KEY.rows({"scope": "test", "key": "twice", "now": utcnow()})
        db.session.commit()
        with pytest.raises(IntegrityError) as raised:
            INSERT_KEY.rows({"scope": "test", "key": "twice", "now": utcnow()})
        assert "uq_idempotency_keys_scope_key" in str(raised.value.orig)
        db.session.rollback()
        assert db.session.scalar(text("SELECT 1")) == 1
    assert key_rows(app) == 1


def test_a_value_out_of_range_is_sqlalchemy_s_data_error(app_context):
    with pytest.raises(DataError):
        DriverStatement("SELECT CAST(:value AS integer)").rows({"value": 2**40})
    db.session.rollback()


def _pool_backends(app, at_least=4):
    """The server process ids of every connection idle in the app's pool, opening some if there are fewer.

    All of them are checked out at once (the pool hands out any idle one), then returned.
    """
    with app.app_context():
        connections = [db.engine.connect() for _ in range(max(db.engine.pool.checkedin(), at_least))]
        pids = [connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() for connection in connections]
        for connection in connections:
            connection.close()
    return pids


def test_after_the_database_drops_its_connections_one_request_gets_503_and_the_next_works(
    app, client, auth_headers
):
    headers = auth_headers("cashier")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    pids = _pool_backends(app)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    # The signed-in user is read by a DriverStatement: the dead connection is a 503, not a 500...
    first = client.get("/api/auth/me", headers=headers)
    assert first.status_code == 503, first.get_json()
    assert first.get_json()["message"] == "The database is unavailable; try again shortly."
    # ...and the whole pool was replaced: the other dead connections are not handed out again.
    for _ in range(3):
        assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert not set(_pool_backends(app)) & set(pids)


def test_a_dropped_connection_is_an_operational_error_marked_invalidated(app):
    with app.app_context():
        [(pid,)] = BACKEND_PID.rows({})
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(OperationalError) as raised:
            BACKEND_PID.rows({})
        assert raised.value.connection_invalidated
        db.session.rollback()
        [(new_pid,)] = BACKEND_PID.rows({})
        assert new_pid != pid
        db.session.rollback()
