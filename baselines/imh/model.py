"""The IMH hasher: a thresholded linear projection per medium (nets.py)."""
from __future__ import annotations

import numpy as np

from sdch_tf.training.closed_form import FeatureHasher, LinearProjection


class IMHHasher(FeatureHasher):
    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for view, f in (("image", self.image), ("text", self.text)):
            offset = np.zeros(self.bits) if f.offset is None else f.offset
            out.update({f"{view}_mean": f.mean, f"{view}_weights": f.weights, f"{view}_offset": offset})
        return out

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.image, self.text = (LinearProjection(arrays[f"{v}_mean"], arrays[f"{v}_weights"], arrays[f"{v}_offset"])
                                 for v in ("image", "text"))
