"""The deep cross-modal hashing baselines of SDCH's Tables 2–3, written from their papers.

One subpackage per method (``dcmh``, ``cmhn``, ``dspah``, ``rdcmh``); each exposes ``METHOD``
(``sdch_tf.registry.Method``) and goes through SDCH's data pipeline, encoder interface and
evaluator, so that every table cell is computed like for like.
"""
