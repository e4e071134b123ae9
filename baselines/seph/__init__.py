"""SePH: semantics-preserving hashing (Z. Lin, G. Ding, M. Hu, J. Wang, CVPR 2015), a
feature-based row of SDCH Tables 2–3.

``python -m sdch_tf.train --method seph`` learns, on image CNN features and bag-of-words texts
(SDCH §4.2), in two steps (NOTES.md, "Equations"; the authors' SePH.m and minKLD.m):

    codes           H minimising KL(P‖Q) + α'‖|H| − 1‖², P from label cosines,       codes.py
                    Q ∝ (1 + ¼‖h_i − h_j‖²)⁻¹, by t-SNE's gradient descent; B = sign(H)
    hash functions  per view and bit, kernel logistic regression to B on an RBF      kernels.py
                    kernel over 500 k-means centres; codes sign(k(x) W)               nets.py

Files: config.py, losses.py (P, Q, KL and its gradient in row blocks; the logistic loss),
codes.py, kernels.py, nets.py, model.py, trainer.py. Sources and decisions: NOTES.md.
"""
from baselines.seph.config import preset
from baselines.seph.trainer import build, check, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("seph", preset, build, fit, preprocessing, check=check, inputs="features",
                weights_file="bvlc_alexnet.npy (the features' AlexNet, SDCH §4.2)")
