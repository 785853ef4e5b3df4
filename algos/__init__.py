"""Execution algorithms: parent orders (TWAP, VWAP, iceberg) whose children are ordinary orders,
placed through orders.services with every check the other doors get."""
