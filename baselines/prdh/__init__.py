"""PRDH: Pairwise Relationship Guided Deep Hashing (E. Yang et al., AAAI 2017), under SDCH's protocol.

Image net CNN-F with fc8 → r, linear; text net BoW → 3 fully connected layers → r, linear. The
objective J = J1 + J2 + J3 + λJ4 + γR: inter-modal (image–text) and intra-modal (image–image,
text–text) pairwise log-likelihoods with Θ = ½ inner product, DeCov decorrelation of each batch's
outputs, and DCMH's quantisation + balance; DCMH's alternation (image pass, text pass,
B = sign(F + G)). The paper's text could not be read: its equations come from a reading note,
everything else is DEFAULT or from DCMH's code (docs/baselines-research/prdh.md).

Files: config.py (PRDHConfig, presets, λ's grid), nets.py, losses.py (J's batch part), model.py
(the alternating train steps), trainer.py (build / fit, λ on held-out pairs).
Decisions, departures and their evidence: NOTES.md beside this file.
"""
from baselines.prdh.config import PRDHConfig, preset
from baselines.prdh.model import PRDH
from baselines.prdh.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("prdh", preset, build, fit, preprocessing, distributable=True,
                weights_file="MatConvNet's imagenet-vgg-f.mat (CNN-F, PRDH's VGG-F)")

__all__ = ["METHOD", "PRDH", "PRDHConfig", "build", "fit", "preprocessing", "preset"]
