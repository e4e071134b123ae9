"""DSPAH: Deep Similarity Preserving and Attention-based Hashing (S. Chen, S. Wu, Y. Chen),
written from the paper (no public code exists).

    image → ResNet-34 (sdch_tf/nets/resnet.py) ───────────┐ four stage outputs each →
    text  → multi-scale pooling → ResNet (nets.py) ───┘ cross-level attention → f, g ∈ (−1, 1)^c
    L = L_inter + L_intra-image + L_intra-text + L_q (Eqs. 5–7; FGSC similarity, Eqs. 2–4),
    minimised alternately (Algorithm 1): θ_x, then θ_y on each mini-batch; B = sign(F + G)
    after every epoch.

Files: config.py (presets), attention.py (CBAM, cross-level attention), nets.py (image and text
networks), losses.py (Eqs. 2–6), model.py (the alternating train_step), trainer.py
(build / fit / preprocessing), batch_norm.py (BatchNorm statistics of the global batch under
``--distribute``). Decisions, departures and their evidence: NOTES.md beside this file.
"""
from sdch_tf.registry import Method

from baselines.dspah.config import preset
from baselines.dspah.trainer import build, fit, preprocessing

METHOD = Method("dspah", preset, build, fit, preprocessing, distributable=True,
                weights_file="a torchvision ResNet-34 state dict saved as .npz (DSPAH §IV.B)")
