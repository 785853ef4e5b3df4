"""bench/algos.py (slice timing with 20 parents at once) runs to the end on the production stack
at a hundredth of its counts and yields its figures. The figures are not looked at: tests never
time."""

import pytest

from tests import test_bench_run
from tests.test_bench_run import bench_run, figure_shapes, readme_table

pytestmark = [pytest.mark.pipeline]
bench_database, bench_redis = test_bench_run.bench_database, test_bench_run.bench_redis


def test_the_slice_timing_benchmark_runs_and_yields_its_figures(
    tmp_path,
    bench_database,
    bench_redis,  # noqa: F811
):
    written = bench_run(tmp_path, bench_database, bench_redis.url, "--only", "algos")
    produced = {(figure["bench"], figure["name"]) for figure in written["figures"]}
    expected = {(bench, name) for bench, name in readme_table() if bench == "algos"}
    assert figure_shapes(produced) == figure_shapes(expected)
    details = written["details"]["algos"]
    assert details["parents"] == 20
    assert details["sent_minus_scheduled_ms"]["n"] >= 20
