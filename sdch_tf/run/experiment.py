"""One run, start to finish: split, build, score untrained, train, evaluate, write result.json.

Shared by every method (see ``sdch_tf.registry``): the split, evaluator and result file are
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

from sdch_tf import atomic, machine, training
from sdch_tf.retrieval import evaluation
from sdch_tf.run import results, tensorboard_log
from sdch_tf.training import checkpoint, distribute
from sdch_tf.atomic import atomic_write_json
from sdch_tf.configs import DataConfig
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.loading import load_data  # noqa: F401  (experiment.load_data: one run's data)
from sdch_tf.data.split import PROTOCOL_SIZES, Split, SplitSizeError, draw_labelled, make_split
from sdch_tf.input_errors import CorruptRunFile
from sdch_tf.registry import Method

UNTRAINED_FILE = "untrained.json"
CODES_FILE = "codes.npz"
UNTRAINED_CODES_FILE = "codes_untrained.npz"
MAP_KEYS = ("map_i2t", "map_t2i", "map_all_i2t", "map_all_t2i")
# One lock file per run id, held while a process trains that run (atomic.exclusive_lock).
LOCK_DIR = ".locks"

# Split sizes for the embedded synthetic set (its default 6,000 samples), in the spirit of the
# DCMH protocol's 2,000 / 10,000 of MIRFlickr's 20,015.
SYNTHETIC_SIZES = (500, 2000)

def split_for(cfg: DataConfig, data: CrossModalData, seed: int) -> Split:
    """The protocol split (docs/reproduction.md §2) with the config's size overrides.

    Raises ``SplitSizeError`` when the sizes do not fit ``data``, naming the sizes asked (and
    where they come from) and the samples available; it is cheap, so callers check it before
    training anything.
    """
    if data.split is not None:
        return _recorded_split(cfg, data, seed)
    protocol_query, protocol_train = PROTOCOL_SIZES.get(cfg.dataset, SYNTHETIC_SIZES)
    num_query, num_train = cfg.num_query or protocol_query, cfg.num_train or protocol_train
    try:
        return make_split(data.num_samples, num_query, num_train, seed, label_fraction=cfg.label_fraction)
    except SplitSizeError as e:
        default = (f"the DCMH protocol's for {cfg.dataset}, docs/reproduction.md §2" if cfg.dataset in PROTOCOL_SIZES
                   else "the default for the synthetic set")
        origin = {True: "set by --num-query / --num-train or the preset", False: default}
        report = data.report
        dropped = (f"; the files hold {report.num_file_samples}, of which "
                   f"{report.num_file_samples - data.num_samples} were dropped (data.report says which)"
                   if report is not None and report.num_file_samples != data.num_samples else "")
        raise SplitSizeError(
            f"{data.name}: the split does not fit the dataset: {e}. Asked: {num_query} queries "
            f"({origin[bool(cfg.num_query)]}) and {num_train} training samples ({origin[bool(cfg.num_train)]}) "
            f"drawn from the rest, i.e. at least {num_query + num_train} samples; available: "
            f"{data.num_samples} samples{dropped}. Pass smaller --num-query / --num-train "
            "(DataConfig.num_query / num_train)"
        ) from None


def _recorded_split(cfg: DataConfig, data: CrossModalData, seed: int) -> Split:
    """The split the data comes with (a features file's), the same for every seed; the seed draws
    only the labelled items under ``label_fraction`` < 1. Sizes the config sets must be the file's."""
    recorded = data.split
    for name, asked in (("query", cfg.num_query), ("train", cfg.num_train)):
        held = len(getattr(recorded, name))
        if asked is not None and asked != held:
            flag = "--num-query" if name == "query" else "--num-train"
            raise SplitSizeError(
                f"{data.name}: the features file fixes the split ({held} {name} items), but {flag} or the preset "
                f"asks for {asked}: pass {flag} {held}, or a features file written with that split")
    return Split(query=recorded.query, database=recorded.database, train=recorded.train, seed=seed,
                 labelled=draw_labelled(len(recorded.train), cfg.label_fraction, seed))


def op_determinism() -> bool | None:
    """Whether TensorFlow op determinism was on (``--deterministic``); None if TF cannot say."""
    try:
        from tensorflow.python.framework import config as tf_config  # no public getter in TF 2.21
        return bool(tf_config.is_op_determinism_enabled())
    except (ImportError, AttributeError):
        return None


def device_description() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "GPU: " + ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name)
                                   for g in gpus)
    return machine.cpu_line()


def run(method: Method, config, data: CrossModalData, bits: int, seed: int, out_dir: str,
        fresh: bool = False, verbose: int = 1) -> tuple[dict, str]:
    """Train and evaluate one (method, dataset, bits, seed); returns (result, path of result.json).

    A finished run with the same configuration is reused unless ``fresh``; an interrupted one
    resumes from its checkpoint (only if it was written for this run: ``training.claim``).

    Files of the run directory, each written atomically: run.json (identity), untrained.json,
    checkpoint.npz and epochs.jsonl (every epoch), codes.npz (the final query and database
    codes, ``np.packbits(codes > 0, axis=1)`` per set with its (n, bits) shape), then
    result.json, last: its presence means the run is complete. Beside them, tensorboard/: the
    TensorBoard log of the loss terms per epoch and the final mAP (``tensorboard_log``; written
    by the chief only, and not at all when the tensorboard package is missing).

    With ``fresh``, a run directory that exists is kept until the new run has succeeded: the
    new one trains in the hidden sibling ``.fresh-<run-id>`` and replaces it at the end, so a
    fresh run that fails (divergence, interruption, bad input) leaves the recorded result as it was.
    """
    final = results.run_dir(out_dir, config, bits, seed)
    staging = atomic.sibling(final, "fresh")
    split = split_for(config.data, data, seed)
    if not method.semi_supervised:
        # With --label-fraction < 1 a supervised method sees only the labelled training items.
        split = split.labelled_only()
    if method.check is not None:  # method-specific limits, before any directory is made
        method.check(config, split)
    identity = run_identity(config, data, split, bits, seed)
    # Beside runs/, not in it: runs/ holds run directories only.
    lock = os.path.join(out_dir, LOCK_DIR, os.path.basename(final))
    with atomic.exclusive_lock(lock, f"the run directory {final}"):
        atomic.finish_replace(final, staging)
        existing = None if fresh else results.read_result(final)
        if existing is not None:
            check_recorded_run(final, identity, existing)
            if verbose:
                print(f"Reusing the finished run in {final} (pass --fresh to train again)")
            if existing.get("top_k", 500) != config.top_k:
                existing = rescore(final, existing, config.top_k, data, split, verbose)
            return existing, os.path.join(final, results.RESULT_FILE)
        directory = staging if fresh and os.path.isdir(final) else final
        if directory == staging and os.path.isdir(staging):
            if _identity_or_none(staging) == identity:
                if verbose:
                    print(f"Resuming the interrupted --fresh run in {staging} (the recorded run in {final} stays "
                          "until it finishes; delete the staging directory to start over)")
            else:
                shutil.rmtree(staging)
        elif os.path.isdir(staging):
            shutil.rmtree(staging)  # a --fresh run of a run that no longer exists: nothing to replace
        created = not os.path.isdir(directory)
        try:
            return _train_and_record(method, config, data, split, identity, bits, seed, directory, final, verbose)
        except BaseException:
            # Failed before training started (setup ends by recording the untrained scores): leave
            # no directory behind that would look like an interrupted run.
            if created and not os.path.exists(os.path.join(directory, UNTRAINED_FILE)):
                shutil.rmtree(directory, ignore_errors=True)
            raise


def save_codes(path: str, codes: dict) -> None:
    """The codes of ``evaluation.encode_split`` packed (``np.packbits(codes > 0, axis=1)``) with
    their (n, bits) shapes, written atomically."""
    packed = {name: np.packbits(np.asarray(c) > 0, axis=1) for name, c in codes.items()}
    shapes = {f"{name}_shape": np.asarray(np.shape(c), np.int64) for name, c in codes.items()}
    atomic.atomic_write(path, lambda f: np.savez(f, **packed, **shapes))


def load_codes(path: str) -> dict:
    """``save_codes``'s file back as int8 codes in {−1, +1}."""
    try:
        with np.load(path) as f:
            codes = {}
            for name in ("query_image", "query_text", "db_image", "db_text"):
                n, bits = (int(v) for v in f[f"{name}_shape"])
                bits01 = np.unpackbits(f[name], axis=1, count=bits)[:n]
                codes[name] = np.where(bits01 > 0, 1, -1).astype(np.int8)
    except (OSError, ValueError, KeyError) as e:
        raise CorruptRunFile(f"run file {path} cannot be read ({e}); {atomic.RUN_FILE_HINT}") from None
    return codes


def rescore(run_dir: str, result: dict, top_k: int | None, data: CrossModalData, split: Split,
            verbose: int = 1) -> dict:
    """The finished run's result at another cut-off, from its saved codes (no retraining): mAP@top_k
    (whole-database MAP when None) as ``map_i2t`` / ``map_t2i``, and the untrained networks' when
    their codes were saved (else None); result.json is rewritten atomically with the new ``top_k``."""
    codes_path = os.path.join(run_dir, CODES_FILE)
    if not os.path.exists(codes_path):
        raise CorruptRunFile(f"the finished run in {run_dir} was recorded at {results.metric_label(result.get('top_k'))} "
                             f"and has no {CODES_FILE} to rescore it at {results.metric_label(top_k)}; pass --fresh "
                             "to train it again, or keep its cut-off")
    scored = evaluation.score(load_codes(codes_path), data, split, top_k, curves=False)
    untrained_path = os.path.join(run_dir, UNTRAINED_CODES_FILE)
    if os.path.exists(untrained_path):
        before = evaluation.score(load_codes(untrained_path), data, split, top_k, curves=False)
        untrained = {**result["untrained"], **{k: float(before[k]) for k in MAP_KEYS}}
    else:
        untrained = {**result["untrained"], "map_i2t": None, "map_t2i": None}
    rescored = {**result, "top_k": top_k, **{k: float(scored[k]) for k in MAP_KEYS}, "untrained": untrained}
    rescored["config"] = {**result.get("config", {}), "top_k": top_k}
    results.write_result(run_dir, rescored)
    if verbose:
        print(f"Rescored {run_dir} at {results.metric_label(top_k)} from its saved codes")
    return rescored


def _identity_or_none(run_dir: str) -> dict | None:
    try:
        return training.read_identity(run_dir)
    except CorruptRunFile:
        return None


def run_identity(config, data: CrossModalData, split: Split, bits: int, seed: int) -> dict:
    """Everything the training sequence depends on besides the epoch (``training.claim``): every
    method's batch plan (order, crops, DCMH's text pass, RDCMH's triplets) is drawn from
    (seed, epoch) over split.train with sizes and options from the config, and its schedules
    follow the epoch."""
    return checkpoint.normalized({
        "method": config.method, "bits": int(bits), "seed": int(seed),
        "config": results.training_config_dict(config, bits),
        "data": {"name": data.name, "num_samples": int(data.num_samples), "text_dim": int(data.text_dim),
                 "num_labels": int(data.num_labels), "image_shape": [int(d) for d in data.image_shape]},
        "split": {"sizes": split.sizes(), "query": training.fingerprint(split.query),
                  "database": training.fingerprint(split.database), "train": training.fingerprint(split.train),
                  "labelled": None if split.labelled is None else training.fingerprint(split.labelled)},
    })


def check_recorded_run(run_dir: str, identity: dict, result: dict) -> None:
    """Refuse to reuse a finished run made from other data or another split (``InputError``).

    The run id covers the configuration only; the data behind a dataset name can change (files
    replaced, another ``--data-dir``). ``run.json`` records the data's shape and the split's
    fingerprints; result sets recorded without it are checked on what ``result.json`` holds.
    """
    recorded = training.read_identity(run_dir)
    if recorded:
        # The configuration is already the run id's; a field added to it later must not void old runs.
        keys = ("method", "bits", "seed", "data", "split")
        diff = checkpoint.differences({k: recorded.get(k) for k in keys}, {k: identity.get(k) for k in keys})
    else:
        diff = checkpoint.differences({"dataset": result.get("dataset"), "split": result.get("split")},
                                      {"dataset": identity["data"]["name"], "split": identity["split"]["sizes"]})
    if diff:
        shown = "; ".join(diff[:6]) + (f"; and {len(diff) - 6} more" if len(diff) > 6 else "")
        raise checkpoint.CheckpointMismatch(
            f"the finished run in {run_dir} was made from other data or another split than this command's "
            f"({shown}). Pass --fresh to train it again on this data, or use another --out"
        )


def _train_and_record(method: Method, config, data: CrossModalData, split: Split, identity: dict, bits: int,
                      seed: int, directory: str, final: str, verbose: int) -> tuple[dict, str]:
    os.makedirs(directory, exist_ok=True)
    stale = atomic.remove_stale_temporaries(directory)
    if stale and verbose:
        print(f"Removed {len(stale)} temporary file(s) an interrupted write left in {directory}")
    training.claim(directory, identity)
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
        untrained_codes, _ = evaluation.encode_split(hasher, data, split, prep, config.eval_batch_size)
        scored = evaluation.score(untrained_codes, data, split, config.top_k, curves=False)
        untrained = {k: scored[k] for k in (*MAP_KEYS, "ndcg_i2t", "ndcg_t2i")}
        # Kept so that the untrained networks can be rescored at another cut-off too (``rescore``).
        save_codes(os.path.join(directory, UNTRAINED_CODES_FILE), untrained_codes)
        atomic_write_json(untrained_path, untrained)
    if verbose:
        print(f"Untrained {results.metric_label(config.top_k)}: I→T {untrained['map_i2t']:.4f}, "
              f"T→I {untrained['map_t2i']:.4f}")
    observers = []
    if config.eval_every:
        observers.append(evaluation.RetrievalCurve(config.eval_every, config.epochs, data, split, prep, config.top_k,
                                                   config.eval_batch_size))
    # The TensorBoard log (None on a worker that is not the chief, or without tensorboard): an
    # observer after the curve, so that it logs the curve's values too.
    board = tensorboard_log.for_run(directory)
    if board is not None:
        observers.append(board)
    try:
        result = _fit_and_score(method, hasher, config, data, split, bits, seed, directory, final, verbose,
                                untrained, prep, observers)
        if board is not None:
            board.finish(result["epochs"], result)
    finally:
        if board is not None:
            board.close()
    results.write_result(directory, result)
    if directory != final:
        atomic.replace_directory(directory, final)
    return result, os.path.join(final, results.RESULT_FILE)


def _fit_and_score(method: Method, hasher, config, data: CrossModalData, split: Split, bits: int, seed: int,
                   directory: str, final: str, verbose: int, untrained: dict, prep, observers: list) -> dict:
    """Train, encode, save the codes; returns the result (result.json's contents, not yet written)."""
    epochs = method.fit(hasher, config, data, split, directory, seed, verbose, observers)
    if verbose:
        print("Evaluating")
    codes, timing = evaluation.encode_split(hasher, data, split, prep, config.eval_batch_size, verbose > 0)
    scored = {**evaluation.score(codes, data, split, config.top_k, curves=True), "timing": timing}
    save_codes(os.path.join(directory, CODES_FILE), codes)
    result = {
        "method": config.method,
        "dataset": data.name,
        "preset": config.preset,
        "bits": int(bits),
        "seed": int(seed),
        "run_id": os.path.basename(final),
        "top_k": config.top_k,
        "uses_labels": method.uses_labels,
        "map_i2t": float(scored["map_i2t"]),
        "map_t2i": float(scored["map_t2i"]),
        "map_all_i2t": float(scored["map_all_i2t"]),
        "map_all_t2i": float(scored["map_all_t2i"]),
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
            "numpy": np.__version__, **distribute.describe(tf.distribute.get_strategy()),
            "op_determinism": op_determinism(),
        },
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return result

