"""DBRC: deep binary reconstruction (X. Li, D. Hu, F. Nie, ACM MM 2017), an unsupervised
feature-based row of SDCH Tables 2–3.

``python -m sdch_tf.train --method dbrc`` trains encoders of image CNN features and bag-of-words
texts (SDCH §4.2) into one hashing layer with the adaptive tanh tanh(α ⊙ z), whose scales α are
learnt and pushed up by a penalty on α⁻², reconstructing both modalities from it (losses.py). The
paper's method section could not be read here: NOTES.md says what follows which source and what is
this project's choice.

Files: config.py, losses.py, nets.py, model.py, trainer.py. Sources and decisions: NOTES.md.
"""
from baselines.dbrc.config import preset
from baselines.dbrc.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

# semi_supervised: DBRC reads no label, so --label-fraction leaves it every training pair.
METHOD = Method("dbrc", preset, build, fit, preprocessing, semi_supervised=True, inputs="features",
                uses_labels=False, weights_file="bvlc_alexnet.npy (the features' AlexNet, SDCH §4.2)")
