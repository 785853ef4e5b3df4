"""The SOR API's durations and intervals: `5SEC`, `1MIN`, `1HRS`, `1DAY`."""

from __future__ import annotations

import re

UNITS = {"SEC": 1, "MIN": 60, "HRS": 3600, "HR": 3600, "HOUR": 3600, "DAY": 86400}
DURATION = re.compile(r"^\s*(\d+)\s*([A-Z]+)\s*$")


def duration_seconds(text: str) -> int:
    """`5SEC` -> 5, `1HRS` -> 3600. ValueError naming the forms it takes otherwise."""
    match = DURATION.match(str(text).upper())
    if not match or match.group(2) not in UNITS or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 5SEC, 1MIN, 1HRS or 1DAY.")
    return int(match.group(1)) * UNITS[match.group(2)]


def duration_text(seconds: int) -> str:
    """The largest whole unit: 3600 -> `1HRS`, 90 -> `90SEC`."""
    for unit, size in (("DAY", 86400), ("HRS", 3600), ("MIN", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}SEC"
