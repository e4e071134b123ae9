"""Retrieval evaluation shared by every method: exact metrics on ±1 codes (``metrics``) and the
evaluator that encodes a split and scores it (``evaluation``)."""
