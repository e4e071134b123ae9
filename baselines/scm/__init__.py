"""SCM: semantic correlation maximization (D. Zhang, W.-J. Li, AAAI 2014), a feature-based row of
SDCH Tables 2–3.

``python -m sdch_tf.train --method scm`` learns linear hash functions on image CNN features and
bag-of-words texts (SDCH §4.2) so that the codes' inner products fit c times the label
similarity S = 2·cos(l_i, l_j) − 1, without forming S (NOTES.md, "Equations"):

    semantic cross-covariance   C = c (2 (XᵀL̃)(YᵀL̃)ᵀ − (Xᵀ1)(Yᵀ1)ᵀ)                 losses.py
    SCM-seq (the table's row)   one generalised eigenproblem per bit on the residual  solver.py
    SCM-orth                    the top c eigenvectors of the same problem at once    solver.py
    codes                       sign((x − x̄) W), one projection per modality          model.py

Files: config.py (SCMConfig, presets), losses.py, solver.py, nets.py (the hash functions),
model.py (the hasher), trainer.py (build / fit / preprocessing). Sources and decisions: NOTES.md.
"""
from baselines.scm.config import preset
from baselines.scm.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("scm", preset, build, fit, preprocessing, inputs="features",
                weights_file="bvlc_alexnet.npy (the features' AlexNet, SDCH §4.2)")
