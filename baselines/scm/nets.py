"""SCM's hash functions: one linear projection per modality on the centred features,
h(x) = (x − x̄) W, codes sign(h(x)) (demo_SCM.m: ``XTest * Wx >= 0`` after subtracting the training
mean; NOTES.md, "Centring"): ``training.closed_form.LinearProjection``, started untrained from
``closed_form.random_projection`` (random-projection hashing, the baseline of every learned run)."""
from sdch_tf.training.closed_form import LinearProjection, random_projection

__all__ = ["LinearProjection", "random_projection"]
