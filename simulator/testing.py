"""Run the simulator as a real server from another test suite.

    from simulator.testing import running_simulator

    with running_simulator(SIMULATOR_NOTIFICATION_URL=url, SIMULATOR_RETRY_SCALE="0.001") as base_url:
        ...  # MIDTRANS_SNAP_BASE_URL = base_url + "/snap/v1", MIDTRANS_API_BASE_URL = base_url

Keyword arguments are environment variables for the simulator process. It
gets its own temporary SQLite file and a free port on 127.0.0.1.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_simulator(port: int | None = None, startup_timeout: float = 15.0, **env):
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="midtrans-sim-") as workdir:
        process_env = dict(os.environ)
        process_env.update({
            "SIMULATOR_DB": os.path.join(workdir, "simulator.sqlite3"),
            "SIMULATOR_PUBLIC_URL": base_url,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [PACKAGE_PARENT, process_env.get("PYTHONPATH")])),
        })
        process_env.update({key: str(value) for key, value in env.items()})
        log_path = os.path.join(workdir, "simulator.log")
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port)],
                env=process_env, stdout=log_file, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=workdir,
            )
            try:
                _wait_until_up(process, base_url, startup_timeout, log_path)
                yield base_url
            finally:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def _wait_until_up(process, base_url: str, timeout: float, log_path: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            if requests.get(f"{base_url}/_sim/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"simulator did not answer within {timeout}s:\n{_tail(log_path)}")


def _tail(path: str, lines: int = 30) -> str:
    with open(path, "rb") as handle:
        return b"\n".join(handle.read().splitlines()[-lines:]).decode("utf-8", "replace")
