"""A tiny notification receiver: a real HTTP server on 127.0.0.1 in a thread,
answering from a script of statuses and recording every request it gets."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
