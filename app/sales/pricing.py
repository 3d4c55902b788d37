"""How a sale's amounts are computed: pure functions on integer rupiah.

The rules, in order (each rounding is half up to the whole rupiah):

1. Line gross = unit price x qty (the server's price, never the client's).
2. Line discount: an amount (at most the line gross), or a percent of the
   line gross, rounded.
3. Sale discount: an amount (at most what is left after line discounts), or
   a percent of it, rounded. It is shared out over the lines in proportion
   to what each line is left with (largest remainder, ties to the earlier
   line), so the shares add up exactly.
4. Net = subtotal - all discounts.
5. Service charge = net x service rate, rounded.
6. Tax on net + service charge:
   - exclusive: tax = (net + service) x rate, rounded, and added to the total;
   - inclusive: the prices already contain it; tax = (net + service) x
     rate / (1 + rate), rounded, shown but not added.
7. Total = net + service (+ tax when exclusive). Each line's share of the
   total is shared out like the sale discount; a refund gives back shares.

Rates are basis points: 1100 = 11 %.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from app.sales import statuses

BP = 10_000


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def percent_to_bp(percent: Decimal | float) -> int:
    """A Decimal percent with at most two places (12.5) as basis points (1250)."""
    return int(percent * 100)


def share_out(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to `weights` so the parts add up to `amount` exactly."""
    total_weight = sum(weights)
    if amount == 0 or total_weight == 0:
        return [0] * len(weights)
    exact = [amount * weight for weight in weights]
    parts = [value // total_weight for value in exact]
    remainders = sorted(range(len(weights)), key=lambda i: (-(exact[i] % total_weight), i))
    for i in remainders[: amount - sum(parts)]:
        parts[i] += 1
    return parts


@dataclass(frozen=True)
class Rates:
    tax_rate_bp: int = 0
    tax_inclusive: bool = False
    service_charge_bp: int = 0


@dataclass(frozen=True)
class LineIn:
    product_id: int
    unit_price_idr: int
    qty: int
    discount_idr: int | None = None
    discount_bp: int | None = None


@dataclass
class PricedLine:
    product_id: int
    unit_price_idr: int
    qty: int
    gross_idr: int
    line_discount_idr: int
    sale_discount_share_idr: int = 0
    total_share_idr: int = 0


@dataclass
class PricedSale:
    lines: list[PricedLine] = field(default_factory=list)
    subtotal_idr: int = 0
    line_discount_idr: int = 0
    sale_discount_idr: int = 0
    discount_idr: int = 0
    service_charge_idr: int = 0
    tax_idr: int = 0
    total_idr: int = 0


class PricingError(ValueError):
    """A discount larger than what it applies to; the message says which."""

    def __init__(self, message: str, field_path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.field_path = field_path


def _line_discount(index: int, gross: int, line: LineIn) -> int:
    if line.discount_bp is not None:
        return round_half_up(gross * line.discount_bp, BP)
    amount = line.discount_idr or 0
    if amount > gross:
        raise PricingError(f"Line {index + 1}'s discount ({amount}) is more than the line ({gross}).",
                           ("items", index, "discount_idr"))
    return amount


def price_sale(lines: Sequence[LineIn], rates: Rates, sale_discount_idr: int | None = None,
               sale_discount_bp: int | None = None) -> PricedSale:
    priced = []
    for index, line in enumerate(lines):
        gross = line.unit_price_idr * line.qty
        priced.append(PricedLine(line.product_id, line.unit_price_idr, line.qty, gross, _line_discount(index, gross, line)))

    subtotal = sum(line.gross_idr for line in priced)
    line_discount = sum(line.line_discount_idr for line in priced)
    after_lines = subtotal - line_discount
    if sale_discount_bp is not None:
        sale_discount = round_half_up(after_lines * sale_discount_bp, BP)
    else:
        sale_discount = sale_discount_idr or 0
        if sale_discount > after_lines:
            raise PricingError(f"The sale discount ({sale_discount}) is more than the sale ({after_lines}).",
                               ("discount_idr",))

    line_nets = [line.gross_idr - line.line_discount_idr for line in priced]
    for priced_line, share in zip(priced, share_out(sale_discount, line_nets)):
        priced_line.sale_discount_share_idr = share

    net = after_lines - sale_discount
    service = round_half_up(net * rates.service_charge_bp, BP)
    taxable = net + service
    if rates.tax_inclusive:
        tax = round_half_up(taxable * rates.tax_rate_bp, BP + rates.tax_rate_bp)
        total = taxable
    else:
        tax = round_half_up(taxable * rates.tax_rate_bp, BP)
        total = taxable + tax

    final_nets = [line.gross_idr - line.line_discount_idr - line.sale_discount_share_idr for line in priced]
    for priced_line, share in zip(priced, share_out(total, final_nets)):
        priced_line.total_share_idr = share

    return PricedSale(
        lines=priced,
        subtotal_idr=subtotal,
        line_discount_idr=line_discount,
        sale_discount_idr=sale_discount,
        discount_idr=line_discount + sale_discount,
        service_charge_idr=service,
        tax_idr=tax,
        total_idr=total,
    )


@dataclass(frozen=True)
class Tender:
    method: str
    amount_idr: int
    reference: str | None = None


def settle(total_idr: int, tenders: Sequence[Tender]) -> tuple[int, int]:
    """(paid, change) for these tenders, or a PricingError saying what is wrong.

    Change is given only from cash: card, QRIS and transfer together may not
    exceed the total.
    """
    paid = sum(tender.amount_idr for tender in tenders)
    non_cash = sum(tender.amount_idr for tender in tenders if tender.method != statuses.Tender.CASH)
    if paid < total_idr:
        raise PricingError(f"The payments ({paid}) are {total_idr - paid} short of the total ({total_idr}).",
                           ("payments",))
    if non_cash > total_idr:
        raise PricingError(f"Non-cash payments ({non_cash}) exceed the total ({total_idr}); only cash gives change.",
                           ("payments",))
    return paid, paid - total_idr


def refund_amount(item_total_share: int, item_qty: int, already_refunded_qty: int, qty: int) -> int:
    """What `qty` more units of a line give back.

    Measured from the cumulative share (rounded) so that refunds made one
    unit at a time add up to exactly the line's share, never more.
    """

    def refunded_after(units: int) -> int:
        return round_half_up(item_total_share * units, item_qty)

    return refunded_after(already_refunded_qty + qty) - refunded_after(already_refunded_qty)
