"""Redis locks: a fast path that keeps two workers off the same job.

They are never the only guard: the database's conditional updates and row
locks are, so a lock that expires early or a Redis outage costs speed, not
correctness.
"""

from contextlib import contextmanager

from app.extensions import redis_client


@contextmanager
def redis_lock(name, timeout):
    """Try once to take `name` for at most `timeout` seconds; yields whether it was taken."""
    lock = redis_client.lock(f"lock:{name}", timeout=timeout, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except Exception:
                # Expired and maybe taken by another worker: nothing of ours to release.
                pass
