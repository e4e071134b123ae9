"""A MultiWorkerMirroredStrategy cluster of training processes on this machine, for the tests.

``start(out, args)`` launches ``python -m sdch_tf.train --distribute multiworker ARGS --out OUT``
once per worker, each with a ``TF_CONFIG`` naming every worker at ``127.0.0.1:<free port>`` and
its own index; ``finish(workers, timeout)`` waits for them all, killing every one if any is still
running at the deadline, and returns (exit status, stdout, stderr) per worker.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(args: list[str], out, timeout: float = 600, **env) -> subprocess.CompletedProcess:
    """One ``python -m sdch_tf.train ARGS --out OUT`` process (``env``: extra environment, e.g.
    TF_CONFIG), its output captured."""
    environment = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", **env)
    return subprocess.run([sys.executable, "-m", "sdch_tf.train", *args, "--out", str(out)], cwd=REPO,
                          env=environment, capture_output=True, text=True, timeout=timeout)


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free now (all bound at once, so that none is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Worker:
    index: int
    process: subprocess.Popen
    log: str


def start(out, args: list[str], count: int = 2, ports: list[int] | None = None) -> list[Worker]:
    ports = ports or free_ports(count)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = []
    for index in range(count):
        env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        # Beside OUT, not in it: OUT holds run directories only.
        log = f"{out}-worker{index}-{time.monotonic_ns()}.log"
        with open(log, "w") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "sdch_tf.train", "--distribute", "multiworker", *args, "--out", str(out)],
                cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True)
        workers.append(Worker(index, process, log))
    return workers


def finish(workers: list[Worker], timeout: float = 300) -> list[tuple[int, str]]:
    """(exit status, output) of each worker; all are killed when the deadline passes."""
    deadline = time.monotonic() + timeout
    try:
        for worker in workers:
            worker.process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        for worker in workers:
            worker.process.kill()
        for worker in workers:
            worker.process.wait()
        raise AssertionError("the cluster did not finish in time:\n" + "\n".join(_read(w.log)[-2000:] for w in workers))
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
    return [(worker.process.returncode, _read(worker.log)) for worker in workers]


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()
