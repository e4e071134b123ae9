"""sdch_tf: Cross-modal Hashing with Semantic Deep Embedding (SDCH, Yan et al., Neurocomputing 2019)
in TensorFlow 2 / Keras 3, with its baselines under one protocol."""

__version__ = "0.1.0"
