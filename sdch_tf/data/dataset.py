"""The in-memory description of a paired image–text dataset, shared by every method.

A dataset is N paired samples: image i and text i describe the same item and carry the
same multi-label annotation (SDCH §4.1). Images may live on disk (NUS-WIDE is ~29 GB as
uint8, docs/reproduction.md §2), so they are reached through an ``ImageSource`` that reads
a batch of indices on demand; texts and labels are small and held as arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from sdch_tf.data.datasets import LoadReport
    from sdch_tf.data.split import Split


@runtime_checkable
class ImageSource(Protocol):
    """Random access to N RGB images of one fixed size.

    ``shape`` is (N, H, W, 3). ``read(indices)`` takes any 1-D integer array (unsorted,
    repeated indices allowed) and returns uint8 (len(indices), H, W, 3) in that order.
    """

    shape: tuple[int, int, int, int]

    def __len__(self) -> int: ...

    def read(self, indices: np.ndarray) -> np.ndarray: ...


class ArrayImages:
    """An ``ImageSource`` over an in-memory uint8 array (N, H, W, 3)."""

    def __init__(self, array: np.ndarray):
        array = np.asarray(array)
        if array.ndim != 4 or array.shape[-1] != 3:
            raise ValueError(f"images must have shape (N, H, W, 3), got {array.shape}")
        if array.dtype != np.uint8:
            raise ValueError(f"images must be uint8, got {array.dtype}")
        self._array = array
        self.shape = tuple(int(s) for s in array.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, indices: np.ndarray) -> np.ndarray:
        return self._array[np.asarray(indices, dtype=np.int64)]


class FeatureRows:
    """Image features in place of images: random access to float32 (N, d) rows, for the methods
    that read fixed CNN features (``registry.Method.inputs == "features"``, docs/features.md)."""

    def __init__(self, array: np.ndarray):
        array = np.asarray(array)
        if array.ndim != 2:
            raise ValueError(f"image features must have shape (N, d), got {array.shape}")
        self._array = np.asarray(array, dtype=np.float32)
        self.shape = tuple(int(s) for s in array.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, indices: np.ndarray) -> np.ndarray:
        return self._array[np.asarray(indices, dtype=np.int64)]

    @property
    def array(self) -> np.ndarray:
        """All N rows (read-only view)."""
        view = self._array.view()
        view.flags.writeable = False
        return view


@dataclass(frozen=True, eq=False)
class CrossModalData:
    """N paired samples.

    Attributes:
        name: dataset name (``mirflickr``, ``iapr``, ``nuswide``, ``synthetic``...).
        images: ``ImageSource`` with shape (N, H, W, 3), uint8 RGB.
        texts: float32 (N, d) bag-of-words vectors.
        labels: uint8 (N, C) with entries in {0, 1}.
        label_names: optional names of the C concepts.
        vocabulary: optional names of the d text dimensions (words), for display only
            (SDCH Fig. 3 shows retrieved texts as words).
        report: for data read from files (``datasets.load_dataset``), what loading dropped
            (samples without labels) and noticed (all-zero texts), in file terms; else None.
        split: the retrieval split the data comes with (a features file records one), used in
            place of the seeded protocol split (``experiment.split_for``); None: drawn per seed.

    With ``images`` a ``FeatureRows`` the data holds image features, not pixels (``has_features``).
    """

    name: str
    images: ImageSource
    texts: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...] | None = None
    vocabulary: tuple[str, ...] | None = None
    report: LoadReport | None = None
    split: Split | None = None

    def __post_init__(self):
        n = len(self.images)
        if self.texts.ndim != 2 or self.texts.shape[0] != n:
            raise ValueError(
                f"{self.name}: texts must have shape ({n}, d) to match {n} images, got {self.texts.shape}"
            )
        if self.labels.ndim != 2 or self.labels.shape[0] != n:
            raise ValueError(
                f"{self.name}: labels must have shape ({n}, C) to match {n} images, got {self.labels.shape}"
            )
        if self.label_names is not None and len(self.label_names) != self.labels.shape[1]:
            raise ValueError(
                f"{self.name}: {len(self.label_names)} label names for {self.labels.shape[1]} label columns"
            )
        if self.vocabulary is not None and len(self.vocabulary) != self.texts.shape[1]:
            raise ValueError(
                f"{self.name}: {len(self.vocabulary)} vocabulary words for {self.texts.shape[1]} text dimensions"
            )

    @property
    def num_samples(self) -> int:
        return len(self.images)

    @property
    def text_dim(self) -> int:
        return int(self.texts.shape[1])

    @property
    def num_labels(self) -> int:
        return int(self.labels.shape[1])

    @property
    def image_shape(self) -> tuple[int, ...]:
        """(H, W, 3) for images; (d,) for image features."""
        return tuple(self.images.shape[1:])

    @property
    def has_features(self) -> bool:
        """True if ``images`` holds image features (``FeatureRows``), not pixels."""
        return isinstance(self.images, FeatureRows)
