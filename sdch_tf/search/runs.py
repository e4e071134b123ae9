"""A finished run, opened for searching: its configuration, data, split, codes and networks.

Nothing is reconstructed by hand: the configuration is the method's preset with the values
``result.json`` records, the data is what the run layer loads for that method
(``run.method_data.load_method_data``), the split is ``run.experiment.split_for`` of the run's
seed, and the hasher is ``method.build`` (through the registry) with the checkpoint's
variables restored. The run's ``run.json`` is then compared with the identity these give
(``experiment.run_identity``): a dataset that changed since training (other files, another
``--data-dir``) is refused, since the codes would name the wrong rows.

Metadata files beside the dataset's .mat files in its data directory (all optional, UTF-8,
one entry a line): ``vocabulary.txt`` (line i = the word of text column i), ``concepts.txt``
(line j = the name of label column j), ``images.txt`` (line r = the source image of file row
r). The embedded synthetic set names its words and concepts itself.
"""
from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

from sdch_tf import registry
from sdch_tf.atomic import read_json
from sdch_tf.data.pipeline import image_batches, preprocess_images, text_batches
from sdch_tf.input_errors import InputError
from sdch_tf.run import experiment, method_data, results
from sdch_tf.search import index as search_index
from sdch_tf.search.rundir import check_run_dir
from sdch_tf.search.scan import pack_codes
from sdch_tf.training import checkpoint, fit as training_fit

VOCABULARY_FILE = "vocabulary.txt"
CONCEPTS_FILE = "concepts.txt"
IMAGES_FILE = "images.txt"


def config_from_record(method, recorded: dict):
    """The method's config with the values of a recorded ``result["config"]`` (JSON data).

    Starts from the recorded preset so that a field the record lacks (added after the run) keeps
    its preset value; nested dataclasses are rebuilt field by field and JSON lists become the
    tuples the dataclasses hold.
    """
    return _rebuild(method.preset(recorded.get("preset", "paper")), recorded)


def _rebuild(template, recorded):
    if dataclasses.is_dataclass(template) and isinstance(recorded, dict):
        values = {f.name: _rebuild(getattr(template, f.name), recorded[f.name])
                  for f in dataclasses.fields(template) if f.name in recorded}
        return dataclasses.replace(template, **values)
    if isinstance(recorded, list):
        # A tuple of dataclasses (CorrAE's RBM layers) rebuilds each from its template's element.
        items = tuple(template) if isinstance(template, (tuple, list)) else ()
        return tuple(_rebuild(items[min(i, len(items) - 1)] if items else None, v) for i, v in enumerate(recorded))
    return recorded


@dataclasses.dataclass
class Metadata:
    """Names for display and text queries, each None when unknown.

    Attributes:
        vocabulary: the d words of the text columns.
        concepts: the C names of the label columns.
        images: the source image path of every file row.
        file_rows: int64 (N,) the file row of each loaded sample.
        notes: why a file was not used.
    """

    vocabulary: tuple | None
    concepts: tuple | None
    images: tuple | None
    file_rows: np.ndarray
    vocabulary_file: str | None
    notes: list


def _read_lines(path: str) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8") as f:
            return tuple(line.rstrip("\r\n") for line in f)
    except UnicodeDecodeError as e:
        raise InputError(f"{path} is not UTF-8 text ({e})") from None


def read_metadata(data, data_dir: str | None) -> Metadata:
    """The names of ``data``'s words, concepts and source images: the files in ``data_dir`` when
    there, of the right length, else the data's own (the synthetic set's), else None."""
    report = data.report
    file_rows = np.asarray(report.rows if report is not None else np.arange(data.num_samples), np.int64)
    num_file_rows = report.num_file_samples if report is not None else data.num_samples
    notes = []
    found = {}
    columns = getattr(report, "label_columns", None)
    num_file_labels = data.num_labels if columns is None or report.num_labels is None else None
    expected = {VOCABULARY_FILE: (data.text_dim, "text columns"), IMAGES_FILE: (num_file_rows, "rows in the dataset files"),
                CONCEPTS_FILE: (num_file_labels, "label columns")}
    for name, (count, what) in expected.items():
        path = os.path.join(data_dir, name) if data_dir else None
        if path is None or not os.path.isfile(path):
            continue
        lines = _read_lines(path)
        if count is None and len(lines) > int(columns.max()):
            # num_labels kept the most frequent concepts: name the kept columns of the file's
            found[name] = ([lines[j] for j in columns], path)
        elif len(lines) == count:
            found[name] = (lines, path)
        else:
            notes.append(f"{path} has {len(lines)} lines for {count} {what}; not used")
    vocabulary = found.get(VOCABULARY_FILE, (data.vocabulary, None))
    concepts = found.get(CONCEPTS_FILE, (data.label_names, None))[0]
    images = found.get(IMAGES_FILE, (None, None))[0]
    return Metadata(vocabulary=vocabulary[0], concepts=concepts, images=images, file_rows=file_rows,
                    vocabulary_file=vocabulary[1], notes=notes)


class OpenedRun:
    """A finished run directory, ready to encode and search.

    Attributes:
        run_dir, result (result.json), identity (run.json), method (registry.Method), config,
        bits, seed, data (CrossModalData), split (Split), prep (ImagePreprocessing or None),
        metadata (Metadata), data_dir (where the metadata files are looked for).
    """

    def __init__(self, run_dir: str, data_dir: str | None = None, verbose: bool = False):
        self.run_dir = check_run_dir(run_dir)
        self.result = read_json(os.path.join(self.run_dir, results.RESULT_FILE))
        self.identity = training_fit.read_identity(self.run_dir)
        self.method = registry.get_method(self.result["method"])
        config = config_from_record(self.method, self.result["config"])
        if data_dir is not None:
            config = dataclasses.replace(config, data=dataclasses.replace(config.data, data_dir=data_dir))
        self.config = config
        self.bits, self.seed = int(self.result["bits"]), int(self.result["seed"])
        self.run_id = self.result.get("run_id", os.path.basename(self.run_dir))
        self.data = method_data.load_method_data(self.method, config, verbose=verbose)
        split = experiment.split_for(config.data, self.data, self.seed)
        self.split = split if self.method.semi_supervised else split.labelled_only()
        self.notes: list[str] = []
        self._check_identity()
        self.prep = self.method.preprocessing(config)
        self.data_dir = None if config.data.dataset == "synthetic" and data_dir is None else (
            config.data.data_dir or "data")
        self.metadata = read_metadata(self.data, self.data_dir)
        self.notes += self.metadata.notes
        self._codes = None
        self._hasher = None
        self._features = None

    def _check_identity(self) -> None:
        """Refuse data or a split other than the run's (the codes' rows would be wrong); note a
        configuration that differs from run.json's (fields added since the run was recorded)."""
        if not self.identity:
            return
        expected = experiment.run_identity(self.config, self.data, self.split, self.bits, self.seed)
        keys = ("method", "bits", "seed", "data", "split")
        diff = checkpoint.differences({k: self.identity.get(k) for k in keys}, {k: expected.get(k) for k in keys})
        if diff:
            raise InputError(
                f"the run in {self.run_dir} was trained on other data or another split than the data found now "
                f"({'; '.join(diff[:4])}); pass the --data-dir it was trained with")
        # Where the files are read from is no part of what was trained (--data-dir may move them).
        config_diff = [line for line in checkpoint.differences(self.identity.get("config", {}),
                                                               expected.get("config", {}))
                       if not line.startswith("data.data_dir:")]
        if config_diff:
            self.notes.append(f"the configuration rebuilt from {results.RESULT_FILE} differs from run.json's in "
                              f"{'; '.join(config_diff[:3])}")

    # ------------------------------------------------------------------ codes
    def codes(self) -> dict:
        """The run's evaluation codes (codes.npz): int8 {−1, +1} query_image, query_text, db_image, db_text."""
        if self._codes is None:
            path = os.path.join(self.run_dir, experiment.CODES_FILE)
            if not os.path.isfile(path):
                raise InputError(f"{path} is missing: the run recorded no codes (rerun it, or index with --encode)")
            self._codes = experiment.load_codes(path)
        return self._codes

    def database(self, modality: str, encode: bool = False, part: slice = slice(None)) -> search_index.Database:
        """The split's database of ``modality`` (its ``part``, a slice of the database order),
        packed: from codes.npz, or encoded again with the restored networks (``encode``)."""
        rows = np.asarray(self.split.database, np.int64)[part]
        codes = self.encode_rows(modality, rows) if encode else self.codes()[f"db_{modality}"][part]
        return search_index.Database(modality=modality, bits=self.bits, codes=pack_codes(codes), rows=rows,
                                     file_rows=self.metadata.file_rows[rows])

    # -------------------------------------------------------------- encoders
    def hasher(self):
        """The run's trained hasher: ``method.build`` and the checkpoint's variables (built once)."""
        if self._hasher is None:
            import keras  # only when a query needs the networks: --item queries of the split do not

            path = os.path.join(self.run_dir, training_fit.CHECKPOINT_FILE)
            if not os.path.isfile(path):
                raise InputError(f"{path} is missing: the run's networks cannot be restored")
            hasher = self.method.build(self.config, self.data, self.split, self.bits, self.seed)
            if isinstance(hasher, keras.Model):
                checkpoint.restore(path, hasher, self.identity or checkpoint.read_identity(path))
            elif hasattr(hasher, "load_state"):  # a closed-form hasher (training.closed_form.fit_solved)
                try:
                    with np.load(path) as f:
                        hasher.load_state({k: f[k] for k in f.files})
                except (OSError, ValueError, KeyError) as e:
                    raise checkpoint.corrupt(path, e) from None
            else:
                raise InputError(f"the {self.method.name} hasher ({type(hasher).__name__}) has no way to restore "
                                 f"{path}")
            self._hasher = hasher
        return self._hasher

    def encode_rows(self, modality: str, rows) -> np.ndarray:
        """int8 codes (n, bits) of dataset ``rows``' images or texts, read and preprocessed as the
        evaluator does (``retrieval.evaluation.encode_split``)."""
        size, hasher = self.config.eval_batch_size, self.hasher()
        # Batch by batch, as encode_split hands them over (a closed-form hasher takes arrays only).
        if modality == "image":
            batches, encode = image_batches(self.data, rows, size, self.prep), hasher.encode_image
        else:
            batches, encode = text_batches(self.data, rows, size), hasher.encode_text
        return np.concatenate([encode(batch) for batch in batches], axis=0)

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """int8 codes (n, bits) of uint8 RGB images (n, H, W, 3) at the dataset's stored size."""
        if self.data.has_features:
            return self.hasher().encode_image(self.image_features(images))
        return self.hasher().encode_image(preprocess_images(images, self.prep).numpy())

    def encode_texts(self, texts: np.ndarray) -> np.ndarray:
        """int8 codes (n, bits) of bag-of-words rows float32 (n, d)."""
        return self.hasher().encode_text(np.asarray(texts, np.float32))

    def image_features(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, d) CNN features of uint8 images, as the run layer extracted the data's
        (``method_data.extract_features``: the config's pretrained backbone and its preprocessing)."""
        if getattr(self.config, "features", None):
            raise InputError(f"the run reads image features from the file {self.config.features}; an image file "
                             "cannot be encoded without the network that made them (query with --item or --text)")
        from sdch_tf.nets.backbones import BACKBONES, feature_model

        if self._features is None:
            model, _ = feature_model(self.config.backbone, self.config)
            prep = registry.get_method(BACKBONES[self.config.backbone].method).preprocessing(self.config)
            self._features = (model, prep)
        model, prep = self._features
        return np.asarray(model(preprocess_images(images, prep), training=False), np.float32)

    def image_size(self) -> tuple[int, int]:
        """(H, W) the images of the dataset are stored at, where the evaluator's preprocessing starts.
        A feature-based run's data holds features instead: the synthetic config's size, else the
        DCMH files' 224 × 224."""
        if not self.data.has_features:
            return tuple(int(s) for s in self.data.images.shape[1:3])
        if self.config.data.dataset == "synthetic":
            return (self.config.data.synthetic.image_size,) * 2
        return (224, 224)

    def concept_names(self, label_row) -> list[str]:
        """Names (or "c<j>") of the concepts set in a label row (C,)."""
        names = self.metadata.concepts
        return [names[j] if names is not None else f"c{j}" for j in np.flatnonzero(np.asarray(label_row))]

    def source_image(self, row: int) -> str | None:
        """The source image file of dataset row ``row``, when images.txt names it."""
        if self.metadata.images is None:
            return None
        return self.metadata.images[int(self.metadata.file_rows[row])]

    def words(self, row: int, limit: int = 8) -> list[str]:
        """Up to ``limit`` words (or "#<column>") of dataset row ``row``'s text, in column order."""
        columns = np.flatnonzero(self.data.texts[row] > 0)[:limit]
        names = self.metadata.vocabulary
        return [names[c] if names is not None else f"#{c}" for c in columns]

    def print_notes(self) -> None:
        for note in self.notes:
            print(f"note: {note}", file=sys.stderr)

