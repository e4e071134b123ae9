"""The SCM hasher: a linear projection per modality (nets.py) behind the evaluator's interface."""
from __future__ import annotations

import numpy as np

from sdch_tf.training.closed_form import FeatureHasher, LinearProjection

STATE_KEYS = ("image_mean", "image_weights", "text_mean", "text_weights")


class SCMHasher(FeatureHasher):
    """codes = sign((x − x̄) W) for image features and texts alike."""

    def __init__(self, bits: int, image: LinearProjection, text: LinearProjection):
        super().__init__(bits, image, text)

    def state(self) -> dict[str, np.ndarray]:
        return {"image_mean": self.image.mean, "image_weights": self.image.weights,
                "text_mean": self.text.mean, "text_weights": self.text.weights}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        missing = [k for k in STATE_KEYS if k not in arrays]
        if missing:
            raise KeyError(f"SCM checkpoint lacks {missing}")
        self.image = LinearProjection(arrays["image_mean"], arrays["image_weights"])
        self.text = LinearProjection(arrays["text_mean"], arrays["text_weights"])
