"""Baseline cross-modal hashing methods, each behind the same interface as SDCH (see sdch_tf.methods)."""
