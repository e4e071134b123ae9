"""CM-NN: the cross-modal coupled siamese networks of Masci, Bronstein, Bronstein, Schmidhuber,
*Multimodal similarity-preserving hashing*, TPAMI 2014, a supervised feature-based row of SDCH
Tables 2–3.

``python -m sdch_tf.train --method cmnn`` trains an image network on CNN features and a text
network on bag-of-words texts (SDCH §4.2) whose tanh outputs are pulled together for pairs that
share a label and pushed beyond a margin otherwise (losses.py); codes are their signs. The paper's
method section could not be read here: NOTES.md says what follows which source and what is this
project's choice.

Files: config.py, losses.py, nets.py, model.py, trainer.py. Sources and decisions: NOTES.md.
"""
from baselines.cmnn.config import preset
from baselines.cmnn.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

METHOD = Method("cmnn", preset, build, fit, preprocessing, inputs="features",
                weights_file="bvlc_alexnet.npy (the features' AlexNet, SDCH §4.2)")
