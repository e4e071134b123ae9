"""RDCMH's semi-supervised semantic similarity (RDCMH §"Semi-supervised Semantic Ranking", Eq. 1).

For two training items i, j of one modality

    s_ij = s1_ij · exp(s2_ij − s1_ij)   if |z_i|² ≠ 0 and |z_j|² ≠ 0       (Eq. 1)
           s1_ij                         otherwise

with s1 the cosine similarity of their features and s2 the cosine similarity of their label
vectors z. Unlabelled items (``--label-fraction`` < 1, RDCMH Table 2) have their labels
masked to zero, so Eq. 1's own condition sends every pair involving one of them to s1. The
features are the bag-of-words vectors for texts (S^yy) and the backbone's fc7 activations
for images (S^xx); the cross-modal similarity is their mean, S^xy = S^yx = (S^xx + S^yy)/2.

Non-negative features (ReLU activations, word counts) and labels give s1, s2 ∈ [0, 1], and
then s ∈ [0, 1] as the paper notes (s1·e^(s2−s1) increases with s1 and equals e^(s2−1) ≤ 1
at s1 = 1). A zero feature vector (an empty text) has cosine 0 with everything.

Memory: S^xx and S^yy are dense (n, n) float32, 400 MB each for the 10,000 training items
of MIRFlickr; they are filled in row blocks so that no larger temporary is ever built.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rows of S computed at once: bounds the temporaries to a few (BLOCK, n) arrays.
BLOCK = 1024


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64 for the norm, float32 out); zero rows stay zero."""
    x = np.asarray(x, np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
    return (x / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)


def cosine_similarity(x: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity of the rows of x (n, d) → float32 (n, n); 0 for a zero row."""
    if np.ndim(x) != 2:
        raise ValueError(f"features must be a 2-D array (n, d), got shape {np.shape(x)}")
    unit = _unit_rows(x)
    return unit @ unit.T


def semantic_similarity(features: np.ndarray, labels: np.ndarray, labelled: np.ndarray | None = None) -> np.ndarray:
    """Eq. 1 for every pair of n items of one modality.

    Args:
        features: (n, d) the modality's features (s1 = their cosine similarity).
        labels: (n, C) label vectors in {0, 1} (s2 = their cosine similarity).
        labelled: bool (n,) items whose labels may be used (None: all). The labels of the
            others count as zero, so only s1 is used for the pairs they are in.

    Returns:
        float32 (n, n), symmetric.
    """
    features = np.asarray(features)
    labels = np.asarray(labels, np.float32)
    if features.ndim != 2 or labels.ndim != 2 or len(features) != len(labels):
        raise ValueError(
            f"features (n, d) and labels (n, C) must be 2-D with the same n, got {features.shape} and {labels.shape}"
        )
    n = len(features)
    if labelled is not None:
        labelled = np.asarray(labelled, bool)
        if labelled.shape != (n,):
            raise ValueError(f"labelled must be a bool vector of length {n}, got shape {labelled.shape}")
        labels = labels * labelled[:, None]
    feature_unit, label_unit = _unit_rows(features), _unit_rows(labels)
    has_labels = np.einsum("ij,ij->i", labels, labels) != 0   # Eq. 1: |z_i|² ≠ 0
    out = np.empty((n, n), np.float32)
    for start in range(0, n, BLOCK):
        rows = slice(start, min(start + BLOCK, n))
        s1 = feature_unit[rows] @ feature_unit.T
        s2 = label_unit[rows] @ label_unit.T
        both = has_labels[rows, None] & has_labels[None, :]
        out[rows] = np.where(both, s1 * np.exp(s2 - s1), s1)
    return out


@dataclass(frozen=True, eq=False)
class SemanticSimilarity:
    """S^xx (images) and S^yy (texts) over the n training items, rows/columns in the order of
    ``split.train``; S^xy = S^yx = (S^xx + S^yy)/2 is formed on demand (RDCMH §"Semi-supervised
    Semantic Ranking")."""

    image: np.ndarray  # S^xx, float32 (n, n)
    text: np.ndarray   # S^yy, float32 (n, n)

    def __post_init__(self):
        if self.image.shape != self.text.shape or self.image.ndim != 2 or self.image.shape[0] != self.image.shape[1]:
            raise ValueError(f"S^xx and S^yy must both be (n, n), got {self.image.shape} and {self.text.shape}")

    @property
    def num_items(self) -> int:
        return self.image.shape[0]

    def cross_rows(self, rows: np.ndarray) -> np.ndarray:
        """S^xy[rows] = (S^xx[rows] + S^yy[rows]) / 2, float32 (len(rows), n)."""
        return (self.image[rows] + self.text[rows]) * np.float32(0.5)

    @classmethod
    def from_features(cls, image_features: np.ndarray, texts: np.ndarray, labels: np.ndarray,
                      labelled: np.ndarray | None = None) -> "SemanticSimilarity":
        """Eq. 1 for both modalities of n paired items: image features (n, d_x), bag-of-words
        texts (n, d_y), labels (n, C), optional labelled mask (n,)."""
        if not len(image_features) == len(texts) == len(labels):
            raise ValueError(
                f"image features, texts and labels must have one row per item, got "
                f"{len(image_features)}, {len(texts)} and {len(labels)}"
            )
        return cls(image=semantic_similarity(image_features, labels, labelled),
                   text=semantic_similarity(texts, labels, labelled))
