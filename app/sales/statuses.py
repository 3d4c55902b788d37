"""The sales vocabulary: a sale's status and the tenders it is paid with.

Apart from the models so that the pure modules (`pricing`, `receipts`) can name them
without importing the database layer.
"""

from enum import StrEnum


class Tender(StrEnum):
    CASH = "cash"
    CARD = "card"
    QRIS = "qris"
    TRANSFER = "transfer"


class SaleStatus(StrEnum):
    COMPLETED = "completed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
