"""CorrAE: the correspondence autoencoder (F. Feng, X. Wang, R. Li, ACM MM 2014), an unsupervised
feature-based row of SDCH Tables 2–3.

``python -m sdch_tf.train --method corrae`` runs the authors' pipeline on image CNN features and
bag-of-words texts (SDCH §4.2): two-layer RBM stacks per modality trained by contrastive
divergence and frozen (rbm.py), then two autoencoders on their top representations whose code
layers are pulled together (Corr-AE: α·correlation + (1 − α)·reconstruction, losses.py), one
logistic code unit per bit thresholded at ½ (NOTES.md, "Codes").

Files: config.py, rbm.py, losses.py, optimizer.py (deepnet's SGD), nets.py, model.py,
trainer.py. Sources and decisions: NOTES.md.
"""
from baselines.corrae.config import preset
from baselines.corrae.trainer import build, fit, preprocessing
from sdch_tf.registry import Method

# semi_supervised: CorrAE reads no label, so --label-fraction leaves it every training pair.
METHOD = Method("corrae", preset, build, fit, preprocessing, semi_supervised=True, inputs="features",
                uses_labels=False, weights_file="bvlc_alexnet.npy (the features' AlexNet, SDCH §4.2)")
