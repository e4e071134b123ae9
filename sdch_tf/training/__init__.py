"""What every method's ``build`` and ``fit`` use: resumable ``keras.Model.fit`` with its
bookkeeping callbacks (divergence stop, epoch log, checkpoint), checkpoints, the two-network
model base, optimisers, ITQ, multi-device training and mixed precision.

The resumable fit is re-exported here (``training.fit_resumable``, ``training.claim``).
"""
from sdch_tf.training.fit import (
    CHECKPOINT_FILE,
    EPOCH_LOG_FILE,
    IDENTITY_FILE,
    claim,
    fingerprint,
    fit_resumable,
    read_identity,
)

__all__ = ["CHECKPOINT_FILE", "EPOCH_LOG_FILE", "IDENTITY_FILE", "claim", "fingerprint", "fit_resumable",
           "read_identity"]
