"""Writing a planned dataset into the files ``--dataset`` reads: streamed, resumable, reported.

A preparation first *plans* (``Plan``): which items are kept, their labels, bag-of-words texts,
vocabulary, concept names and image members, and why the others were dropped. ``write_prepared``
then streams the images — decoded in a small thread pool, written into an HDF5 file in the
DCMH layout (h5py (N, 3, W, H) uint8, MATLAB (H, W, 3, N), contiguous so that the loader's
``pread`` path reads it) — and never holds more than one block of them in memory.

Resuming: everything in progress lives in ``OUT/.prepare-<dataset>/`` — the partial image file,
a mask of the rows written and flushed, the unreadable images found so far, and the identity of
the preparation (dataset, settings, planned items). Running the same command again continues
where it stopped; a different command (other settings or inputs) starts over. The finished files
appear only at the end, each renamed into place, ``prepare.json`` last: its presence means the
output is complete, and a rerun then reuses it.

An image that cannot be decoded is reported (file, reason) and its item dropped; the rows after
it are then copied into a new file without it (one extra pass, only when something was dropped).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from sdch_tf import atomic
from sdch_tf.data import mat
from sdch_tf.data.datasets import DATASETS
from sdch_tf.prepare.images import STORED_SIZE, UnreadableImage, decode_image
from sdch_tf.prepare.release import Release

SUMMARY_FILE = "prepare.json"
VOCABULARY_FILE = "vocabulary.txt"   # line i: the word of text column i
CONCEPTS_FILE = "concepts.txt"       # line j: the concept of label column j
IMAGES_FILE = "images.txt"           # line r: the source image of file row r
_BLOCK = 64                          # images decoded and written per step
_FLUSH_SECONDS = 20.0                # at most this much work is redone after an interruption


@dataclass
class Plan:
    """What a preparation will write, before any image is read.

    Attributes:
        dataset: the ``--dataset`` name the files are for (``sdch_tf.data.datasets.DATASETS``).
        release: where the image members are read from.
        image_members: (n,) member name of each item's image in ``release``.
        sources: (n,) the path recorded in images.txt (the image's path inside its release).
        labels: uint8 (n, C) in {0, 1}.
        texts: (n, d) bag-of-words (uint8 word counts, or float32).
        concepts: C concept names; vocabulary: d words.
        dropped: reason → ids of the items dropped for it (reported and recorded).
        settings: every choice that shaped the plan (thresholds, concept counts, sources), recorded
            in prepare.json and part of the resume identity.
    """

    dataset: str
    release: Release
    image_members: list[str]
    sources: list[str]
    labels: np.ndarray
    texts: np.ndarray
    concepts: list[str]
    vocabulary: list[str]
    dropped: dict[str, list[str]] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.image_members)
        shapes = {"sources": len(self.sources), "labels": self.labels.shape[0], "texts": self.texts.shape[0]}
        bad = {k: v for k, v in shapes.items() if v != n}
        if bad:
            raise ValueError(f"plan for {self.dataset}: {n} image members but {bad}")
        if self.labels.shape[1] != len(self.concepts) or self.texts.shape[1] != len(self.vocabulary):
            raise ValueError(f"plan for {self.dataset}: labels {self.labels.shape} / {len(self.concepts)} concepts, "
                             f"texts {self.texts.shape} / {len(self.vocabulary)} words")

    def identity(self, size: int) -> dict:
        digest = hashlib.sha1()
        for name in self.image_members:
            digest.update(name.encode("utf-8", "surrogateescape") + b"\n")
        digest.update(np.ascontiguousarray(self.labels).tobytes())
        digest.update(np.ascontiguousarray(self.texts).tobytes())
        return {"dataset": self.dataset, "items": len(self.image_members), "image_size": size,
                "digest": digest.hexdigest(), "settings": _jsonable(self.settings)}


def output_files(dataset: str) -> tuple[str, str, str]:
    """(images file, labels file, texts file) names the loader reads first for ``dataset``; the
    same name three times for a single-file layout (IAPR)."""
    layout = DATASETS[dataset].layouts[0]
    return layout.images[0], layout.labels[0], layout.texts[0]


def write_prepared(plan: Plan, out_dir, *, size: int = STORED_SIZE, workers: int | None = None,
                   verbose: bool = True) -> dict:
    """Write ``plan`` into ``out_dir``; returns the summary (also ``out_dir/prepare.json``).

    Reuses a finished output of the same plan, resumes an interrupted one.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    identity = plan.identity(size)
    summary_path = out / SUMMARY_FILE
    if summary_path.exists():
        try:
            previous = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous and previous.get("identity") == identity:
            _say(verbose, f"{out} already holds this preparation ({SUMMARY_FILE}); nothing to do")
            return previous
    work = out / f".prepare-{plan.dataset}"
    state = _State.open(work, identity, len(plan.image_members), size, verbose)
    started = time.time()
    try:
        _write_images(plan, state, size, workers or min(8, os.cpu_count() or 1), verbose)
    finally:
        state.save()
        state.close()
    images_file, labels_file, texts_file = output_files(plan.dataset)
    kept = ~state.failed_mask()
    image_path = state.image_path
    if not kept.all():
        image_path = work / "images-kept.h5"
        _copy_rows(state.image_path, image_path, kept, verbose)
    labels, texts = plan.labels[kept], plan.texts[kept]
    sources = [s for s, k in zip(plan.sources, kept) if k]
    if images_file == labels_file:  # one file for everything (IAPR-TC12.mat)
        with h5py.File(image_path, "r+") as f:
            mat.write_h5_array(f, "LAll", labels)
            mat.write_h5_array(f, "YAll", texts)
    else:
        key_l, key_t = DATASETS[plan.dataset].layouts[0].labels[1], DATASETS[plan.dataset].layouts[0].texts[1]
        atomic.atomic_write_path(out / labels_file, lambda p: mat.write_mat_v73(p, {key_l: labels}))
        atomic.atomic_write_path(out / texts_file, lambda p: mat.write_mat_v73(p, {key_t: texts}))
    atomic.atomic_write_text(out / VOCABULARY_FILE, "".join(w + "\n" for w in plan.vocabulary))
    atomic.atomic_write_text(out / CONCEPTS_FILE, "".join(c + "\n" for c in plan.concepts))
    atomic.atomic_write_text(out / IMAGES_FILE, "".join(s + "\n" for s in sources))
    mat.stamp_v73_header(image_path)
    os.replace(image_path, out / images_file)
    atomic.fsync_directory(out)
    summary = _summary(plan, identity, state, kept, time.time() - started)
    atomic.atomic_write_json(summary_path, summary)
    shutil.rmtree(work, ignore_errors=True)
    if verbose:
        print("\n".join(summary_lines(summary, out)), flush=True)
    return summary


# --------------------------------------------------------------------------------------------


class _State:
    """The resumable part: the partial image file and which of its rows are final."""

    def __init__(self, work: Path, identity: dict, n: int, size: int):
        self.work = work
        self.image_path = work / "images.h5"
        self.done = np.zeros(n, bool)
        self.failures: dict[int, str] = {}
        self.n, self.size = n, size
        self.file: h5py.File | None = None
        self.identity = identity

    @classmethod
    def open(cls, work: Path, identity: dict, n: int, size: int, verbose: bool) -> "_State":
        state = cls(work, identity, n, size)
        id_path = work / "identity.json"
        resumable = id_path.exists() and state.image_path.exists() and (work / "done.npy").exists()
        if resumable:
            try:
                resumable = json.loads(id_path.read_text(encoding="utf-8")) == identity
                done = np.load(work / "done.npy")
                failures = json.loads((work / "failures.json").read_text(encoding="utf-8"))
                resumable = resumable and done.shape == (n,)
            except (OSError, ValueError):
                resumable = False
        if resumable:
            state.done = done.astype(bool)
            state.failures = {int(k): v for k, v in failures.items()}
            state.file = h5py.File(state.image_path, "r+")
            _say(verbose, f"resuming: {int(state.done.sum())} of {n} images already written ({work})")
            return state
        if work.exists():
            if id_path.exists():
                _say(verbose, f"{work} holds an unfinished preparation of other inputs or settings; starting over")
            shutil.rmtree(work)
        work.mkdir(parents=True)
        state.file = _create_image_file(state.image_path, n, size)
        atomic.atomic_write_json(id_path, identity)
        state.save()
        return state

    def failed_mask(self) -> np.ndarray:
        mask = np.zeros(self.n, bool)
        mask[list(self.failures)] = True
        return mask

    def save(self) -> None:
        """Flush the image rows, then record them as written: a row is marked only once it is on disk."""
        if self.file is not None:
            self.file.flush()
        atomic.atomic_write(self.work / "done.npy", lambda f: np.save(f, self.done))
        atomic.atomic_write_json(self.work / "failures.json", {str(k): v for k, v in self.failures.items()})

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _create_image_file(path: Path, n: int, size: int) -> h5py.File:
    f = h5py.File(path, "w", userblock_size=512, libver="earliest")
    # Contiguous and allocated now: rows can then be written in any order (a tar archive's) and
    # the loader reads them with pread, as it reads the DCMH files.
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    space = h5py.h5s.create_simple((n, 3, size, size))
    dataset_id = h5py.h5d.create(f.id, b"IAll", h5py.h5t.STD_U8LE, space, dcpl=dcpl)
    h5py.Dataset(dataset_id).attrs.create("MATLAB_class", np.bytes_("uint8"))
    return f


def _write_images(plan: Plan, state: _State, size: int, workers: int, verbose: bool) -> None:
    pending = [i for i in range(state.n) if not state.done[i]]
    if not pending:
        return
    rows_of: dict[str, list[int]] = {}  # a member listed twice (NUS-WIDE's list has duplicates) is read once
    for i in pending:
        rows_of.setdefault(plan.image_members[i], []).append(i)
    images = state.file["IAll"]
    progress = _Progress(state.n, int(state.done.sum()), "images", verbose)
    last_save = time.time()

    def decode(item):
        name, data = item
        if data is None:
            return name, None, "cannot be read from the release (missing or damaged member)"
        try:
            return name, decode_image(data, size), None
        except UnreadableImage as e:
            return name, None, str(e)

    stream = plan.release.members_in_read_order(list(rows_of))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while True:
            block = [item for _, item in zip(range(_BLOCK), stream)]
            if not block:
                break
            for name, image, problem in pool.map(decode, block):
                rows = rows_of[name]
                for row in rows:
                    if problem is None:
                        images[row] = np.transpose(image, (2, 1, 0))  # (H, W, 3) → h5py (3, W, H)
                    else:
                        state.failures[row] = problem
                    state.done[row] = True
                if problem is not None:
                    progress.note(f"warning: {plan.release.path}: {name}: {problem}; item dropped")
                progress.advance(len(rows))
            if time.time() - last_save > _FLUSH_SECONDS:
                state.save()
                last_save = time.time()
    progress.finish()


def _copy_rows(source: Path, target: Path, kept: np.ndarray, verbose: bool) -> None:
    """A new image file holding the ``kept`` rows of ``source``, in order."""
    rows = np.flatnonzero(kept)
    with h5py.File(source, "r") as src:
        images = src["IAll"]
        _, _, w, h = images.shape
        dst = _create_image_file(target, len(rows), w)
        progress = _Progress(len(rows), 0, "rows copied without the unreadable images", verbose)
        try:
            out = dst["IAll"]
            for start in range(0, len(rows), _BLOCK * 4):
                chunk = rows[start:start + _BLOCK * 4]
                out[start:start + len(chunk)] = images[chunk]
                progress.advance(len(chunk))
        finally:
            dst.close()
        progress.finish()


def _summary(plan: Plan, identity: dict, state: _State, kept: np.ndarray, seconds: float) -> dict:
    dropped = {reason: {"count": len(ids), "first": ids[:20]} for reason, ids in plan.dropped.items()}
    if state.failures:
        items = sorted(state.failures)
        dropped["unreadable image"] = {
            "count": len(items), "first": [f"{plan.image_members[i]}: {state.failures[i]}" for i in items[:20]]}
    images_file, labels_file, texts_file = output_files(plan.dataset)
    return {
        "dataset": plan.dataset,
        "pairs": int(kept.sum()),
        "labels": len(plan.concepts),
        "text_dim": len(plan.vocabulary),
        "image_size": state.size,
        "files": sorted({images_file, labels_file, texts_file, VOCABULARY_FILE, CONCEPTS_FILE, IMAGES_FILE}),
        "dropped": dropped,
        "settings": _jsonable(plan.settings),
        "identity": identity,
        "seconds": round(seconds, 1),
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def summary_lines(summary: dict, out) -> list[str]:
    lines = [f"{summary['dataset']}: wrote {summary['pairs']} pairs, {summary['labels']} concepts, "
             f"{summary['text_dim']}-d texts, {summary['image_size']}×{summary['image_size']} images into {out}"]
    for reason, info in summary["dropped"].items():
        if not info["count"]:
            continue
        first = ", ".join(str(x) for x in info["first"][:5])
        lines.append(f"  dropped {info['count']} ({reason}): {first}{', ...' if info['count'] > 5 else ''}")
    lines.append(f"  train on it: python -m sdch_tf.train --dataset {summary['dataset']} --data-dir {out}")
    return lines


def _jsonable(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _say(verbose: bool, line: str) -> None:
    if verbose:
        print(line, file=sys.stderr, flush=True)


class _Progress:
    """One updating line on a terminal (a line every 10% otherwise): count, rate, time left."""

    def __init__(self, total: int, done: int, unit: str, verbose: bool):
        self.total, self.done, self.unit, self.verbose = total, done, unit, verbose
        self.start, self.start_done = time.time(), done
        self.tty = sys.stderr.isatty()
        self.last_print, self.last_decile = 0.0, done * 10 // max(total, 1)

    def note(self, line: str) -> None:
        if self.verbose:
            print(("\r\033[K" if self.tty else "") + line, file=sys.stderr, flush=True)

    def advance(self, count: int) -> None:
        self.done += count
        if not self.verbose:
            return
        now = time.time()
        decile = self.done * 10 // max(self.total, 1)
        if (self.tty and now - self.last_print > 0.5) or (not self.tty and decile > self.last_decile):
            self.last_print, self.last_decile = now, decile
            print(("\r\033[K" if self.tty else "") + self._line(now), end="" if self.tty else "\n",
                  file=sys.stderr, flush=True)

    def _line(self, now: float) -> str:
        rate = (self.done - self.start_done) / max(now - self.start, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = f"{int(left // 60)} min {int(left % 60)} s left" if np.isfinite(left) else ""
        return f"{self.unit}: {self.done}/{self.total} ({100 * self.done / max(self.total, 1):.0f}%), {rate:.0f}/s, {eta}"

    def finish(self) -> None:
        if self.verbose and self.tty:
            print("\r\033[K" + self._line(time.time()), file=sys.stderr, flush=True)
