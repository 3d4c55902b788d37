"""Signed HTTP notifications, delivered and retried like Midtrans does.

A state change writes the notification and one outbox row per target URL
(and per duplicate copy) in the same SQLite transaction. A dispatcher thread
in each process claims due outbox rows and posts them from a small thread
pool, so a slow receiver never blocks the API and duplicates really arrive
concurrently. Because the outbox lives in SQLite, a retry scheduled by one
gunicorn worker is picked up by whichever worker is awake.
"""

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from simulator.logs import log_event

log = logging.getLogger("simulator.notifications")

# Midtrans retries a failed notification after about 2, 10, 30, 90 and 210
# minutes. It gives up sooner when the receiver answers 4xx (the request is
# wrong, retrying rarely helps) and never retries a 3xx (it does not follow
# redirects). Timeouts and refused connections count like a 5xx.
RETRY_DELAYS_MINUTES = (2, 10, 30, 90, 210)
RETRIES_AFTER_SERVER_ERROR = 5
RETRIES_AFTER_CLIENT_ERROR = 2
RETRIES_AFTER_REDIRECT = 0
MAX_URLS_PER_HEADER = 3


def sign(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """Midtrans's signature_key: sha512 hex of the four raw strings joined."""
    payload = f"{order_id}{status_code}{gross_amount}{server_key}"
    return hashlib.sha512(payload.encode("utf-8")).hexdigest()


def retries_allowed(http_status: int | None) -> int:
    if http_status is not None and 300 <= http_status < 400:
        return RETRIES_AFTER_REDIRECT
    if http_status is not None and 400 <= http_status < 500:
        return RETRIES_AFTER_CLIENT_ERROR
    return RETRIES_AFTER_SERVER_ERROR


def retry_delay_seconds(failed_attempt: int, scale: float) -> float:
    """Delay between attempt `failed_attempt` and the next one."""
    return RETRY_DELAYS_MINUTES[failed_attempt - 1] * 60 * scale


def parse_url_header(value: str | None) -> list[str]:
    """X-Override-Notification / X-Append-Notification: up to 3 comma-separated URLs."""
    if not value:
        return []
    urls = [part.strip() for part in value.split(",") if part.strip()]
    return urls[:MAX_URLS_PER_HEADER]


def resolve_urls(default_url: str | None, override: list[str], append: list[str]) -> list[str]:
    # As on Midtrans: an override replaces the configured URL and wins over an
    # append when both headers were sent; an append adds to the configured URL.
    if override:
        return list(override)
    urls = [default_url] if default_url else []
    return urls + [url for url in append if url not in urls]


class Notifier:
    def __init__(self, store, config: dict, on_tick=None):
        self.store = store
        self.timeout = config["NOTIFY_TIMEOUT"]
        self.retry_scale = config["RETRY_SCALE"]
        self.shuffle_hold = config["SHUFFLE_HOLD_SECONDS"]
        self.on_tick = on_tick
        self._wakeup = threading.Condition()
        self._woken = False
        self._stopping = threading.Event()
        self._thread = None
        self._pool = None
        self._pid = None
        self._start_lock = threading.Lock()
        # Passes of the dispatcher loop begun and finished in this process, so a
        # test can wait for one that began after its own request (`next_pass`).
        self._passes = threading.Condition()
        self._passes_begun = 0
        self._passes_done = 0

    # -- writing (inside the caller's transaction) -------------------------

    def enqueue(self, conn, order_id: str, body: dict, urls: list[str], faults: dict) -> int:
        now = time.time()
        cursor = conn.execute(
            "INSERT INTO notifications (order_id, transaction_status, body_json, created_at) "
            "VALUES (?, ?, ?, ?)",
            (order_id, body["transaction_status"], json.dumps(body), now),
        )
        notification_id = cursor.lastrowid
        self.enqueue_deliveries(conn, notification_id, order_id, body, urls, faults)
        return notification_id

    def enqueue_deliveries(self, conn, notification_id, order_id, body, urls, faults) -> None:
        now = time.time()
        if not urls:
            log_event(log, "notification.no_target", order_id=order_id,
                      transaction_status=body["transaction_status"])
            return
        for url in urls:
            for copy in range(1, faults["duplicate_notifications"] + 1):
                delivery_id = str(uuid.uuid4())
                if faults["drop_notifications"]:
                    self._record_dropped(conn, delivery_id, notification_id, order_id, url,
                                         body["transaction_status"], copy, now)
                    continue
                due_at = self._shuffled_due_at(conn, order_id, url, now) if (
                    faults["shuffle_notifications"]) else now
                conn.execute(
                    "INSERT INTO outbox (delivery_id, notification_id, order_id, url, copy, "
                    "attempt, due_at, shuffle) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                    (delivery_id, notification_id, order_id, url, copy, due_at,
                     int(faults["shuffle_notifications"])),
                )

    def _shuffled_due_at(self, conn, order_id, url, now) -> float:
        # Everything for one order and URL that arrives while a shuffled batch
        # is held joins that batch, so the batch can be sent in reverse.
        row = conn.execute(
            "SELECT MAX(due_at) AS due_at FROM outbox WHERE order_id = ? AND url = ? "
            "AND shuffle = 1 AND claimed_by IS NULL",
            (order_id, url),
        ).fetchone()
        return row["due_at"] if row["due_at"] is not None else now + self.shuffle_hold

    def _record_dropped(self, conn, delivery_id, notification_id, order_id, url, status, copy, now):
        conn.execute(
            "INSERT INTO deliveries (delivery_id, notification_id, order_id, url, "
            "transaction_status, copy, attempt, outcome, started_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, 'dropped', ?, ?)",
            (delivery_id, notification_id, order_id, url, status, copy, now, now),
        )
        log_event(log, "notification.dropped", delivery_id=delivery_id, order_id=order_id,
                  url=url, transaction_status=status)

    # -- the dispatcher ----------------------------------------------------

    def ensure_started(self) -> None:
        # Threads do not survive a fork, so a forked worker starts its own.
        if self._pid == os.getpid() and self._thread and self._thread.is_alive():
            return
        with self._start_lock:
            if self._pid == os.getpid() and self._thread and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._stopping.clear()
            self._worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
            self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="sim-notify")
            self._thread = threading.Thread(target=self._run, name="sim-dispatcher", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self.ensure_started()
        with self._wakeup:
            self._woken = True
            self._wakeup.notify_all()

    def next_pass(self, timeout: float) -> int | None:
        """Wakes the dispatcher and waits until a pass begun after this call has
        finished: whatever was due then is expired and claimed for sending.
        Returns the number of passes done, or None after `timeout` seconds."""
        with self._passes:
            target = self._passes_begun + 1
        self.wake()
        with self._passes:
            if self._passes.wait_for(lambda: self._passes_done >= target, timeout=timeout):
                return self._passes_done
        return None

    def close(self) -> None:
        self._stopping.set()
        with self._wakeup:
            self._woken = True
            self._wakeup.notify_all()
        if self._thread and self._pid == os.getpid():
            self._thread.join(timeout=5)
        if self._pool and self._pid == os.getpid():
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            wait = 1.0
            with self._passes:
                self._passes_begun += 1
            try:
                if self.on_tick:
                    self.on_tick()
                for group in self._claim_due():
                    self._pool.submit(self._deliver_group, group)
                wait = self._seconds_until_next_due()
            except Exception:  # keep the dispatcher alive whatever one tick does
                log.exception("notification.dispatcher_error")
            with self._passes:
                self._passes_done += 1
                self._passes.notify_all()
            with self._wakeup:
                if not self._woken:
                    self._wakeup.wait(timeout=wait)
                self._woken = False

    def _claim_due(self) -> list[list[dict]]:
        now = time.time()
        stale_before = now - (self.timeout + 60)
        with self.store.transaction() as conn:
            # One notification at a time per order, URL and copy, so that
            # without the shuffle fault they arrive in the order they happened.
            rows = conn.execute(
                "SELECT o.*, n.body_json, n.transaction_status FROM outbox o "
                "JOIN notifications n ON n.id = o.notification_id "
                "WHERE ((o.claimed_by IS NULL AND o.due_at <= ?) "
                "OR (o.claimed_by IS NOT NULL AND o.claimed_at < ?)) "
                "AND NOT EXISTS (SELECT 1 FROM outbox busy WHERE busy.order_id = o.order_id "
                "AND busy.url = o.url AND busy.copy = o.copy AND busy.id != o.id "
                "AND busy.claimed_by IS NOT NULL AND busy.claimed_at >= ?) ORDER BY o.id",
                (now, stale_before, stale_before),
            ).fetchall()
            for row in rows:
                conn.execute("UPDATE outbox SET claimed_by = ?, claimed_at = ? WHERE id = ?",
                             (self._worker_id, now, row["id"]))
        return _group_for_delivery([dict(row) for row in rows])

    def _seconds_until_next_due(self) -> float:
        row = self.store.query("SELECT MIN(due_at) AS due_at FROM outbox WHERE claimed_by IS NULL")
        if row[0]["due_at"] is None:
            return 1.0
        return min(1.0, max(0.0, row[0]["due_at"] - time.time()))

    def _deliver_group(self, jobs: list[dict]) -> None:
        for job in jobs:
            try:
                self._attempt(job)
            except Exception:
                log.exception("notification.attempt_error")

    def _attempt(self, job: dict) -> None:
        started = time.time()
        http_status, error = self._post(job["url"], job["body_json"])
        finished = time.time()
        delivered = http_status is not None and 200 <= http_status < 300
        next_attempt_at = None
        if not delivered and job["attempt"] <= retries_allowed(http_status):
            next_attempt_at = finished + retry_delay_seconds(job["attempt"], self.retry_scale)
        with self.store.transaction() as conn:
            still_ours = conn.execute(
                "SELECT 1 FROM outbox WHERE id = ? AND claimed_by = ?",
                (job["id"], self._worker_id),
            ).fetchone()
            if not still_ours:  # reset in the meantime, or reclaimed as stale
                return
            conn.execute(
                "INSERT INTO deliveries (delivery_id, notification_id, order_id, url, "
                "transaction_status, copy, attempt, outcome, http_status, error, duration_ms, "
                "started_at, finished_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job["delivery_id"], job["notification_id"], job["order_id"], job["url"],
                 job["transaction_status"], job["copy"], job["attempt"],
                 "delivered" if delivered else "failed", http_status, error,
                 round((finished - started) * 1000), started, finished, next_attempt_at),
            )
            if next_attempt_at is None:
                conn.execute("DELETE FROM outbox WHERE id = ?", (job["id"],))
            else:
                conn.execute(
                    "UPDATE outbox SET attempt = attempt + 1, due_at = ?, shuffle = 0, "
                    "claimed_by = NULL, claimed_at = NULL WHERE id = ?",
                    (next_attempt_at, job["id"]),
                )
        log_event(log, "notification.attempt", delivery_id=job["delivery_id"],
                  order_id=job["order_id"], url=job["url"],
                  transaction_status=job["transaction_status"], attempt=job["attempt"],
                  copy=job["copy"], http_status=http_status, error=error,
                  duration_ms=round((finished - started) * 1000),
                  outcome="delivered" if delivered else "failed",
                  retry_in_s=None if next_attempt_at is None else round(next_attempt_at - finished, 3))
        self.wake()  # a retry to schedule, or a later notification it held back

    def _post(self, url: str, body_json: str) -> tuple[int | None, str | None]:
        try:
            response = requests.post(
                url,
                data=body_json.encode("utf-8"),
                headers={"Content-Type": "application/json", "Accept": "application/json",
                         "User-Agent": "Veritrans (midtrans-simulator)"},
                timeout=self.timeout,
                allow_redirects=False,
            )
            response.close()
            return response.status_code, None
        except requests.Timeout:
            return None, f"timeout after {self.timeout:g}s"
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _group_for_delivery(jobs: list[dict]) -> list[list[dict]]:
    """Each group is posted in order by one thread. Jobs for one order, URL and
    copy go oldest first, while copies run side by side (duplicates arrive
    concurrently); a held shuffled batch for one order and URL goes newest first."""
    in_order, shuffled = {}, {}
    for job in jobs:
        if job["shuffle"] and job["attempt"] == 1:
            shuffled.setdefault((job["order_id"], job["url"]), []).append(job)
        else:
            in_order.setdefault((job["order_id"], job["url"], job["copy"]), []).append(job)
    groups = [sorted(batch, key=lambda job: job["id"]) for batch in in_order.values()]
    groups += [sorted(batch, key=lambda job: job["id"], reverse=True)
               for batch in shuffled.values()]
    return groups
