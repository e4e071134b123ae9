"""CMHN's main table row: the database represented by the learned unified codes B.

CMHN Tables 1–2 report two rows: "CMHN", where the gallery is the whole training set and each
gallery pair is represented by its unified code b_n (both its image and its text), and
"CMHN (o)", the out-of-sample extension, where the gallery is encoded by the networks like
the queries. The shared protocol (``sdch_tf.retrieval.evaluation``) encodes every database item with the
networks, so result.json always holds CMHN (o). The unified row exists only when the training
set is the whole database (``Split.train`` equal to ``Split.database``, in order: row n of B is
database item n), i.e. ``--num-train`` = the database size, e.g. for the embedded synthetic set
with 500 queries::

    from baselines.cmhn.config import preset
    from sdch_tf.run import experiment
    from sdch_tf.registry import get_method

    cpu = preset("cpu")
    config = dataclasses.replace(cpu, score_unified_codes=True,
                                 data=dataclasses.replace(cpu.data, num_train=5500))
    experiment.run(get_method("cmhn"), config, experiment.load_data(config.data), 16, 0, "results")

and ``fit`` then writes ``unified.json`` (mAP and NDCG, both directions) beside result.json.
Queries are always encoded by the networks.
"""
from __future__ import annotations

import numpy as np

from sdch_tf.retrieval import evaluation
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, image_batches, text_batches
from sdch_tf.data.split import Split

UNIFIED_FILE = "unified.json"


def check_unified_split(split: Split) -> None:
    """Raises ValueError unless the training set is the whole database, in database order."""
    if len(split.train) != len(split.database) or not np.array_equal(split.train, split.database):
        raise ValueError(
            "score_unified_codes needs the training set to be the whole database (CMHN Tables 1–2, row 'CMHN'): "
            f"the split has {len(split.train)} training pairs and {len(split.database)} database items; "
            f"set --num-train {len(split.database)} (and no --label-fraction)"
        )


def score_unified(model, data: CrossModalData, split: Split, prep: ImagePreprocessing, top_k: int = 500,
                  batch_size: int = 256) -> dict:
    """mAP@top_k and NDCG of network-encoded queries against the unified codes B of the database.

    Returns:
        {"map_i2t", "map_t2i", "ndcg_i2t", "ndcg_t2i", "ndcg_k"}: I→T ranks the database pairs'
        B by Hamming distance to each query image's code, T→I to each query text's code.
    """
    check_unified_split(split)
    codes = np.asarray(model.codes).astype(np.int8)
    queries = {
        "query_image": np.concatenate([model.encode_image(batch, batch_size)
                                       for batch in image_batches(data, split.query, batch_size, prep)]),
        "query_text": np.concatenate([model.encode_text(batch, batch_size)
                                      for batch in text_batches(data, split.query, batch_size)]),
    }
    scored = evaluation.score({**queries, "db_image": codes, "db_text": codes}, data, split, top_k, curves=False)
    return {key: value if key == "ndcg_k" else float(value) for key, value in scored.items()}
