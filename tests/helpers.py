"""Small helpers shared by tests."""

import time
from http import HTTPStatus

from app.jsonbody import MAX_DEPTH as _MAX_JSON_DEPTH


def wait_for(predicate, timeout=15.0, interval=0.05, message="condition"):
    """Poll until `predicate()` is truthy; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def count_rows(model, *where):
    """Rows of `model` matching `where`, read in a fresh app context by the caller."""
    from sqlalchemy import func, select

    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def give_pin(app, user, pin="1234"):
    """Set an approval PIN on a user made by `make_user`."""
    from app.auth.approvals import set_pin
    from app.extensions import db
    from app.users.models import User

    with app.app_context():
        set_pin(db.session.get(User, user["id"]), pin)
        db.session.commit()


def assert_error(response, code):
    """The one error shape: `{code, status, message, errors?}` as JSON; returns the body."""
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert body["code"] == code
    assert body["status"] == HTTPStatus(code).phrase
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "status", "message", "errors"}
    return body


# Bodies a parser that recurses per level cannot read: nested far, and one level past app.jsonbody.MAX_DEPTH.
DEEP_BODIES = {
    "50000 brackets": "[" * 50_000,
    "objects 3000 deep": '{"a":' * 3000 + "1" + "}" * 3000,
    "one level too deep": '{"name": ' + "[" * _MAX_JSON_DEPTH + "1" + "]" * _MAX_JSON_DEPTH + "}",
}
