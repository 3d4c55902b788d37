"""SQLite state shared by every thread and every gunicorn worker process.

One connection per process, guarded by a lock: the simulator handles a few
requests a second, so serialising inside a process costs nothing and keeps
`:memory:` databases (one connection) and files (WAL, many processes) on the
same code path. Writers across processes are serialised by SQLite itself
through `BEGIN IMMEDIATE` and the busy timeout.
"""

import os
import sqlite3
import threading
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS snap_orders (
    order_id TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    gross_amount INTEGER NOT NULL CHECK (gross_amount > 0),
    request_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    notify_override_json TEXT,
    notify_append_json TEXT,
    finish_url TEXT,
    -- Core transaction, NULL until the customer chooses a payment method.
    transaction_id TEXT UNIQUE,
    payment_type TEXT,
    bank TEXT,
    va_number TEXT,
    transaction_status TEXT,
    fraud_status TEXT,
    transaction_time REAL,
    settlement_time REAL,
    refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0)
);
CREATE TABLE IF NOT EXISTS refunds (
    refund_chargeback_id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL REFERENCES snap_orders(order_id),
    refund_key TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    reason TEXT,
    created_at REAL NOT NULL,
    UNIQUE (order_id, refund_key)
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    transaction_status TEXT NOT NULL,
    body_json TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL,
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    order_id TEXT NOT NULL,
    url TEXT NOT NULL,
    copy INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    due_at REAL NOT NULL,
    shuffle INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (claimed_by, due_at);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL,
    notification_id INTEGER NOT NULL,
    order_id TEXT NOT NULL,
    url TEXT NOT NULL,
    transaction_status TEXT NOT NULL,
    copy INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    duration_ms INTEGER,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    next_attempt_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (order_id);
CREATE TABLE IF NOT EXISTS faults (
    name TEXT PRIMARY KEY,
    value_json TEXT NOT NULL
);
"""

TABLES = ("refunds", "outbox", "deliveries", "notifications", "snap_orders", "faults")


class Store:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.RLock()
        self._connection = None
        self._connection_pid = None
        self._create_schema()

    def _connect(self) -> sqlite3.Connection:
        # A connection must not cross a fork (gunicorn --preload), so it is
        # reopened when the process id changes.
        if self._connection is None or self._connection_pid != os.getpid():
            if self.path != ":memory:":
                directory = os.path.dirname(os.path.abspath(self.path))
                os.makedirs(directory, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            self._connection = conn
            self._connection_pid = os.getpid()
        return self._connection

    def _create_schema(self) -> None:
        with self._lock:
            self._connect().executescript(SCHEMA)

    @contextmanager
    def transaction(self):
        """One write transaction; commits on success, rolls back on error."""
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._connect().execute(sql, params).fetchall()

    def reset(self) -> None:
        with self.transaction() as conn:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._connection_pid == os.getpid():
                self._connection.close()
            self._connection = None
