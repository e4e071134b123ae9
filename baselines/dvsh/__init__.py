"""DVSH: Deep Visual-Semantic Hashing (Y. Cao et al., KDD 2016), under SDCH's protocol.

A visual-semantic fusion network (AlexNet fc7 → h^x; an LSTM over the text's words whose second
layer is fused with the image at every step, h_t = tanh(h^x + h^y_t), averaged into a unified code
h) and two hashing networks (AlexNet → u; an LSTM → v_t per step) trained jointly on
O = L + λQ + β(L^x + L^y): a cosine max-margin loss on pairs, a bitwise max-margin loss, and the
hashing networks' squared distance to h. Codes: sign(u), sign(mean v_t). The paper's text and code
could not be read: its equations come from a reading note, every value is DEFAULT
(docs/baselines-research/dvsh.md). The datasets' texts are bags of words: a bag becomes its words
in vocabulary order (nets.BagToSequence).

Files: config.py, nets.py (the networks, bag → words), losses.py (E4–E9), model.py (the joint
train step), trainer.py (build / fit). Decisions and evidence: NOTES.md beside this file.
"""
from baselines.dvsh.config import DVSHConfig, preset
from baselines.dvsh.model import DVSH
from baselines.dvsh.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("dvsh", preset, build, fit, preprocessing, distributable=True,
                weights_file="Caffe's bvlc_alexnet.npy (AlexNet, DVSH's image network)")

__all__ = ["DVSH", "DVSHConfig", "METHOD", "build", "fit", "preprocessing", "preset"]
