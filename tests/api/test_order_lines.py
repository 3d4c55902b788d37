"""Order and till lines that do not load are 422 naming the line, never 500 (issue 12).

`POST /api/orders` answered 500 to `"items": [5]`, to a product id that is not a
number, and to two lines of one product with one of them over the cap: the
duplicate-line check ran on lines that had not loaded (KeyError) and mixed its
message with the lines' errors keyed by index (TypeError). The till's checkout
and carts take the same lines and are checked too.
"""

import pytest

from app.idempotency import IdempotencyKey
from app.orders.models import Order
from tests.helpers import assert_error
from tests.payments_support import count, create_product, stock_of

CUSTOMER = {"name": "Pelanggan", "phone": "0812-0000-0001"}


@pytest.fixture
def cashier(auth_headers):
    return auth_headers("cashier")




@pytest.mark.parametrize("items, where", [
    ([5], ("0", "_schema")),
    ([{"product_id": "x", "qty": 1}], ("0", "product_id")),
    ("duplicate_over_cap", ("1", "qty")),
])
def test_bad_order_lines_are_422_naming_the_line_and_write_nothing(app, client, admin_headers, items, where):
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)
    if items == "duplicate_over_cap":
        items = [{"product_id": teh["id"], "qty": 1}, {"product_id": teh["id"], "qty": app.config["ORDER_MAX_QTY"] + 1}]

    response = client.post("/api/orders", json={"customer": CUSTOMER, "items": items})

    error = assert_error(response, 422)
    line, field = where
    assert error["errors"]["json"]["items"][line][field], error
    assert count(app, Order) == 0 and count(app, IdempotencyKey) == 0 and stock_of(app, teh["id"]) == 100


def test_two_lines_of_one_product_are_422_on_items(app, client, admin_headers):
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)

    response = client.post("/api/orders", json={"customer": CUSTOMER, "items": [
        {"product_id": teh["id"], "qty": 1}, {"product_id": teh["id"], "qty": 2}]})

    assert assert_error(response, 422)["errors"]["json"]["items"] == ["List each product once, with its quantity."]
    assert count(app, Order) == 0


@pytest.mark.parametrize("path, extra", [("/api/sales", {"payments": [{"method": "cash", "amount_idr": 1_000}]}),
                                         ("/api/carts", {"label": "Meja 1"})])
@pytest.mark.parametrize("items", [[5], [{"product_id": "x", "qty": 1}]])
def test_the_tills_bad_lines_are_422_too(app, client, cashier, path, extra, items):
    from app.sales.models import Cart, Sale

    response = client.post(path, json={"items": items, **extra}, headers=cashier)

    assert assert_error(response, 422)["errors"]["json"]["items"]["0"]
    assert count(app, Sale) == 0 and count(app, Cart) == 0
