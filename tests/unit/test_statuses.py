"""Statuses are named once: each closed set is a StrEnum, and app/ code uses its members, not bare strings."""

import ast
import json
from enum import StrEnum
from pathlib import Path

from marshmallow import Schema, fields

from app.catalog.models import ImportStatus
from app.inventory.models import Reason, StockTakeStatus
from app.models import one_of
from app.orders.models import OrderStatus, PaymentStatus
from app.payments.models import AttemptStatus, WebhookState
from app.reports.models import Channel, ExportReport, ExportStatus
from app.sales.statuses import SaleStatus, Tender
from app.users.models import Role

APP = Path(__file__).resolve().parent.parent.parent / "app"
ENUMS = (ImportStatus, Reason, StockTakeStatus, OrderStatus, PaymentStatus, AttemptStatus, WebhookState,
         Channel, ExportReport, ExportStatus, SaleStatus, Tender, Role)
VALUES = {member.value for enum in ENUMS for member in enum}
# Names that hold a value of one of the sets when assigned or passed as a keyword.
FIELDS = {"status", "payment_status", "processing_status", "role", "reason", "method", "channel", "report",
          "default", "load_default"}
# Midtrans's own vocabulary (MIDTRANS.md) shares words with ours ("pending", "refund"): comparing these is not ours.
FOREIGN = {"transaction_status", "fraud_status"}


def _literals(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [value for element in node.elts for value in _literals(element)]
    if isinstance(node, ast.IfExp):  # status = "a" if ... else "b"
        return _literals(node.body) + _literals(node.orelse)
    return []


def _name(node):
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None


def _suspects(node):
    """String literals that stand for a status where this node compares, assigns or passes one."""
    if isinstance(node, ast.Compare) and _name(node.left) not in FOREIGN:
        return [value for op, right in zip(node.ops, node.comparators)
                if isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn))
                for value in _literals(right) + _literals(node.left)]
    if isinstance(node, ast.keyword) and node.arg in FIELDS:
        return _literals(node.value)
    if isinstance(node, ast.Assign) and any(_name(target) in FIELDS for target in node.targets):
        return _literals(node.value)
    if isinstance(node, ast.Call) and _name(node.func) in ("in_", "not_in"):
        return [value for arg in node.args for value in _literals(arg)]
    return []


def bare_statuses(source, filename):
    tree = ast.parse(source, filename)
    enum_bodies = {id(statement) for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef)
                   and any(_name(base) == "StrEnum" for base in cls.bases) for statement in cls.body}
    found = []
    for node in ast.walk(tree):
        if id(node) in enum_bodies:
            continue
        found += [f"{filename}:{node.lineno}: {value!r}" for value in _suspects(node) if value in VALUES]
    return found


def test_no_bare_status_literals_in_app():
    found = []
    for path in sorted(APP.rglob("*.py")):
        found += bare_statuses(path.read_text(), f"app/{path.relative_to(APP).as_posix()}")
    assert not found, "Use the domain's StrEnum member instead of:\n" + "\n".join(found)


def test_the_scan_sees_each_way_of_naming_a_status():
    source = '''
if order.status == "paid": pass
if attempt.status in ("pending", "challenge"): pass
query.where(Order.status.in_(["expired"]))
order.status = "cancelled"
sale.status = "refunded" if whole else "partially_refunded"
update(Order).values(payment_status="none")
if transaction_status == "pending": pass
class Kind(StrEnum):
    PAID = "paid"
'''
    found = sorted(line.split(": ", 1)[1] for line in bare_statuses(source, "x.py"))
    assert found == sorted(["'paid'", "'pending'", "'challenge'", "'expired'", "'cancelled'", "'none'",
                            "'refunded'", "'partially_refunded'"])


def test_check_constraints_read_as_before():
    # The migrations were written from these strings: a change would need a migration.
    assert one_of("status", OrderStatus) == (
        "status IN ('pending', 'paid', 'preparing', 'ready', 'completed', 'expired', 'cancelled', 'failed')")
    assert one_of("role", Role) == "role IN ('admin', 'supervisor', 'cashier')"
    assert one_of("status", StockTakeStatus) == "status IN ('pending', 'applied', 'failed')"
    assert one_of("status", ImportStatus) == "status IN ('pending', 'done', 'failed')"


def test_members_leave_as_plain_strings(app):
    assert app.json.dumps({Channel.POS: [AttemptStatus.PAID]}) == '{"pos": ["paid"]}'
    assert json.dumps(Role.ADMIN) == '"admin"'
    assert f"{SaleStatus.VOIDED} {PaymentStatus.NONE!s}" == "voided none"

    class Out(Schema):
        status = fields.Str()

    assert Out().dump({"status": ExportStatus.DONE}) == {"status": "done"}
    assert type(Out().dump({"status": ExportStatus.DONE})["status"]) is str


def test_every_enum_is_a_str_enum():
    assert all(issubclass(enum, StrEnum) for enum in ENUMS)
