"""Where results worth keeping between runs live: $SDCH_TF_CACHE, else ~/.cache/sdch_tf.

Each kind has its own folder: ``features`` (image CNN features of a dataset, sdch_tf.run.method_data),
``stages`` (a method's stage that does not depend on the code length, e.g. CorrAE's RBM stacks).
A cached file is named by a digest of everything it depends on, so a stale file is never read.
"""
from __future__ import annotations

import os

CACHE_ENV = "SDCH_TF_CACHE"


def cache_dir(kind: str) -> str:
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "sdch_tf")
    return os.path.join(root, kind)
