"""The bench harness (bench/) imports, and its pure helpers do what the table relies on. No
timing here: `make bench` measures, tests never do."""

import importlib

import pytest

from bench import report, stats
from bench.__main__ import BENCHMARKS, parse
from bench.report import Figure

HARNESS = ("stack", "fixtures", "floor", "client", "inprocess", "tasks", "streamclients")


def test_every_benchmark_module_and_the_harness_import():
    for name in (*BENCHMARKS, *HARNESS):
        importlib.import_module(f"bench.{name}")
    assert callable(importlib.import_module("bench.submitter").submit_until)


def test_the_command_line_defaults_to_every_benchmark_on_a_fresh_database():
    args = parse([])
    assert (args.reuse, args.only, args.scale) == (False, "", 1.0)
    assert parse(["--reuse", "--only", "api,sync"]).only == "api,sync"


def test_a_quick_run_is_a_tenth_of_every_count():
    assert parse(["--quick"]).scale == 0.1
    assert parse(["--scale", "0.01"]).scale == 0.01


def test_percentiles_interpolate_between_the_closest_ranks():
    values = [4, 1, 3, 2]
    assert stats.percentile(values, 50) == 2.5
    assert stats.percentile(values, 0) == 1
    assert stats.percentile(values, 100) == 4
    assert stats.percentile([7], 99) == 7
    assert stats.percentile(list(range(101)), 99) == 99


def test_a_percentile_of_nothing_or_out_of_range_is_refused():
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1, 2], 101)


def test_a_summary_has_the_count_the_percentiles_the_maximum_and_the_mean():
    summary = stats.summary([1.0, 2.0, 3.0, 10.0])
    assert summary["n"] == 4
    assert summary["p50"] == 2.5
    assert summary["max"] == 10.0
    assert summary["mean"] == 4.0


def test_a_rate_leaves_out_the_first_and_last_tenth_of_a_burst():
    times = [0.0, 0.001, *(float(second) for second in range(1, 9)), 100.0, 100.5]
    # Trimming drops 0.0 and 100.5: 9 intervals over 99.999 s would be 0.09/s untrimmed.
    assert stats.rate(times, trim=0.1) == pytest.approx(9 / 99.999)
    assert stats.rate([0.0, 1.0, 2.0, 3.0], trim=0) == 1.0
    with pytest.raises(ValueError):
        stats.rate([1.0, 1.0])


def test_a_figure_is_met_when_its_value_and_its_ratio_to_the_floor_both_are():
    fast = Figure("throughput", "orders", 400, "orders/s", floor=800, target=(">=", 300),
                  target_ratio=(">=", 0.4))  # fmt: skip
    assert fast.ratio == 0.5
    assert fast.met is True
    assert Figure("throughput", "orders", 400, "orders/s", floor=1200, target=(">=", 300),
                  target_ratio=(">=", 0.4)).met is False  # fmt: skip
    assert Figure("api", "p50", 16, "ms", target=("<=", 15)).met is False
    assert Figure("api", "p99", 16, "ms").met is None
    assert Figure("api", "p99", 16, "ms", floor=0).ratio is None


def test_numbers_print_with_about_three_significant_figures():
    assert [report.number(v) for v in (0.4123, 3.071, 41.23, 1234.5, 2.0, None)] == [
        "0.412", "3.07", "41.2", "1,234", "2", "–",
    ]  # fmt: skip


def test_the_table_puts_each_figure_beside_its_floor_ratio_and_target():
    figures = [
        Figure("routing", "RECEIVED→ROUTING p50", 2.5, "ms", floor=1.25,
               floor_name="no-op task p50", target=("<=", 3)),
        Figure("sync", "venue calls", 3, "calls", target=("<=", 2)),
    ]  # fmt: skip
    lines = report.table(figures).splitlines()
    assert lines[0].split() == list(report.COLUMNS)
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule aligned
    assert "2.50 ms" in lines[2] and "1.25 (no-op task p50)" in lines[2] and "2.00×" in lines[2]
    assert lines[2].rstrip().endswith("yes")
    assert lines[3].rstrip().endswith("NO")
    markdown = report.markdown(figures).splitlines()
    assert markdown[0].startswith("| benchmark |") and len(markdown) == 4


def test_results_are_written_as_json_with_the_machine(tmp_path):
    import json

    path = tmp_path / "results" / "latest.json"
    report.write(path, [Figure("api", "p50", 1.0, "ms")], {"cores": 2}, {"api": {"n": 1}})
    written = json.loads(path.read_text())
    assert written["machine"] == {"cores": 2}
    assert written["figures"][0]["name"] == "p50"
    assert written["figures"][0]["met"] is None
