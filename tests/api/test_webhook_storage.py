"""Refused notifications are kept for audit in bounded form; correctly signed ones are always stored whole.

Any address could store 64 KiB of junk per request in `webhook_logs` (20
requests stored 1.4 MB). Now a refused notification keeps an excerpt, its
size and hash, and only within per-minute caps per address and in total;
old refused rows are purged. A notification with a valid signature is never
refused, capped or cut short by any of this.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.jsonbody import MAX_DEPTH
from app.models import utcnow
from app.payments.models import WebhookLog
from app.payments.notifications import purge_refused
from tests.helpers import DEEP_BODIES, assert_error
from tests.payments_support import signed_notification

JUNK = "x" * (64 * 1024 - 1)


@pytest.fixture
def caps(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_UNVERIFIED_PER_ADDRESS_PER_MINUTE", 5)
    monkeypatch.setitem(app.config, "WEBHOOK_UNVERIFIED_PER_MINUTE", 8)
    monkeypatch.setitem(app.config, "WEBHOOK_UNVERIFIED_BODY_CHARS", 1024)
    return app.config


def post(client, body=None, raw=None, address="203.0.113.5"):
    data = raw if raw is not None else json.dumps(body)
    return client.post("/api/webhooks/midtrans", data=data, content_type="application/json",
                       environ_base={"REMOTE_ADDR": address})


def rows(app):
    with app.app_context():
        return db.session.scalars(select(WebhookLog).order_by(WebhookLog.id)).all()


def test_junk_from_one_address_is_answered_but_stored_only_up_to_the_cap_and_only_an_excerpt(app, client, caps):
    for _ in range(20):
        assert_error(post(client, raw=JUNK), 400)

    stored = rows(app)
    assert len(stored) == 5
    digest = hashlib.sha256(JUNK.encode()).hexdigest()
    for row in stored:
        assert row.processing_status == "invalid" and row.body == JUNK[:1024]
        assert f"Body of {len(JUNK)} characters (sha256 {digest})" in row.outcome
        assert row.remote_addr == "203.0.113.5"
    with app.app_context():
        stored_bytes = db.session.scalar(select(func.sum(func.length(WebhookLog.body))))
    assert stored_bytes == 5 * 1024


def test_wrongly_signed_notifications_count_against_the_same_caps(app, client, caps):
    forged = signed_notification("ORDER-1-1", "settlement", "10000.00")
    forged["signature_key"] = "0" * 128

    for _ in range(7):
        assert_error(post(client, forged), 403)

    stored = rows(app)
    assert [row.processing_status for row in stored] == ["rejected"] * 5
    assert json.loads(stored[0].body) == forged and stored[0].signature_valid is False


def test_the_cap_is_per_address_and_in_total(app, client, caps):
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        for _ in range(4):
            post(client, raw="not json", address=address)

    by_address = {}
    for row in rows(app):
        by_address[row.remote_addr] = by_address.get(row.remote_addr, 0) + 1
    assert sum(by_address.values()) == 8  # the total cap
    assert by_address["198.51.100.1"] == 4 and by_address["198.51.100.2"] == 4


def test_a_correctly_signed_notification_is_stored_whole_even_after_the_caps_are_spent(app, client, caps):
    for _ in range(10):
        post(client, raw=JUNK)
    valid = signed_notification("ORDER-2-1", "settlement", "25000.00", note="y" * 5000)

    response = post(client, valid)

    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    [row] = [row for row in rows(app) if row.signature_valid]
    assert json.loads(row.body) == valid and row.processing_status == "received"
    assert row.midtrans_order_id == "ORDER-2-1"


@pytest.mark.parametrize("raw", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_a_deeply_nested_notification_is_400_and_its_row_is_closed_as_invalid(app, client, raw):
    response = post(client, raw=raw)

    assert_error(response, 400)
    [row] = rows(app)
    assert row.processing_status == "invalid" and f"nested more than {MAX_DEPTH} levels" in row.outcome
    assert row.processed_at is not None and row.signature_valid is None


def test_a_body_with_a_nul_byte_is_refused_and_stored_without_it(app, client, caps):
    response = post(client, raw='{"order_id": "a\x00b"')

    assert_error(response, 400)
    [row] = rows(app)
    assert row.processing_status == "invalid" and "\x00" not in row.body and "\ufffd" in row.body


def test_refused_notifications_past_their_retention_are_purged_and_valid_ones_kept(app, client, caps):
    post(client, raw="not json")
    post(client, signed_notification("ORDER-3-1", "settlement", "5000.00"))
    post(client, raw="still not json")
    old, valid, recent = rows(app)
    with app.app_context():
        long_ago = utcnow() - timedelta(days=app.config["WEBHOOK_UNVERIFIED_RETENTION_DAYS"] + 1)
        db.session.execute(update(WebhookLog).where(WebhookLog.id.in_([old.id, valid.id])).values(received_at=long_ago))
        db.session.commit()

        assert purge_refused() == 1

    assert [row.id for row in rows(app)] == [valid.id, recent.id]
