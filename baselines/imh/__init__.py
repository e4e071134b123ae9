"""IMH: inter-media hashing (J. Song, Y. Yang, Y. Yang, Z. Huang, H. T. Shen, SIGMOD 2013), an
unsupervised feature-based row of SDCH Tables 2–3.

``python -m sdch_tf.train --method imh`` learns linear hash functions on image CNN features and
bag-of-words texts (SDCH §4.2) without labels (NOTES.md, "Equations"; the authors'
crossMediaTraining.m): relaxed codes Y that are smooth on each medium's kNN graph (intra-media),
equal for paired items (inter-media) and reachable by ridge regressions W — one eigenproblem —
then codes sign((x − x̄) W − median).

Files: config.py, losses.py (Laplacians, ridge residual, the objective), solver.py, nets.py,
model.py, trainer.py. Sources and decisions: NOTES.md.
"""
from baselines.imh.config import preset
from baselines.imh.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

# semi_supervised: IMH reads no label, so --label-fraction leaves it every training pair.
METHOD = Method("imh", preset, build, fit, preprocessing, semi_supervised=True, inputs="features", uses_labels=False,
                weights_file="bvlc_alexnet.npy (the features' AlexNet, SDCH §4.2)")
