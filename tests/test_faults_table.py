"""The table `make faults` prints: a row per marked scenario with its outcome and the checker's
verdict, the section 7 numbers nothing covered, and a last line counting passed and failed."""

from tests.conftest import ROOT

SCENARIOS = """
import pytest
from tests.faults_table import note_verdict

@pytest.mark.fault(1, "double submit")
def test_one_order_is_made():
    note_verdict("hold")

@pytest.mark.fault(2, "worker killed")
@pytest.mark.parametrize("case", [1, 2])
def test_no_second_create(case):
    note_verdict("hold" if case == 1 else "1 violated")
    assert case == 1

def test_not_a_scenario():
    pass
"""


def test_the_table_has_each_scenario_its_verdict_the_gaps_and_the_counts(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest('pytest_plugins = ["tests.faults_table"]')
    pytester.makeini("[pytest]\nmarkers =\n    fault(number, fault): a scenario\n")
    pytester.makepyfile(test_scenarios=SCENARIOS)
    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider")
    lines = result.stdout.lines
    first = next(line for line in lines if "one order is made" in line)
    assert first.split()[-2:] == ["passed", "hold"] and "double submit" in first
    second = next(line for line in lines if "no second create (2 cases)" in line)
    assert second.split()[-3:] == ["failed", "1", "violated"] and "worker killed" in second
    assert not any("not a scenario" in line for line in lines)
    assert any("(no scenario ran for: lost response)" in line for line in lines)
    assert any("with a scenario: 2 of 26" in line for line in lines)
    assert lines[-1] == "1 scenarios passed, 1 failed", "the count is the run's last line"
