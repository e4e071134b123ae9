"""The retrieval protocol split: query / database / training set drawn from the database.

docs/reproduction.md §2 (the DCMH protocol; the SDCH paper gives no split sizes): a seeded
random permutation of all N samples; its first ``num_query`` entries are the queries, the
rest (in permutation order) is the retrieval database, and the training set is the first
``num_train`` entries of the database. The database order is the permutation order, as in
DCMH's code; it is the order that breaks ties in the ranking (docs/reproduction.md §3).

The semi-supervised setting of RDCMH (§4.1, Table 2) keeps the labels of only a fraction of
the training items: ``label_fraction`` draws them from a seeded stream of its own, so the
query / database / training sets are the same whatever the fraction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdch_tf.input_errors import InputError

# (num_query, num_train) per dataset, docs/reproduction.md §2.
PROTOCOL_SIZES: dict[str, tuple[int, int]] = {
    "mirflickr": (2000, 10000),
    "iapr": (2000, 10000),
    "nuswide": (2100, 10500),
    # The top-10-concept NUS-WIDE release: the same NUS-WIDE protocol sizes (docs/reproduction.md §2
    # gives one protocol for NUS-WIDE; nothing says the variant changes it).
    "nuswide-tc10": (2100, 10500),
    # MS-COCO: torchcmh's coco2014.py (query_num=5000, train_num=10000), the most common sizes in
    # the public cross-modal hashing code (docs/data-preparation.md, "MS-COCO").
    "coco": (5000, 10000),
}


class SplitSizeError(InputError):
    """The requested query / training set sizes do not fit the dataset; says what was asked and what is there."""


@dataclass(frozen=True, eq=False)
class Split:
    """Index arrays (int64) into a dataset of N samples.

    ``query`` and ``database`` partition range(N); ``train`` is a prefix of ``database``.
    ``labelled`` (bool, aligned with ``train``) marks the training items whose labels may be
    used; None means all of them.
    """

    query: np.ndarray
    database: np.ndarray
    train: np.ndarray
    seed: int
    labelled: np.ndarray | None = None

    def sizes(self) -> dict[str, int]:
        sizes = {"query": len(self.query), "database": len(self.database), "train": len(self.train)}
        if self.labelled is not None:
            sizes["labelled_train"] = int(self.labelled.sum())
        return sizes

    def labelled_only(self) -> "Split":
        """The split a fully supervised method trains on: the training set cut to its labelled
        items (RDCMH §4.1 trains the supervised baselines on the labelled data alone)."""
        if self.labelled is None:
            return self
        return Split(query=self.query, database=self.database, train=self.train[self.labelled], seed=self.seed)


def make_split(num_samples: int, num_query: int, num_train: int, seed: int, label_fraction: float = 1.0) -> Split:
    """Seeded split of range(num_samples) into query / database, training set from the database;
    with ``label_fraction`` < 1, round(fraction · num_train) training items (at least one) keep
    their labels, drawn with ``np.random.default_rng([seed, 1])``.

    Raises:
        SplitSizeError: a size is not positive, or num_query + num_train > num_samples (the
            training set is drawn from the database, i.e. the samples that are not queries).
        InputError: label_fraction outside (0, 1].
    """
    if num_query <= 0 or num_train <= 0:
        raise SplitSizeError(f"num_query and num_train must be positive, got {num_query} and {num_train}")
    if num_query >= num_samples:
        raise SplitSizeError(f"num_query={num_query} leaves no database out of {num_samples} samples")
    if num_train > num_samples - num_query:
        raise SplitSizeError(
            f"num_train={num_train} exceeds the database size {num_samples - num_query} "
            f"({num_samples} samples minus {num_query} queries)"
        )
    perm = np.random.default_rng(seed).permutation(num_samples).astype(np.int64)
    database = perm[num_query:]
    return Split(query=perm[:num_query], database=database, train=database[:num_train], seed=seed,
                 labelled=draw_labelled(num_train, label_fraction, seed))


def draw_labelled(num_train: int, label_fraction: float, seed: int) -> np.ndarray | None:
    """Which of ``num_train`` training items keep their labels: None for all (``label_fraction`` 1),
    else round(fraction · num_train) of them (at least one), drawn with ``np.random.default_rng([seed, 1])``."""
    if not 0.0 < label_fraction <= 1.0:
        raise InputError(f"label_fraction must be in (0, 1], got {label_fraction}")
    if label_fraction == 1.0:
        return None
    keep = max(1, int(round(label_fraction * num_train)))
    labelled = np.zeros(num_train, bool)
    labelled[np.random.default_rng([seed, 1]).choice(num_train, keep, replace=False)] = True
    return labelled
