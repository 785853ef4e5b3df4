"""Figures, the table they print as, and the JSON file they are kept in. Pure, but for
`machine()`, which asks the machine and the servers what they are."""

from __future__ import annotations

import json
import operator
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

COMPARE = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}
SIGNS = {"<=": "≤", ">=": "≥", "==": "=="}


@dataclass
class Figure:
    """One measured figure, with the floor measured beside it in the same run."""

    bench: str
    name: str
    value: float
    unit: str
    floor: float | None = None
    floor_name: str = ""
    target: tuple[str, float] | None = None  # ("<=", 3.0): value <= 3
    target_ratio: tuple[str, float] | None = None  # (">=", 0.4): value / floor >= 0.4
    target_over_floor: tuple[str, float] | None = None  # ("<=", 5.0): value - floor <= 5
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.value / self.floor

    @property
    def met(self) -> bool | None:
        """True or False against the target(s); None when the figure has no target."""
        checks = []
        if self.target is not None:
            op, bound = self.target
            checks.append(COMPARE[op](self.value, bound))
        if self.target_ratio is not None and self.ratio is not None:
            op, bound = self.target_ratio
            checks.append(COMPARE[op](self.ratio, bound))
        if self.target_over_floor is not None and self.floor is not None:
            op, bound = self.target_over_floor
            checks.append(COMPARE[op](self.value - self.floor, bound))
        return all(checks) if checks else None

    def target_text(self) -> str:
        parts = []
        if self.target is not None:
            op, bound = self.target
            parts.append(f"{SIGNS[op]} {number(bound)}")
        if self.target_ratio is not None:
            op, bound = self.target_ratio
            parts.append(f"{SIGNS[op]} {number(bound)}× floor")
        if self.target_over_floor is not None:
            op, bound = self.target_over_floor
            parts.append(f"{SIGNS[op]} floor + {number(bound)}")
        return ", ".join(parts)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(ratio=self.ratio, met=self.met, target_text=self.target_text())
        return data


def number(value: float | None) -> str:
    """Three significant figures or so, without scientific notation: 0.412, 3.07, 41.2, 1234."""
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


COLUMNS = ("benchmark", "figure", "value", "floor", "ratio", "target", "met")


def rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    return [
        (
            figure.bench,
            figure.name,
            f"{number(figure.value)} {figure.unit}",
            f"{number(figure.floor)} ({figure.floor_name})" if figure.floor is not None else "",
            f"{figure.ratio:.2f}×" if figure.ratio is not None else "",
            figure.target_text(),
            {True: "yes", False: "NO", None: ""}[figure.met],
        )
        for figure in figures
    ]


def table(figures: list[Figure]) -> str:
    """The figures as an aligned plain-text table."""
    body = rows(figures)
    widths = [max(len(row[i]) for row in [COLUMNS, *body]) for i in range(len(COLUMNS))]

    def line(cells) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(COLUMNS), rule, *(line(row) for row in body)]).rstrip()


def markdown(figures: list[Figure]) -> str:
    """The same table in Markdown, for bench/README.md."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows(figures):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def write(path: Path, figures: list[Figure], machine_info: dict, details: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info,
        "figures": [figure.as_dict() for figure in figures],
        "details": details,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def _command_output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine(database_version: str, redis_version: str) -> dict:
    """The machine's cores and the versions of everything measured."""
    from importlib.metadata import version

    packages = ("django", "celery", "kombu", "billiard", "redis", "psycopg", "gunicorn")
    root = Path(__file__).resolve().parent.parent
    commit = _command_output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = bool(_command_output(["git", "-C", str(root), "status", "--porcelain"]))
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in packages},
        "postgresql": database_version,
        "redis": redis_version,
        "commit": f"{commit}{' (with uncommitted changes)' if dirty else ''}",
    }
