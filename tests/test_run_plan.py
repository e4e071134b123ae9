"""The plan behind reproduce and sweep: run status, time estimate, plan text."""
import json

import pytest

from sdch_tf.run import results, run_plan
from sdch_tf.sdch.config import preset


def _run(tmp_path, bits=16, seed=0):
    return run_plan.PlannedRun(preset("smoke"), bits, seed, str(tmp_path))


def test_status_follows_the_run_directory(tmp_path):
    run = _run(tmp_path)
    assert run.status == "new"
    (tmp_path / "runs" / results.run_id(run.config, 16, 0)).mkdir(parents=True)
    assert run.status == "partial"  # interrupted: experiment.run resumes it
    (tmp_path / "runs" / results.run_id(run.config, 16, 0) / "result.json").write_text("{}")
    assert run.status == "recorded"


def test_estimate_uses_recorded_runs_of_the_same_method_dataset_and_preset(tmp_path):
    run = _run(tmp_path)
    evidence = [{"method": "sdch", "dataset": "synthetic", "preset": "smoke", "timing": {"train_seconds": 10.0}},
                {"method": "sdch", "dataset": "synthetic", "preset": "smoke", "timing": {"train_seconds": 30.0}},
                {"method": "dcmh", "dataset": "synthetic", "preset": "smoke", "timing": {"train_seconds": 999.0}},
                {"method": "sdch", "dataset": "synthetic", "preset": "cpu", "timing": {"train_seconds": 999.0}}]
    seconds, source = run_plan.estimate_seconds(run, evidence)
    assert seconds == pytest.approx(run_plan.OVERHEAD * 20.0) and source == "2 recorded run(s)"
    assert run_plan.estimate_seconds(run, []) == (run_plan.FALLBACK_SECONDS["smoke"], "rough guess")
    paper = run_plan.PlannedRun(preset("paper"), 16, 0, str(tmp_path))
    assert run_plan.estimate_seconds(paper, []) == (None, "unknown")


def test_describe_counts_recorded_and_pending_runs(tmp_path):
    plan = [_run(tmp_path, 16, seed) for seed in range(3)]
    done = tmp_path / "runs" / results.run_id(plan[0].config, 16, 0)
    done.mkdir(parents=True)
    (done / "result.json").write_text(json.dumps({}))
    evidence = [{"method": "sdch", "dataset": "synthetic", "preset": "smoke", "timing": {"train_seconds": 100.0}}]
    text = run_plan.describe(plan, evidence)
    assert "1 recorded, 2 to run (seeds 1,2), ≈ 2 min each (1 recorded run(s))" in text
    assert text.endswith("2 of 3 runs to train; estimated time 4 min")  # 2 × 115 s


@pytest.mark.parametrize("seconds, text", [(None, "unknown"), (42, "42 s"), (600, "10 min"), (7200, "2.0 h")])
def test_format_duration(seconds, text):
    assert run_plan.format_duration(seconds) == text
