"""Prices, for the cost-aware CPU mode (`AUTOSCALE_CPU_MODE=cost`). No I/O here.

Prices are configuration: `AUTOSCALE_PRICES` is a comma-separated list of
`SHAPE=OCPU_HOUR_PRICE[:GB_HOUR_PRICE]`. The hourly price of one instance is
`ocpus x OCPU price + memory GB x GB price`; fixed shapes (VM.Standard2.x) bill memory inside the
OCPU price, so their GB price is 0. The default table is OCI's pay-as-you-go list price in USD for
the shapes below as we read it when writing this: check it against your contract and set yours.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

DEFAULT_PRICES = (
    "VM.Standard.E3.Flex=0.025:0.0015,VM.Standard.E4.Flex=0.025:0.0015,VM.Standard.E5.Flex=0.03:0.002,"
    "VM.Standard2.1=0.0638,VM.Standard2.2=0.0638,VM.Standard2.4=0.0638,VM.Standard2.8=0.0638,"
    "VM.Standard2.16=0.0638"
)


class Price(BaseModel):
    """Price of one shape: per OCPU-hour and per GB-hour of memory."""

    model_config = ConfigDict(frozen=True)
    shape: str
    ocpu_hour: float
    gb_hour: float = 0.0

    def __str__(self) -> str:
        return f"{self.shape}={self.ocpu_hour:g}:{self.gb_hour:g}"


def parse_prices(value: object) -> tuple[Price, ...]:
    """`SHAPE=OCPU_PRICE[:GB_PRICE],...` (or already parsed Prices) into a price table."""
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    table = []
    for item in value:
        if isinstance(item, Price):
            table.append(item)
            continue
        name, _, prices = str(item).strip().partition("=")
        parts = prices.split(":")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if not name or not 1 <= len(numbers) <= 2 or any(n < 0 for n in numbers) or numbers[0] == 0:
            raise ValueError(f"price {item!r} is not SHAPE=OCPU_HOUR_PRICE[:GB_HOUR_PRICE] with prices >= 0")
        table.append(Price(shape=name, ocpu_hour=numbers[0], gb_hour=numbers[1] if len(numbers) == 2 else 0.0))
    if len({p.shape for p in table}) != len(table):
        raise ValueError("the price table names a shape twice")
    return tuple(table)


def hourly_price(shape, prices: tuple[Price, ...]) -> float | None:
    """Price of one instance of `shape` per hour, or None when the shape's price or size is unknown."""
    dimensions = shape.size
    price = next((p for p in prices if p.shape == shape.name), None)
    if dimensions is None or price is None:
        return None
    ocpus, memory = dimensions
    return ocpus * price.ocpu_hour + memory * price.gb_hour
