"""The reliability acceptance table (`make faults`): every test marked
`@pytest.mark.fault(number, "injected fault")`, wherever it lives, becomes a row of RELIABILITY.md
section 7's table with its outcome and the invariant checker's verdict.

A parametrized test is one scenario (its cases are counted in the row). Numbers with no marked
test that ran are listed too, so a gap is never mistaken for a pass. Loaded from tests/conftest.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pytest

# RELIABILITY.md section 7, one line each, then emsweb's own scenarios past its 25 (26: the
# execution algorithms). Number 0 is the invariant checker's own tests.
SECTION_7 = {
    0: "the invariant checker",
    1: "double submit",
    2: "worker killed after the venue's ack",
    3: "worker killed after the claim",
    4: "lost response",
    5: "lost request",
    6: "5xx / 503 / malformed JSON on create",
    7: "definitive rejects on create",
    8: "'not found' false negatives",
    9: "duplicate client id rejection",
    10: "fill races cancel",
    11: "duplicate / out-of-order fills",
    12: "restart reconciliation",
    13: "invalid state transitions",
    14: "broker restarted / flushed",
    15: "database lost after the ack",
    16: "duplicate / late delivery",
    17: "rate limiting",
    18: "concurrent private calls on one key",
    19: "client id wiring per exchange",
    20: "money and rounding",
    21: "bad input fuzz",
    22: "secret leakage",
    23: "database-only compromise, key rotation",
    24: "account takeover attempts",
    25: "deployment posture",
    26: "algorithm worker killed mid-schedule",
}


@dataclass
class Scenario:
    number: int
    name: str
    fault: str
    outcomes: list[str] = field(default_factory=list)
    verdicts: set[str] = field(default_factory=set)

    @property
    def outcome(self) -> str:
        if "failed" in self.outcomes:
            return "failed"
        return "passed" if "passed" in self.outcomes else "skipped"

    @property
    def verdict(self) -> str:
        violated = sorted(v for v in self.verdicts if v != "hold")
        if violated:
            return ", ".join(violated)
        return "hold" if self.verdicts else "-"


_marked: dict[str, tuple[int, str]] = {}  # test nodeid -> (number, fault)
_scenarios: dict[str, Scenario] = {}  # function nodeid (parameters dropped) -> its row
_verdicts: dict[str, str] = {}  # test nodeid -> the checker's verdict


def note_verdict(verdict: str) -> None:
    """Record the invariant checker's verdict ("hold" or what was violated) for the running test."""
    nodeid = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    _verdicts[nodeid] = verdict


def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("fault")
        if marker is not None:
            number, fault = marker.args
            assert number in SECTION_7, f"{item.nodeid}: no test #{number} in section 7"
            _marked[item.nodeid] = (number, fault)


def _scenario_for(nodeid: str) -> Scenario:
    function = re.sub(r"\[.*\]$", "", nodeid)
    if function not in _scenarios:
        number, fault = _marked[nodeid]
        name = function.rsplit("::", 1)[-1].removeprefix("test_").replace("_", " ")
        _scenarios[function] = Scenario(number, name, fault)
    return _scenarios[function]


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    if report.nodeid not in _marked:
        return
    if report.when == "call" or report.outcome != "passed":
        scenario = _scenario_for(report.nodeid)
        scenario.outcomes.append(report.outcome)
        if report.nodeid in _verdicts:
            scenario.verdicts.add(_verdicts[report.nodeid])


def _cases(scenario: Scenario) -> str:
    return f" ({len(scenario.outcomes)} cases)" if len(scenario.outcomes) > 1 else ""


def _whole_suite(config) -> bool:
    """Whether every marked test was meant to run (make faults, make test), not a chosen few."""
    chosen = config.option.keyword or config.option.markexpr not in ("", "fault")
    return not chosen and not any(".py" in arg for arg in config.args)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # Printed after pytest's own summary, so that the table's count is the run's last line.
    terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
    if not _scenarios or terminalreporter is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability acceptance (RELIABILITY.md section 7)")
    rows = sorted(_scenarios.values(), key=lambda s: s.number)
    names = [f"{s.name}{_cases(s)}" for s in rows]
    name_width = min(max(len(n) for n in names), 90)
    fault_width = min(max(len(s.fault) for s in rows), 60)
    header = f"{'#':>3}  {'scenario':<{name_width}}  {'injected fault':<{fault_width}}"
    write(f"{header}  outcome  invariants")
    for scenario, name in zip(rows, names, strict=True):
        number = "chk" if scenario.number == 0 else scenario.number
        write(
            f"{number:>3}  {name:<{name_width}}  {scenario.fault:<{fault_width}}  "
            f"{scenario.outcome:<7}  {scenario.verdict}"
        )
    covered = {s.number for s in rows}
    missing = [n for n in SECTION_7 if n and n not in covered]
    if _whole_suite(config):
        for number in missing:
            write(f"{number:>3}  (no scenario ran for: {SECTION_7[number]})")
    outcomes = [s.outcome for s in rows]
    passed, skipped = outcomes.count("passed"), outcomes.count("skipped")
    failed = len(outcomes) - passed - skipped
    ran = len(covered - {0})
    write(
        f"section 7 numbers with a scenario: {ran} of {len(SECTION_7) - 1}; "
        f"without: {missing or 'none'}"
    )
    write(
        f"{passed} scenarios passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
    )
