"""DCMH: Deep Cross-Modal Hashing (Q.-Y. Jiang and W.-J. Li, CVPR 2017), under SDCH's protocol.

Image net CNN-F (imagenet-vgg-f.mat) with fc8 → r, linear; text net BoW → 8192 (ReLU) → r, linear.
Eq. 2: J = −Σ_ij (S_ij Θ_ij − log(1 + e^Θ_ij)) + γ(‖B − F‖² + ‖B − G‖²) + η(‖F1‖² + ‖G1‖²),
Θ_ij = ½ F_iᵀ G_j. One outer iteration of Algorithm 1 per Keras epoch: an image-net pass, a
text-net pass, then B = sign(γ(F + G)); queries and database are encoded by the networks.
Settings from the authors' MATLAB code (jiangqy/DCMH-CVPR2017) where the paper is silent.

Files: config.py (DCMHConfig, presets), nets.py (the two networks), losses.py (J and its terms),
model.py (F, G, B buffers, the alternating train_step), trainer.py (build / fit / preprocessing),
callbacks.py (learning-rate schedule, objective log).
Decisions, departures and their evidence: NOTES.md beside this file.
"""
from baselines.dcmh.config import DCMHConfig, preset
from baselines.dcmh.model import DCMH
from baselines.dcmh.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("dcmh", preset, build, fit, preprocessing, distributable=True,
                weights_file="MatConvNet's imagenet-vgg-f.mat (CNN-F, DCMH §3.1)")

__all__ = ["DCMH", "DCMHConfig", "METHOD", "build", "fit", "preprocessing", "preset"]
