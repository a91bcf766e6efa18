"""Model prices: a versioned table shipped with loopwise, overridable by a user file, used
to compute the cost of spans that report tokens but no cost."""

from .table import ModelPrice, PriceTable, PriceTableError, parse_price_document

PRICES_ENV = "LOOPWISE_PRICES"

__all__ = ["PRICES_ENV", "ModelPrice", "PriceTable", "PriceTableError", "parse_price_document"]
