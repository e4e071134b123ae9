"""SDCH: Cross-modal Hashing with Semantic Deep Embedding (Yan et al., Neurocomputing 2019).

An AlexNet image pipeline and a bag-of-words MLP give k-d features f_x, f_y, trained on the
pairwise likelihood L_f (Eq. 4); one shared linear layer fc4 maps both to Z, trained on L_h
(Eq. 7: label similarity, quantisation, bit independence, balance); L = L_f + γ L_h (Eq. 8).
Staged start: epoch 1 Θ_f only, B by ITQ, epoch 2 Θ_h only, then everything, with B = sign(Z)
after every epoch (Algorithm 1).

Files: config (presets), nets, losses, model (train_step), schedule (phases, B updates),
trainer (build, fit). Decisions and evidence: NOTES.md beside this file.
"""
from sdch_tf.registry import Method
from sdch_tf.sdch.config import SDCHConfig, preset
from sdch_tf.sdch.trainer import build, fit, preprocessing

METHOD = Method("sdch", preset, build, fit, preprocessing, distributable=True,
                weights_file="Caffe's bvlc_alexnet.npy (AlexNet, SDCH §4.2)")

__all__ = ["METHOD", "SDCHConfig", "build", "fit", "preprocessing", "preset"]
