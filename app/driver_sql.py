"""Constant statements of the till's hot path, run on the session's own psycopg connection.

SQLAlchemy spends about 100 microseconds of its own on each execution
(execution context, result metadata, row processing), twice what psycopg
needs for the whole round trip, and a checkout runs several statements.
A `DriverStatement` is compiled once and, on PostgreSQL, executed on the
DBAPI connection the session already holds: same connection, same
transaction (the session's commit or rollback ends it), rows as plain
tuples. Errors are raised as SQLAlchemy's own exception classes
(IntegrityError, DataError, OperationalError, ...), so the error handlers
and the callers' `except` clauses see what they would have seen, and on a
dropped connection the pool is replaced, as SQLAlchemy does on a disconnect.

On other databases (SQLite for a first look) the statement runs on the
session's connection through SQLAlchemy: the `portable` Core statement if
one is given (it has the column types, so dates and datetimes convert as
everywhere else), otherwise the same SQL as text. Only use this for
constant statements on hot paths, with parameters psycopg adapts by itself
(ints, strings, dates, aware datetimes, lists): on PostgreSQL no SQLAlchemy
type processor runs, and no SQLAlchemy execution event fires.
"""

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.extensions import db


class DriverStatement:
    """One constant statement (SQL with `:name` parameters), and optionally its portable Core form."""

    def __init__(self, sql, portable=None):
        self.clause = text(sql)
        self.portable = portable
        self._compiled = {}

    def _sql_for(self, dialect):
        sql = self._compiled.get(dialect.name)
        if sql is None:
            sql = self._compiled[dialect.name] = str(self.clause.compile(dialect=dialect))
        return sql

    def rows(self, params):
        """Run the statement in the session's transaction; returns its rows as tuples ([] if it returns none)."""
        connection = db.session.connection()
        if connection.dialect.name != "postgresql":
            result = connection.execute(self.portable if self.portable is not None else self.clause, params)
            return [tuple(row) for row in result] if result.returns_rows else []
        sql = self._sql_for(connection.dialect)
        driver_connection = connection.connection.driver_connection
        try:
            with driver_connection.cursor() as cursor:  # type: ignore[union-attr]  # a checked-out connection has one
                cursor.execute(sql, params)
                # Not `cursor.description`: it builds a Column object per column on every call.
                returned_rows = cursor.pgresult.status == psycopg.pq.ExecStatus.TUPLES_OK
                return cursor.fetchall() if returned_rows else []
        except psycopg.Error as error:
            invalidated = connection.dialect.is_disconnect(error, driver_connection, None)  # type: ignore[arg-type]  # psycopg's Error is the DBAPI's
            if invalidated:
                # As SQLAlchemy does on a disconnect, through its public API: this
                # connection is dropped, and the pool is replaced, so no connection
                # opened before now (the server restarted) is handed out again. With
                # close=False the old pool's connections are let go, not closed under
                # requests that still hold one.
                connection.invalidate(error)
                connection.engine.dispose(close=False)
            raise DBAPIError.instance(
                sql, params, error, psycopg.Error, connection_invalidated=invalidated, dialect=connection.dialect
            ) from error

    def one(self, params):
        rows = self.rows(params)
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}")
        return rows[0]

    def first(self, params):
        rows = self.rows(params)
        return rows[0] if rows else None
