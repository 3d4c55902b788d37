"""Services raise domain errors (app/domain.py); one handler (app/errors.py) turns them into the error shape.

Services are called here outside any request, as the CLI and the Celery
tasks call them: what comes out is a domain error, never an HTTP exception.
"""

import importlib
import pkgutil
from http import HTTPStatus

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select

import app as app_package
from app import domain
from app.auth.passwords import WeakPassword
from app.catalog.models import Product
from app.catalog.services import get_product
from app.cli import refusals_exit
from app.errors import STATUS, status_of
from app.extensions import db
from app.inventory.models import StockLevel, StockMovement
from app.inventory.services import InsufficientStock, StockChange, apply_stock_changes
from app.models import get_or_raise
from app.orders.holds import OnlineShareExceeded, ShareExceeded, TooManyPendingOrders
from app.sales.models import Sale
from app.sales.checkout import checkout
from app.stores.services import current_store_id
from app.users.models import User
from tests.helpers import count_rows

EXPECTED_STATUS = {
    domain.Malformed: 400,
    domain.AuthenticationFailed: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Gone: 410,
    domain.TooLarge: 413,
    domain.Invalid: 422,
    domain.TooManyAttempts: 429,
    domain.Unavailable: 503,
    InsufficientStock: 409,
    OnlineShareExceeded: 409,
    TooManyPendingOrders: 429,
    WeakPassword: 422,
}


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _render(app, error):
    """What a client receives when a view raises `error`."""
    with app.test_request_context("/api/anything"):
        return app.make_response(app.handle_user_exception(error))


# Outside any request: the CLI's and the tasks' view


def _product_with_stock(sku, stock):
    product = Product(sku=sku, name=f"Produk {sku}", price_idr=5_000, low_stock_threshold=0, is_active=True)
    db.session.add(product)
    db.session.flush()
    apply_stock_changes(store_id=current_store_id(), changes=[StockChange(product.id, stock)], reason="purchase")
    db.session.commit()
    return product.id


def test_checkout_short_of_stock_raises_insufficient_stock_and_writes_nothing(app_context, make_user):
    product_id = _product_with_stock("SHORT", 2)
    cashier = db.session.get(User, make_user("cashier")["id"])
    body = {"items": [{"product_id": product_id, "qty": 5}], "payments": [{"method": "cash", "amount_idr": 100_000}]}

    with pytest.raises(InsufficientStock) as raised:
        checkout(current_store_id(), cashier, body)

    error = raised.value
    assert isinstance(error, domain.Conflict)
    assert error.message == "Not enough stock for Produk SHORT (asked 5, 2 left)."
    assert error.errors == {"stock": [{"product_id": product_id, "name": "Produk SHORT", "requested": 5, "available": 2}]}
    db.session.rollback()
    assert count_rows(Sale) == 0
    assert count_rows(StockMovement) == 1  # the purchase only
    assert db.session.scalar(select(StockLevel.quantity).where(StockLevel.product_id == product_id)) == 2


def test_a_missing_row_raises_not_found_outside_a_request(app_context):
    with pytest.raises(domain.NotFound) as raised:
        get_product(current_store_id(), 999_999)
    assert raised.value.message == "No product with id 999999."

    with pytest.raises(domain.NotFound) as raised:
        get_or_raise(User, 999_999, "user")
    assert raised.value.message == "No user with id 999999."
    assert raised.value.errors is None


def test_the_cli_prints_a_refusal_and_exits_non_zero():
    @click.command()
    @refusals_exit
    def refuse():
        raise domain.Conflict("The order is paid; it cannot be cancelled.")

    result = CliRunner().invoke(refuse)

    assert result.exit_code == 1
    assert result.output == "Error: The order is paid; it cannot be cancelled.\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)


# The one handler


@pytest.mark.parametrize("error_class", list(STATUS), ids=lambda cls: cls.__name__)
def test_every_domain_error_renders_the_one_shape_with_its_status(app, error_class):
    errors = {"json": {"field": ["What is wrong with it."]}}

    response = _render(app, error_class("A message a person can act on.", errors=errors))

    code = EXPECTED_STATUS[error_class]
    assert response.status_code == code
    assert response.get_json() == {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "message": "A message a person can act on.",
        "errors": errors,
    }
    assert "Retry-After" not in response.headers


def test_without_field_errors_the_body_has_no_errors_key(app):
    response = _render(app, domain.NotFound("No sale with id 7."))

    assert response.get_json() == {"code": 404, "status": "Not Found", "message": "No sale with id 7."}


def test_too_many_attempts_sends_retry_after_when_it_knows_it(app):
    response = _render(app, domain.TooManyAttempts("Wait 15 minutes.", retry_after=900))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "900"


def test_the_specialised_errors_keep_their_bodies(app):
    shortage = {"product_id": 3, "name": "Kopi", "requested": 4, "available": 1}
    assert _render(app, InsufficientStock([shortage])).get_json() == {
        "code": 409, "status": "Conflict", "message": "Not enough stock for Kopi (asked 4, 1 left).",
        "errors": {"stock": [shortage]},
    }
    weak = _render(app, WeakPassword("password", ["At least 12 characters.", "Too common."]))
    assert weak.get_json() == {
        "code": 422, "status": "Unprocessable Entity", "message": "password is too weak: At least 12 characters.",
        "errors": {"json": {"password": ["At least 12 characters.", "Too common."]}},
    }
    line = ShareExceeded(index=1, product_id=3, name="Kopi", requested=5, can_order=2, by_client=False)
    assert _render(app, OnlineShareExceeded([line])).get_json() == {
        "code": 409, "status": "Conflict", "message": "Only 2 of Kopi can be ordered online now.",
        "errors": {"json": {"items": {"1": {"qty": ["Only 2 of Kopi can be ordered online now."]}}}},
    }
    assert _render(app, TooManyPendingOrders("This address already has 3 unpaid orders.")).status_code == 429


def test_every_domain_error_in_the_app_has_a_status(app):
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        importlib.import_module(module.name)
    classes = set(_all_subclasses(domain.DomainError))

    assert {cls for cls in classes if status_of(cls) is None} == set()
    assert {cls: status_of(cls) for cls in EXPECTED_STATUS} == EXPECTED_STATUS
    assert classes <= set(EXPECTED_STATUS), "a new DomainError: add it and its status to EXPECTED_STATUS"


def test_a_bare_domain_error_is_a_logged_500_not_a_guess(app):
    response = _render(app, domain.DomainError("No class says what went wrong."))

    assert response.status_code == 500
    assert response.get_json()["message"] == "Internal error; it has been logged."
