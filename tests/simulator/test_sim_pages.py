"""The Snap payment page, driven through the Flask test client."""

import re

import pytest


def token_of(client, order_id):
    return client.get(f"/_sim/transactions/{order_id}").json["token"]


def test_page_shows_the_order_and_every_method(sim_client, sim_snap):
    order_id, created = sim_snap(amount=37500, item_details=[
        {"name": "Es kopi susu", "price": 18000, "quantity": 2},
        {"name": "Roti bakar", "price": 1500, "quantity": 1},
    ], customer_details={"first_name": "Sari", "last_name": "Dewi"})

    page = sim_client.get(f"/snap/v4/redirection/{created['token']}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert order_id in html
    assert "Rp 37.500" in html and "Rp 36.000" in html and "Rp 1.500" in html
    assert "Es kopi susu" in html and "Sari Dewi" in html
    for label in ("BCA", "BNI", "BRI", "Permata", "QRIS", "Credit / debit card", "GoPay",
                  "ShopeePay"):
        assert label in html


def test_unknown_token_is_404(sim_client):
    assert sim_client.get("/snap/v4/redirection/no-such-token").status_code == 404


@pytest.mark.parametrize("method, bank, digits", [
    ("bca_va", "bca", 11), ("bni_va", "bni", 16), ("bri_va", "bri", 15)])
def test_choosing_a_bank_shows_its_va_and_makes_a_pending_transaction(
        sim_client, sim_auth, sim_snap, sim_receiver, method, bank, digits):
    order_id, created = sim_snap()

    chosen = sim_client.post(f"/snap/v4/redirection/{created['token']}/method",
                             data={"method": method}, follow_redirects=True)

    html = chosen.get_data(as_text=True)
    va_number = re.search(r'id="va-number">(\d+)<', html).group(1)
    assert len(va_number) == digits
    status = sim_client.get(f"/v2/{order_id}/status", headers=sim_auth).json
    assert status["transaction_status"] == "pending"
    assert status["va_numbers"] == [{"bank": bank, "va_number": va_number}]
    assert sim_receiver.wait_for(1)[0]["body"]["transaction_status"] == "pending"


def test_paying_shows_the_result_and_links_back_to_the_finish_url(
        sim_client, sim_auth, sim_snap):
    order_id, created = sim_snap(callbacks={"finish": "https://shop.test/done?x=1"})
    token = created["token"]
    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "qris"})

    result = sim_client.post(f"/snap/v4/redirection/{token}/action", data={"action": "pay"},
                             follow_redirects=True)

    html = result.get_data(as_text=True)
    assert "Payment successful" in html
    finish = (f"https://shop.test/done?x=1&amp;order_id={order_id}"
              "&amp;status_code=200&amp;transaction_status=settlement")
    assert f'href="{finish}"' in html
    assert 'http-equiv="refresh"' in html
    assert sim_client.get(f"/v2/{order_id}/status",
                          headers=sim_auth).json["transaction_status"] == "settlement"


@pytest.mark.parametrize("form, status, fraud, text", [
    ({"action": "pay"}, "capture", "accept", "Payment successful"),
    ({"action": "pay", "challenge": "on"}, "capture", "challenge", "Payment under review"),
    ({"action": "fail"}, "deny", "deny", "Payment denied"),
    ({"action": "expire"}, "expire", "accept", "Payment expired"),
])
def test_card_actions(sim_client, sim_auth, sim_snap, form, status, fraud, text):
    order_id, created = sim_snap()
    token = created["token"]
    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "credit_card"})

    result = sim_client.post(f"/snap/v4/redirection/{token}/action", data=form,
                             follow_redirects=True)

    assert text in result.get_data(as_text=True)
    body = sim_client.get(f"/v2/{order_id}/status", headers=sim_auth).json
    assert (body["transaction_status"], body["fraud_status"]) == (status, fraud)


def test_leaving_before_choosing_expires_the_link(sim_client, sim_auth, sim_snap, sim_receiver):
    order_id, created = sim_snap()

    page = sim_client.post(f"/snap/v4/redirection/{created['token']}/action",
                           data={"action": "expire"}, follow_redirects=True)

    assert "This payment link has expired" in page.get_data(as_text=True)
    assert sim_client.get(f"/v2/{order_id}/status", headers=sim_auth).json["status_code"] == "404"


def test_a_second_click_does_not_move_a_final_state(sim_client, sim_auth, sim_snap):
    order_id, created = sim_snap()
    token = created["token"]
    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "gopay"})
    sim_client.post(f"/snap/v4/redirection/{token}/action", data={"action": "pay"})

    again = sim_client.post(f"/snap/v4/redirection/{token}/action", data={"action": "fail"},
                            follow_redirects=True)

    assert "Payment successful" in again.get_data(as_text=True)
    assert sim_client.get(f"/v2/{order_id}/status",
                          headers=sim_auth).json["transaction_status"] == "settlement"
