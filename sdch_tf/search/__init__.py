"""Searching with a trained model: ``python -m sdch_tf.search {index,query,export}`` (docs/search.md).

- ``rundir``: is a directory a finished run (no TensorFlow);
- ``runs``: a finished run opened — config from result.json, data and split as the run layer makes
  them, the hasher rebuilt through the registry with its checkpoint restored, metadata files;
- ``scan``: the exact packed XOR/popcount Hamming ranking, ties in database order (no TensorFlow);
- ``index``: the packed-code index on disk (manifest + shards), written atomically;
- ``query`` / ``engine``: queries (image file, words, dataset item), their codes, the answers;
- ``export``: the two encoders as SavedModels that TensorFlow or Keras alone loads.
"""
