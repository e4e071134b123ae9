"""One run, start to finish: split, build, score untrained, train, evaluate, write result.json.

Shared by every method (see ``sdch_tf.methods``): the split, evaluator and result file are
the same whatever trains the hasher.
"""
from __future__ import annotations

import datetime
import os
import platform
import shutil

import keras
import numpy as np
import tensorflow as tf

from sdch_tf import evaluation, results
from sdch_tf.atomic import atomic_write_json
from sdch_tf.config import DataConfig
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.datasets import load_dataset
from sdch_tf.data.split import PROTOCOL_SIZES, Split, make_split
from sdch_tf.data.synthetic import make_synthetic
from sdch_tf.methods import Method

UNTRAINED_FILE = "untrained.json"

# Split sizes for the embedded synthetic set (its default 6,000 samples), in the spirit of the
# DCMH protocol's 2,000 / 10,000 of MIRFlickr's 20,015.
SYNTHETIC_SIZES = (500, 2000)

# SDCH §4.1 uses the 22 most frequent IAPR TC-12 concepts; releases with 255 labels are cut to them.
DEFAULT_NUM_LABELS = {"iapr": 22}


def load_data(cfg: DataConfig) -> CrossModalData:
    """The dataset a DataConfig names; real datasets are read from local files only."""
    if cfg.dataset == "synthetic":
        return make_synthetic(cfg.synthetic)
    num_labels = cfg.num_labels if cfg.num_labels is not None else DEFAULT_NUM_LABELS.get(cfg.dataset)
    return load_dataset(cfg.dataset, cfg.data_dir or "data", num_labels=num_labels)


def split_for(cfg: DataConfig, data: CrossModalData, seed: int) -> Split:
    """The protocol split (REPRODUCTION.md §2) with the config's size overrides."""
    num_query, num_train = PROTOCOL_SIZES.get(cfg.dataset, SYNTHETIC_SIZES)
    return make_split(data.num_samples, cfg.num_query or num_query, cfg.num_train or num_train, seed,
                      label_fraction=cfg.label_fraction)


def device_description() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "GPU: " + ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name)
                                   for g in gpus)
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU: {model}, {os.cpu_count()} cores"


def run(method: Method, config, data: CrossModalData, bits: int, seed: int, out_dir: str,
        fresh: bool = False, verbose: int = 1) -> tuple[dict, str]:
    """Train and evaluate one (method, dataset, bits, seed); returns (result, path of result.json).

    A finished run with the same configuration is reused unless ``fresh``; an interrupted one
    resumes from its checkpoint.
    """
    directory = results.run_dir(out_dir, config, bits, seed)
    if fresh and os.path.isdir(directory):
        shutil.rmtree(directory)
    existing = results.read_result(directory)
    if existing is not None:
        if verbose:
            print(f"Reusing the finished run in {directory} (pass --fresh to train again)")
        return existing, os.path.join(directory, results.RESULT_FILE)
    os.makedirs(directory, exist_ok=True)

    split = split_for(config.data, data, seed)
    if not method.semi_supervised:
        # With --label-fraction < 1 a supervised method sees only the labelled training items.
        split = split.labelled_only()
    prep = method.preprocessing(config)
    if verbose:
        print(f"\n=== {config.method} | {data.name} | {bits} bits | seed {seed} | preset {config.preset} | "
              f"split {split.sizes()} ===")
    hasher = method.build(config, data, split, bits, seed)

    untrained_path = os.path.join(directory, UNTRAINED_FILE)
    if os.path.exists(untrained_path):
        untrained = results.read_json(untrained_path)
    else:
        if verbose:
            print("Scoring the untrained networks")
        scored = evaluation.evaluate(hasher, data, split, prep, config.top_k, config.eval_batch_size, curves=False)
        untrained = {k: scored[k] for k in ("map_i2t", "map_t2i", "ndcg_i2t", "ndcg_t2i")}
        atomic_write_json(untrained_path, untrained)
    if verbose:
        print(f"Untrained mAP@{config.top_k}: I→T {untrained['map_i2t']:.4f}, T→I {untrained['map_t2i']:.4f}")

    epochs = method.fit(hasher, config, data, split, directory, seed, verbose)
    if verbose:
        print("Evaluating")
    scored = evaluation.evaluate(hasher, data, split, prep, config.top_k, config.eval_batch_size, curves=True,
                                 verbose=verbose > 0)
    result = {
        "method": config.method,
        "dataset": data.name,
        "preset": config.preset,
        "bits": int(bits),
        "seed": int(seed),
        "run_id": os.path.basename(directory),
        "top_k": config.top_k,
        "map_i2t": float(scored["map_i2t"]),
        "map_t2i": float(scored["map_t2i"]),
        "ndcg_k": int(scored["ndcg_k"]),
        "ndcg_i2t": float(scored["ndcg_i2t"]),
        "ndcg_t2i": float(scored["ndcg_t2i"]),
        "untrained": untrained,
        "split": split.sizes(),
        "epochs": epochs,
        "timing": {
            "train_seconds": float(sum(e["seconds"] for e in epochs)),
            **scored["timing"],
            "device": device_description(),
        },
        "curves": scored["curves"],
        "retrievals": scored["retrievals"],
        "config": results.config_dict(config, bits),
        "environment": {
            "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return result, results.write_result(directory, result)

