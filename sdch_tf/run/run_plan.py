"""A batch of runs (method × code length × seed × config) that can be interrupted and restarted.

``reproduce`` (Tables 2–3, Figures 4–5) and ``sweep`` (Figure 6) both build a plan, print it
with a time estimate, then execute it through ``experiment.run``: a run whose result.json
exists is skipped, an interrupted one resumes from its checkpoint, so rerunning the same
command after Ctrl-C or a crash continues where it stopped.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time

from sdch_tf.run import results
from sdch_tf.input_errors import TrainingDiverged
from sdch_tf.registry import get_method

# Seconds per run when no run of the same method, dataset and preset has been recorded yet
# (measured on this project's 2-core CPU for the cpu and smoke presets; the paper preset needs
# a GPU and has no honest default).
FALLBACK_SECONDS = {"smoke": 20.0, "cpu": 240.0}
# Scoring the untrained nets, final evaluation, data loading: a share on top of training time.
OVERHEAD = 1.15


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    config: object  # a method's frozen config dataclass
    bits: int
    seed: int
    out_dir: str

    @property
    def directory(self) -> str:
        return results.run_dir(self.out_dir, self.config, self.bits, self.seed)

    @property
    def status(self) -> str:
        """'recorded' (result.json exists), 'partial' (interrupted, will resume) or 'new'."""
        if os.path.exists(os.path.join(self.directory, results.RESULT_FILE)):
            return "recorded"
        return "partial" if os.path.isdir(self.directory) else "new"

    @property
    def label(self) -> str:
        return f"{self.config.method} {self.config.data.dataset} {self.bits} bits seed {self.seed}"


def estimate_seconds(run: PlannedRun, evidence: list[dict]) -> tuple[float | None, str]:
    """(seconds, source) for one run: the mean time of recorded runs of the same method,
    dataset and preset, else the preset's fallback, else (None, 'unknown')."""
    same = [r for r in evidence if r.get("method") == run.config.method and r.get("dataset") == run.config.data.dataset
            and r.get("preset") == run.config.preset and "timing" in r]
    if same:
        mean = sum(r["timing"]["train_seconds"] for r in same) / len(same)
        return OVERHEAD * mean, f"{len(same)} recorded run(s)"
    if run.config.preset in FALLBACK_SECONDS:
        return FALLBACK_SECONDS[run.config.preset], "rough guess"
    return None, "unknown"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def describe(plan: list[PlannedRun], evidence: list[dict]) -> str:
    """The plan as text: one line per (method, dataset, bits) group, and the total estimate."""
    lines, total, unknown = [], 0.0, False
    groups: dict[tuple, list[PlannedRun]] = {}
    for run in plan:
        groups.setdefault((run.config.method, run.config.data.dataset, run.bits, run.out_dir), []).append(run)
    for (method, dataset, bits, out_dir), runs in groups.items():
        todo = [r for r in runs if r.status != "recorded"]
        seconds, source = estimate_seconds(runs[0], evidence)
        if todo and seconds is None:
            unknown = True
        total += (seconds or 0.0) * len(todo)
        seeds = ",".join(str(r.seed) for r in todo) or "-"
        # Sweeps (Fig. 6) go to sub-directories of the result set: name them.
        where = "" if out_dir == plan[0].out_dir else f" [{os.path.relpath(out_dir, plan[0].out_dir)}]"
        lines.append(f"  {method:6} {dataset:10} {bits:>3} bits{where}: {len(runs) - len(todo)} recorded, "
                     f"{len(todo)} to run (seeds {seeds})"
                     + (f", ≈ {format_duration(seconds)} each ({source})" if todo else ""))
    todo_count = sum(r.status != "recorded" for r in plan)
    estimate = format_duration(total) + (" + runs of unknown duration" if unknown else "")
    lines.append(f"{todo_count} of {len(plan)} runs to train; estimated time {estimate}")
    return "\n".join(lines)


def execute(plan: list[PlannedRun], load_data, verbose: int = 1) -> list[dict]:
    """Run (or reuse) every planned run in order; returns their results.

    ``load_data(config)`` gives the CrossModalData of a config (cached by the caller). On
    Ctrl-C the current run keeps its last epoch checkpoint and the message says how to continue.
    """
    from sdch_tf.run import experiment  # TensorFlow: imported when needed, so that --help stays fast

    done, diverged = [], []
    start = time.perf_counter()
    for i, run in enumerate(plan, 1):
        status = run.status
        if verbose and status != "recorded":
            elapsed = time.perf_counter() - start
            print(f"\n[{i}/{len(plan)}] {run.label} ({'resuming' if status == 'partial' else 'new'}; "
                  f"{format_duration(elapsed)} elapsed)", flush=True)
        try:
            result, _ = experiment.run(get_method(run.config.method), run.config, load_data(run.config),
                                       run.bits, run.seed, run.out_dir, verbose=verbose if status != "recorded" else 0)
        except KeyboardInterrupt:
            print(f"\nInterrupted during {run.label}; its last finished epoch is checkpointed in {run.directory}.",
                  file=sys.stderr)
            raise
        except TrainingDiverged as e:
            # One diverged run must not stop the rest of the plan; the caller reports them all.
            print(f"\nerror: {run.label}: {e}", file=sys.stderr)
            diverged.append((run, str(e)))
            continue
        done.append(result)
    if diverged:
        raise PlanDiverged(done, diverged)
    return done


class PlanDiverged(TrainingDiverged):
    """Some runs of a plan diverged; ``done`` holds the results of the others."""

    def __init__(self, done: list[dict], diverged: list[tuple[PlannedRun, str]]):
        labels = "; ".join(f"{run.label} ({run.directory})" for run, _ in diverged)
        super().__init__(f"{len(diverged)} of {len(done) + len(diverged)} runs diverged (each reported above): "
                         f"{labels}. The other runs are recorded; a rerun retries only the diverged ones from their "
                         "last checkpoint, so change their settings (--set, the preset) or leave them out")
        self.done, self.diverged = done, diverged


class DataCache:
    """Loads each distinct dataset configuration once (all methods share the split's data)."""

    def __init__(self):
        self._data = {}

    def load(self, config):
        from sdch_tf.registry import get_method
        from sdch_tf.run import method_data  # TensorFlow: imported when needed, so that --help stays fast

        method = get_method(config.method)
        key = repr(config.data)
        if method.inputs == "features":
            # The features depend on the backbone and its weights too (method_data.cached_features_path).
            key = repr((config.data, getattr(config, "features", None), config.backbone, config.image_net,
                        config.weights))
        if key not in self._data:
            self._data[key] = method_data.load_method_data(method, config)
        return self._data[key]


def check_inputs(plan, load) -> None:
    """Loads the data of every planned run and checks its split sizes, so that bad data or sizes
    stop the command (``InputError``) before anything is trained or any run directory is made."""
    from sdch_tf.run import experiment  # TensorFlow: imported when needed, so that --help stays fast

    for run in plan:
        experiment.split_for(run.config.data, load(run.config), run.seed)
