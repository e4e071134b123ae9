"""CMHN: cross-modal hashing network (V. E. Liong, J. Lu, Y.-P. Tan, ICIP 2017).

``python -m sdch_tf.train --method cmhn`` trains it under the shared protocol: an image network
(VGG-F up to fc7, then FC 500 → 200 → K) and a text network (d → 500 → K), tanh on top, learned
with unified binary codes B and a class projection M by the iterative optimisation of Eq. 5:

    classification step  Eq. 3   M from C linear SVMs (LibSVM) on (B, Y)          svm.py
    binary code step     Eq. 7   B = sgn(Y Mᵀ + λ1 (H_u + H_v))                   codes.py
    hash function step   Eq. 8   SGD on λ1‖B − H‖² − λ1 α tr(H̄ H̄ᵀ), both nets    losses.py, model.py

Files: config.py (CMHNConfig, presets), nets.py, losses.py, svm.py, codes.py, model.py (the
Keras model: train_step = Eq. 8, update_codes = Eq. 3 + 7), trainer.py (build / fit /
preprocessing), unified.py (CMHN's main-table row). Decisions, departures and their evidence:
NOTES.md beside this file.
"""
from baselines.cmhn.config import preset
from baselines.cmhn.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("cmhn", preset, build, fit, preprocessing, distributable=True,
                weights_file="MatConvNet's imagenet-vgg-f.mat (VGG-F, CMHN §3)")
