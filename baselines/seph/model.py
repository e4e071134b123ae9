"""The SePH hasher: a kernel projection per view (nets.py) behind the evaluator's interface. Each
view is encoded by its own predictor, as a query is in SePH.m and as the shared protocol scores
every method (NOTES.md, "Database codes")."""
from __future__ import annotations

import numpy as np

from baselines.seph.nets import KernelProjection
from sdch_tf.training.closed_form import FeatureHasher


class SePHHasher(FeatureHasher):
    def __init__(self, bits: int, image: KernelProjection, text: KernelProjection):
        super().__init__(bits, image, text)

    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for view, f in (("image", self.image), ("text", self.text)):
            out.update({f"{view}_centres": f.centres, f"{view}_width": np.asarray(f.width),
                        f"{view}_weights": f.weights})
        return out

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        views = {}
        for view in ("image", "text"):
            views[view] = KernelProjection(arrays[f"{view}_centres"], float(arrays[f"{view}_width"]),
                                           arrays[f"{view}_weights"])
        self.image, self.text = views["image"], views["text"]
