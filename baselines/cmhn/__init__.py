"""CMHN: cross-modal hashing network (V. E. Liong, J. Lu, Y.-P. Tan, ICIP 2017).

``python -m sdch_tf.train --method cmhn`` trains it under the shared protocol: an image network
(VGG-F up to fc7, then FC 500 → 200 → K) and a text network (d → 500 → K), tanh on top, learned
with unified binary codes B and a class projection M by the iterative optimisation of Eq. 5:

    classification step  Eq. 3   M from C linear SVMs (LibSVM) on (B, Y)          svm.py
    binary code step     Eq. 7   B = sgn(Y Mᵀ + λ1 (H_u + H_v))                   codes.py
    hash function step   Eq. 8   SGD on λ1‖B − H‖² − λ1 α tr(H̄ H̄ᵀ), both nets    losses.py, model.py

Files: config.py (CMHNConfig, presets), nets.py, losses.py, svm.py, codes.py, model.py (the
Keras model: train_step = Eq. 8, update_codes = Eq. 3 + 7), trainer.py (build / fit /
preprocessing), unified.py (CMHN's main-table row). ``METHOD`` registers it, as distributable:
under ``--distribute`` each replica gathers the global batch's outputs and takes the one-device
step (``sdch_tf.distribute``; the classification and binary code steps run between epochs).

Followed as written: the architecture, ReLU/tanh and Xavier init of the new layers (§3); rates
1e-2 for the new layers and the text net, 1e-4 for the pretrained VGG-F layers; SGD momentum 0.9,
weight decay 1e-4; λ1 = 0.2, α = 0.001; one SVM per class by LibSVM; Eq. 7 and Eq. 8 as written
(λ1 in Eq. 7, not the 2λ1 of differentiating Eq. 6); query codes sgn(h) of the networks (Eq. 2).

Decided where the paper is silent or inconsistent:
- Eq. 3 is C independent two-class SVMs ("K independent class matrices" names the wrong count)
  with targets in {−1, +1}; linear kernel (``-t 0``), C = ½ (Eq. 3's ‖m‖² + Σξ in LibSVM's
  ½‖w‖² + CΣξ form; the paper names no C), LibSVM's other defaults. w = Σ α_i y_i b_i from the
  support vectors, negated when LibSVM's first label is −1. LibSVM always fits a bias; it is
  kept in ``svm_bias`` and, being constant in b_n, does not enter Eq. 7. LibSVM's C-SVC solver is
  deterministic (nothing to seed); the C problems run in threads. A class present in every or no
  training pair gets m_j = 0.
- Eq. 7's y_n is {0, 1}, as §2 defines Y (y_n Mᵀ = the sum of the pair's own classes' m_j, Eq. 6's
  Σ_j m_{c_n,j}); only the SVMs need signed targets. Signed labels in Eq. 7 would add to every
  code the common offset −Σ_j m_j of the absent classes: on the synthetic set the codes became so
  unbalanced that the image network collapsed onto the majority code (mAP at chance after 10
  epochs, against 0.63 / 0.64 with {0, 1}).
- The zero-centred codes of Eq. 4/8's variance term are centred on the training-set mean of the
  recorded outputs (a constant in the step): the gradient of Σ_batch ‖h_n − μ‖² is then exactly
  that of the whole set's tr(H̄ H̄ᵀ) for the batch's samples (up to the record's staleness).
- One round of the alternation per epoch: the hash function step over all mini-batches of the
  epoch (B, M fixed; H_u, H_v recorded per pair), then the classification and binary code steps.
- Start: the networks' initial outputs over the training set are recorded and the first binary
  code step uses a random M ~ N(0, 1) (K × C, seeded); the first classification step follows the
  first network epoch. Starting from B = sgn(H_u + H_v) does not work without pretrained features:
  the SVMs find no label information in such codes and return M = 0 (measured), so B stays the
  networks' own signs and the network step only reinforces them.
- Gradients as MatConvNet's cnn_train computes them (CMHN §3 uses MatConvNet): the summed Eq. 8
  gradient divided by the batch size, plus weight decay · w on every weight and bias (an L2 term in
  the loss, through the momentum: Caffe/MatConvNet semantics; Keras' ``weight_decay`` is decoupled,
  so it is not used). Keras' SGD momentum update equals MatConvNet's at a constant rate.
- Xavier is Glorot & Bengio's uniform ±√(6 / (fan_in + fan_out)) (ref. [29]); biases start at 0.
- Batch size and epochs are not given: 128 and 500 as in DCMH's released MatConvNet code (CMHN
  reports the deep baselines "with the same experimental setup as in their papers").
- Without pretrained weights (``--weights`` unset) VGG-F conv1..fc7 train at the new layers' rate:
  the 1e-4 of §3 protects pretrained features, of which there are none.
- Evaluation is the shared protocol (DCMH split, mAP@500, ``sdch_tf.evaluation``), not CMHN's (100
  queries per class on IAPR TC-12, 1% of NUS-WIDE, mAP over the Hamming ranking). result.json holds
  CMHN (o), the paper's out-of-sample row: the database encoded by the networks. The paper's main
  row ("CMHN": the database represented by its unified codes B, the training set being the whole
  gallery) is scored into unified.json when ``score_unified_codes`` is set and ``--num-train``
  equals the database size (unified.py). NDCG (CMHN Fig. 2) is ``sdch_tf.metrics.ndcg_at_k``.
- Bits 16/32/64 as SDCH's tables (CMHN also reports 128: ``--bits 128``).

Departures, only in the ``cpu`` and ``smoke`` presets (a randomly initialised, scaled-down VGG-F on
the synthetic set; no pretrained weights exist on this machine):
- ``input_scale`` = 1/57.6 with VGG-F's conv1 at plain He init: with SGD, a random conv1 fed
  0–255-scale pixels (its init scaled down by the pixel std) explodes in the first step.
- ``output_std`` = 1: both top layers rescaled on 256 training pairs so that their pre-tanh outputs
  start centred with std 1 (``sdch_tf.nets.scaling``); without it mAP 0.59 / 0.53 after 10 epochs,
  with it 0.63 / 0.64.
- ``lr_new`` = 1e-3: at 1e-2 the from-scratch image head saturates its tanh within one epoch and
  maps every image to one code.
- SDCH's cpu scaling: 83×83 crops of 94×94, narrow convolutions and fc6/fc7, no dropout, 2,000
  training pairs, batch 64, 25 epochs.
"""
from baselines.cmhn.config import preset
from baselines.cmhn.trainer import build, fit, preprocessing
from sdch_tf.methods import Method

METHOD = Method("cmhn", preset, build, fit, preprocessing, distributable=True)
