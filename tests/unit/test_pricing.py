"""A sale's amounts, checked against figures worked out by hand from the rules in pricing.py's docstring.

Every expected number below is computed in the comment next to it, from the
rules (half-up rounding to the rupiah, largest-remainder shares with ties to
the earlier line), not from the code under test.
"""

from decimal import Decimal

import pytest

from app.sales.pricing import (
    LineIn,
    PricingError,
    Rates,
    Tender,
    percent_to_bp,
    price_sale,
    refund_amount,
    round_half_up,
    settle,
    share_out,
)

NO_RATES = Rates()


def line(price, qty, product_id=1, **discount):
    return LineIn(product_id=product_id, unit_price_idr=price, qty=qty, **discount)


def amounts(sale):
    return {
        "subtotal": sale.subtotal_idr,
        "line_discount": sale.line_discount_idr,
        "sale_discount": sale.sale_discount_idr,
        "discount": sale.discount_idr,
        "service": sale.service_charge_idr,
        "tax": sale.tax_idr,
        "total": sale.total_idr,
    }


# --- rounding and sharing -------------------------------------------------------


@pytest.mark.parametrize(
    "numerator, denominator, expected",
    [
        (5, 2, 3),  # 2.5 -> 3: half goes up
        (7, 2, 4),  # 3.5 -> 4 (not to even)
        (9, 4, 2),  # 2.25 -> 2
        (11, 4, 3),  # 2.75 -> 3
        (1, 3, 0),
        (2, 3, 1),
        (0, 7, 0),
        (20_000, 10_000, 2),
    ],
)
def test_round_half_up(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize(
    "percent, bp",
    [(Decimal("11"), 1100), (Decimal("12.5"), 1250), (Decimal("0.01"), 1), (Decimal("100"), 10_000), (Decimal("0"), 0)],
)
def test_percent_to_basis_points(percent, bp):
    assert percent_to_bp(percent) == bp


@pytest.mark.parametrize(
    "amount, weights, expected",
    [
        # 10/3 each: 3, 3, 3 and one rupiah left; equal remainders -> the earliest line.
        (10, [1, 1, 1], [4, 3, 3]),
        # 10 over 1:2 -> 3.33 and 6.67: the larger remainder (the second line) gets the rupiah.
        (10, [1, 2], [3, 7]),
        # 100 over 1:2:3 -> 16.67, 33.33, 50: floors 16+33+50 = 99, the first has the largest remainder.
        (100, [1, 2, 3], [17, 33, 50]),
        (1, [5, 5, 5], [1, 0, 0]),
        (0, [3, 4], [0, 0]),
        (5, [0, 0], [0, 0]),
        (7, [0, 3], [0, 7]),
    ],
)
def test_share_out_uses_largest_remainder_with_ties_to_the_earlier_line(amount, weights, expected):
    parts = share_out(amount, weights)
    assert parts == expected
    assert sum(parts) == (amount if sum(weights) else 0)


# --- price_sale: plain sums ----------------------------------------------------


def test_a_plain_sale_is_price_times_quantity():
    sale = price_sale([line(15_000, 2, 1), line(7_500, 1, 2)], NO_RATES)

    assert amounts(sale) == {
        "subtotal": 37_500, "line_discount": 0, "sale_discount": 0, "discount": 0, "service": 0, "tax": 0,
        "total": 37_500,
    }
    assert [(l.gross_idr, l.total_share_idr) for l in sale.lines] == [(30_000, 30_000), (7_500, 7_500)]


# --- line discounts ------------------------------------------------------------


def test_line_amount_discount():
    # Line 1: 15000 x 2 = 30000 less 2500 = 27500; line 2: 7500. Total 35000.
    sale = price_sale([line(15_000, 2, 1, discount_idr=2_500), line(7_500, 1, 2)], NO_RATES)

    assert amounts(sale)["subtotal"] == 37_500
    assert (sale.line_discount_idr, sale.discount_idr, sale.total_idr) == (2_500, 2_500, 35_000)
    assert [l.line_discount_idr for l in sale.lines] == [2_500, 0]
    assert [l.total_share_idr for l in sale.lines] == [27_500, 7_500]


@pytest.mark.parametrize(
    "price, qty, bp, expected_discount",
    [
        (1_005, 1, 1_000, 101),  # 10 % of 1005 = 100.5 -> 101
        (1_004, 1, 1_000, 100),  # 100.4 -> 100
        (1_004, 1, 1_250, 126),  # 12.5 % of 1004 = 125.5 -> 126
        (333, 3, 3_333, 333),  # 33.33 % of 999 = 332.9667 -> 333
        (9_999, 1, 1, 1),  # 0.01 % of 9999 = 0.9999 -> 1
        (4_999, 1, 1, 0),  # 0.4999 -> 0
        (12_345, 2, 10_000, 24_690),  # 100 %: the whole line
    ],
)
def test_line_percent_discount_is_rounded_half_up(price, qty, bp, expected_discount):
    sale = price_sale([line(price, qty, discount_bp=bp)], NO_RATES)

    assert sale.line_discount_idr == expected_discount
    assert sale.total_idr == price * qty - expected_discount
    assert sale.lines[0].total_share_idr == sale.total_idr


def test_line_amount_discount_larger_than_the_line_is_refused_with_its_path():
    with pytest.raises(PricingError) as raised:
        price_sale([line(1_000, 1, 1), line(1_000, 2, 2, discount_idr=2_001)], NO_RATES)

    assert raised.value.field_path == ("items", 1, "discount_idr")
    assert "2001" in str(raised.value) and "2000" in str(raised.value)


def test_line_amount_discount_equal_to_the_line_is_allowed():
    sale = price_sale([line(1_000, 2, discount_idr=2_000)], NO_RATES)
    assert sale.total_idr == 0


# --- sale discounts and their allocation --------------------------------------


def test_sale_amount_discount_is_shared_over_lines_by_what_each_is_left_with():
    # Nets 30000, 10000, 20000 (sum 60000); 1000 shared: 500, 166.67, 333.33.
    # Floors 500 + 166 + 333 = 999. Remainders (x 60000): 0, 40000, 20000 -> line 2 gets the rupiah.
    lines = [line(10_000, 3, 1), line(10_000, 1, 2), line(5_000, 4, 3)]
    sale = price_sale(lines, NO_RATES, sale_discount_idr=1_000)

    assert amounts(sale) == {
        "subtotal": 60_000, "line_discount": 0, "sale_discount": 1_000, "discount": 1_000, "service": 0, "tax": 0,
        "total": 59_000,
    }
    assert [l.sale_discount_share_idr for l in sale.lines] == [500, 167, 333]
    assert [l.total_share_idr for l in sale.lines] == [29_500, 9_833, 19_667]


def test_sale_discount_is_shared_after_line_discounts():
    # Line 1: 20000 less 10 % = 18000; line 2: 2000 less 2000 = 0. Left: 18000.
    # The sale discount of 900 all falls on line 1 (line 2 weighs nothing).
    lines = [line(20_000, 1, 1, discount_bp=1_000), line(2_000, 1, 2, discount_idr=2_000)]
    sale = price_sale(lines, NO_RATES, sale_discount_idr=900)

    assert (sale.subtotal_idr, sale.line_discount_idr, sale.sale_discount_idr, sale.discount_idr) == (
        22_000, 4_000, 900, 4_900
    )
    assert [l.sale_discount_share_idr for l in sale.lines] == [900, 0]
    assert sale.total_idr == 17_100
    assert [l.total_share_idr for l in sale.lines] == [17_100, 0]


def test_sale_percent_discount_rounds_half_up_and_shares_by_largest_remainder():
    # 12345 + 6790 = 19135; 10 % = 1913.5 -> 1914.
    # Shares of 1914: 1914 x 12345 / 19135 = 1234 r 15740; 1914 x 6790 / 19135 = 679 r 3395.
    # 1234 + 679 = 1913; the first line's remainder is larger -> 1235, 679.
    sale = price_sale([line(12_345, 1, 1), line(6_790, 1, 2)], NO_RATES, sale_discount_bp=1_000)

    assert (sale.sale_discount_idr, sale.discount_idr, sale.total_idr) == (1_914, 1_914, 17_221)
    assert [l.sale_discount_share_idr for l in sale.lines] == [1_235, 679]
    assert [l.total_share_idr for l in sale.lines] == [11_110, 6_111]


def test_sale_discount_equal_ties_go_to_the_earlier_line():
    # 1 rupiah over two equal lines of 500: both remainders equal -> line 1.
    sale = price_sale([line(500, 1, 1), line(500, 1, 2)], NO_RATES, sale_discount_idr=1)
    assert [l.sale_discount_share_idr for l in sale.lines] == [1, 0]
    assert [l.total_share_idr for l in sale.lines] == [499, 500]


def test_sale_amount_discount_larger_than_what_is_left_is_refused():
    with pytest.raises(PricingError) as raised:
        price_sale([line(10_000, 1, discount_idr=1_000)], NO_RATES, sale_discount_idr=9_001)
    assert raised.value.field_path == ("discount_idr",)


# --- service charge and tax ---------------------------------------------------


def test_service_charge_and_exclusive_tax():
    # Net 100000; service 5 % = 5000; tax 11 % of 105000 = 11550; total 100000 + 5000 + 11550 = 116550.
    sale = price_sale([line(50_000, 2)], Rates(tax_rate_bp=1_100, service_charge_bp=500))

    assert amounts(sale) == {
        "subtotal": 100_000, "line_discount": 0, "sale_discount": 0, "discount": 0, "service": 5_000,
        "tax": 11_550, "total": 116_550,
    }


def test_service_charge_rounds_half_up():
    # Net 1010; service 5 % = 50.5 -> 51; tax 11 % of 1061 = 116.71 -> 117; total 1010 + 51 + 117 = 1178.
    sale = price_sale([line(1_010, 1)], Rates(tax_rate_bp=1_100, service_charge_bp=500))
    assert (sale.service_charge_idr, sale.tax_idr, sale.total_idr) == (51, 117, 1_178)


def test_exclusive_tax_rounds_half_up():
    # Net 1000; service 5 % = 50; tax 11 % of 1050 = 115.5 -> 116; total 1166.
    sale = price_sale([line(1_000, 1)], Rates(tax_rate_bp=1_100, service_charge_bp=500))
    assert (sale.service_charge_idr, sale.tax_idr, sale.total_idr) == (50, 116, 1_166)


def test_exclusive_tax_below_half_rounds_down():
    # 11 % of 12345 = 1357.95 -> 1358; of 12340 = 1357.4 -> 1357.
    assert price_sale([line(12_345, 1)], Rates(tax_rate_bp=1_100)).tax_idr == 1_358
    assert price_sale([line(12_340, 1)], Rates(tax_rate_bp=1_100)).tax_idr == 1_357


def test_inclusive_tax_is_shown_but_not_added():
    # 111000 includes 11 %: 111000 x 11 / 111 = 11000.
    sale = price_sale([line(111_000, 1)], Rates(tax_rate_bp=1_100, tax_inclusive=True))
    assert (sale.tax_idr, sale.total_idr) == (11_000, 111_000)

    # 10000 includes 11 %: 10000 x 1100 / 11100 = 990.99 -> 991.
    sale = price_sale([line(10_000, 1)], Rates(tax_rate_bp=1_100, tax_inclusive=True))
    assert (sale.tax_idr, sale.total_idr) == (991, 10_000)


def test_inclusive_tax_rounds_half_up():
    # 20 % inclusive: tax = taxable x 2000 / 12000 = taxable / 6; 10005 / 6 = 1667.5 -> 1668.
    sale = price_sale([line(10_005, 1)], Rates(tax_rate_bp=2_000, tax_inclusive=True))
    assert (sale.tax_idr, sale.total_idr) == (1_668, 10_005)


def test_inclusive_tax_with_service_charge():
    # Net 10000; service 10 % = 1000; taxable 11000 includes 11 %: 11000 x 1100 / 11100 = 1090.09 -> 1090.
    sale = price_sale([line(10_000, 1)], Rates(tax_rate_bp=1_100, tax_inclusive=True, service_charge_bp=1_000))
    assert (sale.service_charge_idr, sale.tax_idr, sale.total_idr) == (1_000, 1_090, 11_000)


def test_total_with_tax_is_shared_over_lines_exactly():
    # Nets 3333 and 6667; tax 11 % of 10000 = 1100; total 11100.
    # Shares: 11100 x 3333 / 10000 = 3699 r 6300; 11100 x 6667 / 10000 = 7400 r 3700.
    # 3699 + 7400 = 11099 -> line 1 (larger remainder) gets the rupiah: 3700, 7400.
    sale = price_sale([line(3_333, 1, 1), line(6_667, 1, 2)], Rates(tax_rate_bp=1_100))

    assert (sale.tax_idr, sale.total_idr) == (1_100, 11_100)
    assert [l.total_share_idr for l in sale.lines] == [3_700, 7_400]


def test_everything_together():
    # Line 1: 25000 x 2 = 50000, less 15 % = 7500 -> 42500.
    # Line 2: 12500 x 3 = 37500, less 1250 -> 36250.
    # Line 3: 3333 x 1 = 3333 -> 3333.
    # Subtotal 90833; line discounts 8750; left 82083.
    # Sale discount 5 % of 82083 = 4104.15 -> 4104, shared over 42500 / 36250 / 3333:
    #   4104 x 42500 / 82083 = 2124.92 -> 2124 r 75708 (x 82083)
    #   4104 x 36250 / 82083 = 1812.43 -> 1812 r 35604
    #   4104 x 3333 / 82083  = 166.64  -> 166  r 52854
    #   2124 + 1812 + 166 = 4102; two rupiah to the two largest remainders: lines 1 and 3 -> 2125, 1812, 167.
    # Net 82083 - 4104 = 77979; service 5 % = 3898.95 -> 3899; taxable 81878;
    # tax 11 % = 9006.58 -> 9007; total 81878 + 9007 = 90885.
    # Final nets 40375, 34438, 3166 (sum 77979). Total shares of 90885:
    #   90885 x 40375 / 77979 = 47057.31 -> 47057 r 24072 (x 77979)
    #   90885 x 34438 / 77979 = 40137.70 -> 40137 r 54507
    #   90885 x 3166 / 77979  = 3689.99  -> 3689  r 77379
    #   47057 + 40137 + 3689 = 90883; two rupiah to the two largest remainders, lines 3 and 2:
    #   47057, 40138, 3690.
    lines = [
        line(25_000, 2, 1, discount_bp=1_500),
        line(12_500, 3, 2, discount_idr=1_250),
        line(3_333, 1, 3),
    ]
    sale = price_sale(lines, Rates(tax_rate_bp=1_100, service_charge_bp=500), sale_discount_bp=500)

    assert amounts(sale) == {
        "subtotal": 90_833, "line_discount": 8_750, "sale_discount": 4_104, "discount": 12_854,
        "service": 3_899, "tax": 9_007, "total": 90_885,
    }
    assert [l.line_discount_idr for l in sale.lines] == [7_500, 1_250, 0]
    assert [l.sale_discount_share_idr for l in sale.lines] == [2_125, 1_812, 167]
    assert [l.total_share_idr for l in sale.lines] == [47_057, 40_138, 3_690]


@pytest.mark.parametrize(
    "lines, sale_discount",
    [
        ([line(5_000, 2, discount_bp=10_000)], {}),
        ([line(5_000, 2, 1), line(1_000, 1, 2)], {"sale_discount_idr": 11_000}),
        ([line(5_000, 2)], {"sale_discount_bp": 10_000}),
        ([line(0, 3)], {}),
    ],
    ids=["line-100-percent", "sale-amount-equal-to-everything", "sale-100-percent", "free-product"],
)
def test_a_zero_total_sale_has_no_service_tax_or_shares(lines, sale_discount):
    sale = price_sale(lines, Rates(tax_rate_bp=1_100, service_charge_bp=500), **sale_discount)

    assert (sale.service_charge_idr, sale.tax_idr, sale.total_idr) == (0, 0, 0)
    assert sale.discount_idr == sale.subtotal_idr
    assert all(l.total_share_idr == 0 for l in sale.lines)


# --- tenders -------------------------------------------------------------------


def test_cash_gives_change():
    assert settle(37_500, [Tender("cash", 50_000)]) == (50_000, 12_500)


def test_split_cash_and_card():
    # Card 20000 + cash 20000 for 37500: 2500 change, from the cash.
    assert settle(37_500, [Tender("card", 20_000), Tender("cash", 20_000)]) == (40_000, 2_500)


def test_card_for_the_exact_total_with_extra_cash_gives_the_cash_back():
    assert settle(37_500, [Tender("card", 37_500), Tender("cash", 5_000)]) == (42_500, 5_000)


@pytest.mark.parametrize("method", ["card", "qris", "transfer"])
def test_non_cash_over_the_total_is_refused(method):
    with pytest.raises(PricingError) as raised:
        settle(37_500, [Tender(method, 40_000)])
    assert raised.value.field_path == ("payments",)
    assert "only cash gives change" in str(raised.value)


def test_non_cash_tenders_together_over_the_total_are_refused():
    with pytest.raises(PricingError):
        settle(37_500, [Tender("card", 20_000), Tender("qris", 20_000)])


def test_payments_short_say_by_how_much():
    with pytest.raises(PricingError) as raised:
        settle(37_500, [Tender("cash", 30_000)])
    assert raised.value.field_path == ("payments",)
    assert "7500 short" in str(raised.value)


def test_a_zero_total_needs_no_tender():
    assert settle(0, []) == (0, 0)


# --- refunds -------------------------------------------------------------------


def test_refunding_one_unit_at_a_time_adds_up_to_the_share():
    # A line of 3 units sharing 10000: after 1 unit 3333.33 -> 3333; after 2: 6666.67 -> 6667; after 3: 10000.
    steps = [refund_amount(10_000, 3, already, 1) for already in range(3)]
    assert steps == [3_333, 3_334, 3_333]
    assert sum(steps) == 10_000


def test_refunding_in_two_steps_adds_up_to_the_share():
    assert refund_amount(10_000, 3, 0, 1) + refund_amount(10_000, 3, 1, 2) == 3_333 + 6_667 == 10_000
    assert refund_amount(10_000, 3, 0, 2) + refund_amount(10_000, 3, 2, 1) == 6_667 + 3_333 == 10_000


def test_refund_of_half_a_rupiah_rounds_up_then_the_rest_follows():
    # 5 over 2 units: the first unit is 2.5 -> 3, the second 5 - 3 = 2.
    assert [refund_amount(5, 2, 0, 1), refund_amount(5, 2, 1, 1)] == [3, 2]


def test_refunding_the_whole_line_at_once_is_its_share():
    assert refund_amount(9_998, 3, 0, 3) == 9_998
    assert refund_amount(0, 4, 0, 4) == 0
