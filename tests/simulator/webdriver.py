"""Just enough of the W3C WebDriver protocol to drive Debian's chromedriver
with `requests`, so the browser test needs no extra package."""

import base64
import os
import subprocess
import time

import requests

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element key
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-quic", "--disable-component-update",
    "--disable-sync", "--disable-dev-shm-usage", "--window-size=480,1250",
]


class Browser:
    def __init__(self, chromedriver: str, chromium: str, port: int, user_data_dir: str):
        self._driver = subprocess.Popen(
            [chromedriver, f"--port={port}"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self._base = f"http://127.0.0.1:{port}"
        try:
            self._wait_for_driver()
            session = self._call("post", "/session", {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": CHROMIUM_ARGS + [f"--user-data-dir={user_data_dir}"],
                },
            }}})
            self._session = f"/session/{session['sessionId']}"
        except Exception:
            self._driver.kill()
            raise

    def open(self, url: str) -> None:
        self._call("post", f"{self._session}/url", {"url": url})

    def find(self, css: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            response = requests.post(f"{self._base}{self._session}/element",
                                     json={"using": "css selector", "value": css}, timeout=30)
            if response.status_code == 200:
                return response.json()["value"][ELEMENT]
            if time.monotonic() > deadline:
                raise AssertionError(f"no element {css!r} on the page: {response.text[:300]}")
            time.sleep(0.05)

    def click(self, css: str) -> None:
        self._call("post", f"{self._session}/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return self._call("get", f"{self._session}/element/{self.find(css)}/text")

    def attribute(self, css: str, name: str) -> str:
        return self._call("get", f"{self._session}/element/{self.find(css)}/attribute/{name}")

    def screenshot(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(self._call("get", f"{self._session}/screenshot")))

    def close(self) -> None:
        try:
            requests.delete(f"{self._base}{self._session}", timeout=10)
        finally:
            self._driver.terminate()
            try:
                self._driver.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._driver.kill()

    def _wait_for_driver(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self._base}/status", timeout=1).json()["value"]["ready"]:
                    return
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise RuntimeError("chromedriver did not start")

    def _call(self, method: str, path: str, body: dict | None = None):
        response = requests.request(method, f"{self._base}{path}", json=body, timeout=60)
        if response.status_code != 200:
            raise AssertionError(f"WebDriver {method.upper()} {path}: {response.text[:500]}")
        return response.json()["value"]
