"""RDCMH: Ranking-based Deep Cross-modal Hashing (X. Liu, G. Yu, C. Domeniconi, J. Wang, Y. Ren,
M. Guo, AAAI 2019), written from the paper (no public code exists).

    python -m sdch_tf.train --method rdcmh [--preset paper|cpu|smoke] [--label-fraction 0.3]

Semi-supervised similarity (Eq. 1: label and feature cosines), triplets of 5-bin ranking lists;
Eq. 4: L = Σ (1 − s_ij)[δdH]_+ over the xx, yy, xy, yx terms + λ/2 (‖B − F‖² + ‖B − G‖²), with a
margin c/2 in the hinge (a departure); each iteration (Algorithm 1): image step, text step,
B = sign(λ(F + G)) (Eq. 12). Under ``--label-fraction`` only the kept labels are used.

Files: similarity.py (Eq. 1 and S^xy), triplets.py (binned ranking lists, triplet batches),
losses.py (Eq. 4's terms), nets.py (CNN-F + fc7/fc8, text MLP), model.py (one iteration of Algorithm 1),
trainer.py (build / fit), config.py (presets).
Decisions, departures and their evidence: NOTES.md beside this file.
"""
from baselines.rdcmh.config import preset
from baselines.rdcmh.trainer import build, check, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("rdcmh", preset, build, fit, preprocessing, semi_supervised=True, distributable=True,
                check=check, weights_file="MatConvNet's imagenet-vgg-f.mat (CNN-F, RDCMH §Architecture)")
