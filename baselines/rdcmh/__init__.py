"""RDCMH: Ranking-based Deep Cross-modal Hashing (X. Liu, G. Yu, C. Domeniconi, J. Wang, Y. Ren,
M. Guo, AAAI 2019), written from the paper (no public code exists; REPRODUCTION.md).

    python -m sdch_tf.train --method rdcmh [--preset paper|cpu|smoke] [--label-fraction 0.3]

Files: ``similarity`` (Eq. 1 and S^xy), ``triplets`` (binned ranking lists, triplet batches),
``losses`` (Eq. 4's terms), ``model`` (networks, one iteration of Algorithm 1), ``trainer``
(build / fit), ``config`` (presets). The method is semi-supervised (``METHOD.semi_supervised``):
under ``--label-fraction`` it trains on every training item and uses the labels of the kept
fraction only, through Eq. 1 (RDCMH Table 2 keeps 30%).

Followed as written: image net = CNN-F's first six layers (conv1–conv5, fc6) + a seventh and an
eighth fully connected layer (c linear outputs); text net = BoW → full1 4096 ReLU → full2 c,
identity (§Deep Feature Representation); dropout 0.5 on the fully connected layers, batch 128,
λ = 1, 5 bins, three points from three different bins per triplet (§Experiment); Eq. 1 with
cosine similarities, S^xy = S^yx = (S^xx + S^yy)/2; Eq. 4's four weighted ranking terms with the
cross terms exactly as Eq. 5 prints them (an image–image distance against a text–text one,
which Eqs. 9–10 confirm) and λ/2 (‖B − F‖² + ‖B − G‖²); dH = (c − aᵀb)/2 (§Optimization); one
iteration = image step (W_x; W_y, B fixed), text step (W_y; W_x, B fixed), B = sign(λ(F + G))
(Eq. 12, Algorithm 1 lines 5–8); sums, not means.

Decided where the paper is silent (each also beside its value in the code):
- The seventh layer's width is not given: 4096, CNN-F's fc7 width (``VGGFConfig.fc_units[-1]``);
  it is new, not CNN-F's fc7 ("the first six layers are the same as those in CNN-F"). Dropout
  follows fc6, fc7 and full1; none on the output layers.
- s1 of images: cosine of the backbone's fc7 activations, computed once before training with
  the loaded ``imagenet-vgg-f.mat``. Without weights (this machine, the synthetic set) it is the
  fc7 of the same, randomly initialised (seeded) CNN-F: the paper's procedure with what is
  available, no hand-made substitute. Such features are nearly collinear (cpu preset, synthetic
  set: cosines 0.87–0.995 over all training pairs, median 0.96), so S^xx is then driven by the
  labels, and for unlabelled pairs it is nearly uninformative: that is what the paper's measure
  gives without a pretrained net.
- Ranking lists: of a query q, all candidates by S^xy[q, ·] descending, ties by position, q
  left out; "5 bins" = equal counts of consecutive ranks; three distinct bins drawn uniformly
  and one point uniformly in each; every training item is the query of one triplet per epoch.
  ``triplet_scope``: "train" ranks the whole training set, as the paper's {r_j}_{j=1}^n
  (``paper``); "batch" ranks the other queries of the mini-batch (``cpu``, ``smoke``). A random
  batch's rank quantiles estimate the full list's, so both draw triplets from the same bins; a
  "batch" iteration forwards each item once instead of four times (the points are queries of
  the batch), which the cpu preset needs (4× the cost for the same number of iterations).
- Pairs of a triplet's three points: all three, each term oriented by its own list (S^xx for
  xx, S^yy for yy, S^xy for the cross terms: the paper's three ranking lists r^x, r^y, r^xy),
  none where its similarities to q tie (Eq. 3: s_qi > s_qj). Weights 1 − s_ij as in Eqs. 3–4.
- The Hamming distance is relaxed on the real outputs, dH = (c − FᵀF')/2, differentiated as
  it stands. Eqs. 8–10 write the partner's sign h(·) in the gradient (and Eq. 8 has the sign of
  its first bracket reversed); the two agree once F ≈ B, which the quantisation term enforces.
- The quantisation term covers every item a batch forwards (Eqs. 8–10 give λ(F − B) for q, i
  and j alike); F and G are recorded, and B updated, for the batch's queries.
- The text step uses F from the image step's forward pass, i.e. before W_x's update, instead
  of a second image forward pass (DCMH's F buffer is likewise one step old).
- B before the first iteration: B = sign(F + G) of the initial networks over the training set
  (Eq. 12 at t = 0; DCMH draws a random B), so the quantisation term has a target from step one.
- "500 iterations" (§Experiment) with one iteration per mini-batch (Algorithm 1): 7 epochs of
  10,000 (MIRFlickr, IAPR) or 10,500 (NUS-WIDE) training items at batch 128 (≥ 500 iterations).
- Mini-batches: ⌈n / 128⌉ per epoch of near-equal size (≤ 128), so no batch is too small to
  fill the bins.
- Mean subtracted: ``imagenet-vgg-f.mat``'s own (``read_vggf_mean``) when weights are given.

Departures (needed to train at all; measured on the synthetic set, cpu preset, 16 bits):
- Margin. Eqs. 2–5 put no margin in [δdH]_+: every code equal is then a minimum of Eq. 4 (all
  distances equal, B = F = G), and training goes there: with margin 0 the codes collapsed
  (Adam 1e-3, 20 epochs: 43% of relevant pairs at Hamming distance 0, mAP 0.426/0.434 I→T/T→I,
  chance 0.42). A
  margin of half the code length, [c/2 + δdH]_+, is used in every preset (``margin`` = 0.5 of
  c; 0.25 gave 0.565/0.559 where 0.5 gave 0.603/0.604 with Adam 1e-3, 20 epochs).
- Output scale. The new last layers (img_fc8, full2) are rescaled on 256 training items so that
  F and G start centred with unit std per bit, the scale of B (``data_init``; the SDCH lesson:
  a random image net's outputs start orders of magnitude off the text net's).
- Optimiser. §Optimization says SGD, with no rate. Plain SGD reached NaN within 6 iterations at
  every rate from 1e-4 down to 1e-7 (at init conv1's gradient is 1.7e6 times its weights in
  norm, the other layers' 60–700 times); Adam at 3e-4 for both nets in every preset, chosen on
  the cpu preset (``config.RDCMHConfig.optimizer``). Untested at the paper's scale (no GPU, no
  imagenet-vgg-f.mat here).
- The cpu preset ranks within the mini-batch (``triplet_scope`` "batch", above) and the paper
  preset within the training set; both run ≥ 500 iterations (7 and 32 epochs). Like SDCH's cpu
  preset it trains a narrower CNN-F from scratch on 83×83 crops, without dropout.

Multi-device (``--distribute mirrored|multiworker``): every replica forwards its slice of a
batch's items and gathers F and G of the whole batch, since a triplet's points may lie on other
replicas (``model.RDCMH.train_step``); the update is the one-device update (dropout aside: a
replica's mask is not a slice of the one-device mask).

Not reproduced here: dropout's random state is not in the shared checkpoint, so a run with
dropout that is interrupted and resumed continues with other dropout masks than an
uninterrupted one (runs without dropout, like the cpu preset, resume exactly).
"""
from baselines.rdcmh.config import preset
from baselines.rdcmh.trainer import build, check, fit, preprocessing
from sdch_tf.methods import Method

METHOD = Method("rdcmh", preset, build, fit, preprocessing, semi_supervised=True, distributable=True, check=check)
