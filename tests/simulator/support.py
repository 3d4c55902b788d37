"""Helpers for the simulator's own tests: a tiny notification receiver (a real
HTTP server on 127.0.0.1 in a thread, answering from a script of statuses and
recording every request it gets) and waits on what the simulator reports."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER_KEY = "SB-Mid-server-test-key"
# Small enough that the whole Midtrans schedule (2+10+30+90+210 minutes)
# takes about two seconds.
RETRY_SCALE = 0.0001


class Receiver:
    def __init__(self):
        self.requests = []  # dicts: at, path, body, headers, answered
        self._script = []  # statuses (int) or ("sleep", seconds, status)
        self._default = 200
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, delay = receiver._next_answer()
                with receiver._lock:
                    receiver.requests.append({
                        "at": time.monotonic(), "path": self.path, "raw": raw,
                        "body": json.loads(raw) if raw else None,
                        "headers": dict(self.headers), "answered": status,
                    })
                    receiver._arrived.notify_all()
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                try:
                    self.wfile.write(b"ok")
                except OSError:  # the simulator gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    def answer(self, *statuses, then: int = 200) -> None:
        """Answer the next requests with these statuses, later ones with `then`.
        An item may be ("sleep", seconds, status) to answer slowly."""
        with self._lock:
            self._script = list(statuses)
            self._default = then

    def _next_answer(self) -> tuple[int, float]:
        with self._lock:
            item = self._script.pop(0) if self._script else self._default
        if isinstance(item, tuple):
            return item[2], item[1]
        return item, 0.0

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} notifications, got {len(self.requests)}: "
                        f"{[r['body'] and r['body'].get('transaction_status') for r in self.requests]}")
                self._arrived.wait(remaining)
            return list(self.requests)

    def statuses(self) -> list[str]:
        with self._lock:
            return [request["body"]["transaction_status"] for request in self.requests]

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Polls until predicate() is truthy and returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def settled_deliveries(client, order_id: str, timeout: float = 5.0) -> list[dict]:
    """The simulator's delivery log for `order_id` once nothing is queued or in
    flight for it.

    A notification is written with its outbox rows in one transaction, and a row
    leaves the outbox only after its last attempt is logged (a receiver records
    a request before answering it). So from here on every receiver has had all
    it will ever get for this order, and a test can assert what did *not*
    arrive without sleeping.
    """
    def settled():
        log = client.get("/_sim/deliveries", query_string={"order_id": order_id}).json
        return log if not log["queued"] else None

    return wait_until(settled, timeout=timeout)["deliveries"]


def dispatcher_pass(client) -> None:
    """Returns once the simulator's dispatcher finished a pass begun after this
    call: payments whose time was up are expired and due notifications claimed."""
    response = client.post("/_sim/dispatcher/pass")
    assert response.status_code == 200, response.json
