"""A person pays on the Snap page in a real headless Chromium."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from simulator.testing import free_port, running_simulator
from tests.simulator.webdriver import Browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "artifacts" / "simulator-payment-page.png"
PENDING_SCREENSHOT = ROOT / "artifacts" / "simulator-pending-page.png"
SERVER_KEY = "SB-Mid-server-browser-test"


def find_binary(*names):
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}")
                                       else None)
        if found:
            return found
    return None


@pytest.fixture
def sim_browser():
    chromium = find_binary("chromium", "chromium-browser")
    chromedriver = find_binary("chromedriver")
    if not (chromium and chromedriver):
        reason = ("chromium and chromedriver are needed: "
                  "apt-get install -y chromium chromium-driver")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="sim-chromium-") as profile:
        browser = Browser(chromedriver, chromium, free_port(), profile)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_a_customer_pays_by_bca_virtual_account_in_chromium(sim_browser):
    auth = (SERVER_KEY, "")
    with running_simulator(SIMULATOR_SERVER_KEY=SERVER_KEY) as base_url:
        order_id = "browser-order-1"
        created = requests.post(f"{base_url}/snap/v1/transactions", auth=auth, timeout=5, json={
            "transaction_details": {"order_id": order_id, "gross_amount": 47500},
            "item_details": [
                {"id": "kopi", "name": "Es kopi susu gula aren", "price": 18000, "quantity": 2},
                {"id": "roti", "name": "Roti bakar cokelat keju", "price": 16500, "quantity": 1},
                {"id": "promo", "name": "Diskon member", "price": -5000, "quantity": 1},
            ],
            "customer_details": {"first_name": "Sari", "last_name": "Dewi"},
        }).json()

        sim_browser.open(created["redirect_url"])
        assert sim_browser.text("#amount") == "Rp 47.500"
        sim_browser.screenshot(str(SCREENSHOT))

        sim_browser.click("label[for=method-bca_va]")
        sim_browser.click("#continue")
        va_number = sim_browser.text("#va-number")
        assert va_number.isdigit() and len(va_number) == 11
        status = requests.get(f"{base_url}/v2/{order_id}/status", auth=auth, timeout=5).json()
        assert status["transaction_status"] == "pending"
        assert status["va_numbers"] == [{"bank": "bca", "va_number": va_number}]
        sim_browser.screenshot(str(PENDING_SCREENSHOT))

        sim_browser.click("#pay")
        assert sim_browser.attribute("#result", "data-transaction-status") == "settlement"
        assert "Payment successful" in sim_browser.text("#result")

        status = requests.get(f"{base_url}/v2/{order_id}/status", auth=auth, timeout=5).json()
        assert (status["transaction_status"], status["status_code"]) == ("settlement", "200")
