"""The Idempotency-Key claim is handed to the view, and a view that forgets to complete it fails loudly.

A forgotten claim means a retry with the same key would run the request a
second time (a second sale). The routes are tested through the API in
tests/api (test_checkout.py, test_menu_orders.py, test_payments_api.py);
here two throwaway views on a fresh app show the decorator's own contract.
"""

import logging

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.idempotency import IdempotencyKey, idempotent


def _replay(resource_id):
    return {"id": resource_id}


@pytest.fixture
def claim_app(app, test_config):
    """An app like the real one (the `app` fixture migrated its database) with two extra views."""
    flask_app = create_app(test_config)

    @flask_app.post("/test/forgetful")
    @idempotent("test.forgetful", replay=_replay, scope_by_user=False)
    def forgetful(claim):
        return {"id": "1"}, 201

    @flask_app.post("/test/careful")
    @idempotent("test.careful", replay=_replay, scope_by_user=False)
    def careful(claim):
        if claim is not None:
            claim.complete("7", 201)
        db.session.commit()
        return {"id": "7"}, 201

    return flask_app


def _keys(flask_app):
    with flask_app.app_context():
        return db.session.scalar(select(func.count()).select_from(IdempotencyKey))


def test_a_view_that_forgets_to_complete_its_claim_fails_loudly(claim_app, caplog):
    caplog.set_level(logging.INFO)
    response = claim_app.test_client().post("/test/forgetful", json={"a": 1}, headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 500
    assert response.get_json()["code"] == 500
    assert "idempotency_not_completed scope=test.forgetful" in caplog.text
    assert "unhandled_error error=UnfinishedClaim" in caplog.text
    assert _keys(claim_app) == 0


def test_without_a_key_the_view_gets_no_claim_and_nothing_is_checked(claim_app):
    response = claim_app.test_client().post("/test/forgetful", json={"a": 1})

    assert response.status_code == 201
    assert _keys(claim_app) == 0


def test_a_completed_claim_is_replayed_from_the_key(claim_app):
    client = claim_app.test_client()
    first = client.post("/test/careful", json={"a": 1}, headers={"Idempotency-Key": "k-2"})
    again = client.post("/test/careful", json={"a": 1}, headers={"Idempotency-Key": "k-2"})
    other = client.post("/test/careful", json={"a": 2}, headers={"Idempotency-Key": "k-2"})

    assert (first.status_code, first.get_json()) == (201, {"id": "7"})
    assert "Idempotent-Replayed" not in first.headers
    assert (again.status_code, again.get_json(), again.headers["Idempotent-Replayed"]) == (201, {"id": "7"}, "true")
    assert other.status_code == 422
    assert _keys(claim_app) == 1
