"""Two training processes as a MultiWorkerMirroredStrategy cluster over the loopback address
(tests/workers.py) train like one device: the same losses, the same codes (SDCH and DCMH); only
the chief writes into --out; a worker killed mid-run stops the other with one error line, and
the restarted cluster resumes from the last checkpoint to the uninterrupted run's codes."""
import json
import time

import numpy as np
import pytest

from sdch_tf import cli
from sdch_tf.run import experiment
from sdch_tf.training import checkpoint, distribute
from tests import two_devices, workers

# Dropout off: a replica's dropout mask cannot equal a slice of the one-device mask (as in
# tests/test_distribute.py). DCMH's preset has none.
SMOKE = ["--preset", "smoke", "--deterministic", "--quiet", "--epochs", "3"]
CASES = {"sdch": ["--dropout", "0"], "dcmh": []}


def one_device(out, method: str, extra: list[str]) -> None:
    proc = workers.train(["--method", method, *SMOKE, *extra], out)
    assert proc.returncode == 0, proc.stderr[-3000:]


def run_dir(out) -> str:
    (directory,) = (out / "runs").iterdir()
    return directory


def records(directory) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if not k.endswith("seconds")}
            for line in (directory / "epochs.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("method", sorted(CASES))
def test_two_workers_train_like_one_device(tmp_path, method):
    extra = ["--method", method, *CASES[method]]
    results = workers.finish(workers.start(tmp_path / "cluster", [*SMOKE, *extra]), timeout=400)
    for status, output in results:
        assert status == 0, output[-3000:]
    assert "Training on 2 replicas" in results[0][1]
    one_device(tmp_path / "single", method, CASES[method])

    chief, single = run_dir(tmp_path / "cluster"), run_dir(tmp_path / "single")
    assert chief.name == single.name  # the strategy is not part of the run's configuration
    # Only the chief writes into --out; the other worker's copy is under --out/.worker-1.
    assert sorted(p.name for p in (tmp_path / "cluster").iterdir()) == [".locks", ".worker-1", "runs"]
    assert (run_dir(tmp_path / "cluster" / ".worker-1") / "result.json").exists()
    two_devices.assert_same_losses(records(single), records(chief), [1, 2, 3], set())
    ours = experiment.load_codes(str(chief / "codes.npz"))
    theirs = experiment.load_codes(str(single / "codes.npz"))
    two_devices.assert_same_codes(theirs, ours)
    a, b = (json.loads((d / "result.json").read_text()) for d in (chief, single))
    assert a["map_i2t"] == pytest.approx(b["map_i2t"], abs=1e-3) and a["map_t2i"] == pytest.approx(b["map_t2i"], abs=1e-3)


@pytest.mark.slow  # about a minute: 40 epochs, and TensorFlow's health check takes ~10 s to see the loss
def test_a_killed_worker_stops_the_cluster_clearly_and_a_restart_resumes(tmp_path):
    args = ["--preset", "smoke", "--deterministic", "--dropout", "0", "--epochs", "40"]
    out = tmp_path / "cluster"
    cluster = workers.start(out, args)
    # Wait until the chief has checkpointed two epochs, then kill the other worker mid-run.
    deadline = time.monotonic() + 300
    log = out / "runs"
    while time.monotonic() < deadline:
        logs = list(log.glob("*/epochs.jsonl")) if log.exists() else []
        if logs and len(logs[0].read_text().splitlines()) >= 2:
            break
        assert cluster[0].process.poll() is None, workers._read(cluster[0].log)[-3000:]
        time.sleep(0.1)
    cluster[1].process.kill()
    (status, output), _ = workers.finish(cluster, timeout=200)
    assert status == cli.EXIT_CLUSTER, output[-3000:]
    line = output.strip().splitlines()[-1]
    assert line.startswith("error: the cluster lost /job:worker/replica:0/task:1")
    assert "start every worker again with the same command" in line
    stopped_at = checkpoint.read_epoch(run_dir(out) / "checkpoint.npz")
    assert 2 <= stopped_at < 40

    results = workers.finish(workers.start(out, args), timeout=400)
    for status, output in results:
        assert status == 0, output[-3000:]
        assert f"after epoch {stopped_at}" in output  # both resumed from the chief's checkpoint
    one_device(tmp_path / "single", "sdch", ["--dropout", "0", "--epochs", "40"])
    two_devices.assert_same_codes(experiment.load_codes(str(run_dir(tmp_path / "single") / "codes.npz")),
                                  experiment.load_codes(str(run_dir(out) / "codes.npz")))


def test_a_worker_takes_the_chiefs_checkpoint_when_it_sees_it(tmp_path):
    def write(directory, epoch):
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "checkpoint.npz", epoch=np.asarray(epoch))
        (directory / "epochs.jsonl").write_text("".join(f'{{"epoch": {e}}}\n' for e in range(1, epoch + 1)))

    chief, worker = tmp_path / "runs" / "r", tmp_path / ".worker-1" / "runs" / "r"
    assert distribute.chief_run_dir(str(worker)) == str(chief)
    assert distribute.chief_run_dir(str(chief)) is None
    write(chief, 5)
    write(worker, 6)  # killed after checkpointing one epoch more than the chief
    distribute.resume_point_of(str(worker), ("checkpoint.npz", "epochs.jsonl"), checkpoint.read_epoch)
    assert checkpoint.read_epoch(worker / "checkpoint.npz") == 5
    assert len((worker / "epochs.jsonl").read_text().splitlines()) == 5
    write(chief, 7)
    distribute.resume_point_of(str(chief), ("checkpoint.npz", "epochs.jsonl"), checkpoint.read_epoch)
    assert checkpoint.read_epoch(chief / "checkpoint.npz") == 7  # the chief's own is never replaced


def test_a_lost_worker_is_one_error_line(capsys):
    import tensorflow as tf

    def lost(argv):
        raise tf.errors.UnavailableError(None, None, "Collective ops is aborted by: Error reported from "
                                         "/job:worker/task:0: The following tasks are unhealthy (stopped sending "
                                         "heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed.")

    assert cli.run_main(lost, []) == cli.EXIT_CLUSTER
    err = capsys.readouterr().err.strip()
    assert err == ("error: the cluster lost /job:worker/replica:0/task:1 (UnavailableError: collectives aborted); "
                   "every finished epoch is checkpointed: start every worker again with the same command, and "
                   "training resumes from the last checkpoint")

    def lost_and_more(argv):  # other tasks named after the list (the reporter, a gRPC target) did not stop
        raise tf.errors.UnavailableError(None, None, "Collective ops is aborted by: The following tasks are unhealthy "
                                         "(stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have "
                                         "crashed. Additional GRPC error information from remote target "
                                         "/job:worker/replica:0/task:0")

    assert cli.run_main(lost_and_more, []) == cli.EXIT_CLUSTER
    assert capsys.readouterr().err.strip().startswith("error: the cluster lost /job:worker/replica:0/task:1 (")

    def other(argv):
        raise tf.errors.UnavailableError(None, None, "Socket closed")

    with pytest.raises(tf.errors.UnavailableError):
        cli.run_main(other, [])
