"""DSPAH: Deep Similarity Preserving and Attention-based Hashing (S. Chen, S. Wu, Y. Chen),
written from the paper (/work/shared/papers/DSPAH_Chen.txt; no public code exists).

    image → ResNet-34 (sdch_tf/nets/resnet.py) ───────────┐ four stage outputs each →
    text  → multi-scale pooling → ResNet (text_net.py) ───┘ cross-level attention → f, g ∈ (−1, 1)^c
    L = L_inter + L_intra-image + L_intra-text + L_q (Eqs. 5–7; FGSC similarity, Eqs. 2–4),
    minimised alternately (Algorithm 1): θ_x, then θ_y on each mini-batch; B = sign(F + G)
    after every epoch.

Files: config.py (presets), attention.py (CBAM, cross-level attention), image_net.py,
text_net.py, losses.py (Eqs. 2–6), model.py (the alternating train_step), trainer.py
(build / fit / preprocessing), batch_norm.py (BatchNorm statistics of the global batch under
``--distribute``: each replica gathers the global batch's outputs and takes the one-device step,
``sdch_tf.distribute``).

Followed as written: a ResNet-34 image backbone initialised from ImageNet (§IV.B; a
torchvision state dict saved as .npz, ``--weights``); hash representations of the
intermediate layers by GAP and 1×1 convolutions, CBAM, an adaptive attention matrix (§II.B);
the BoW average-pooled with pool sizes 1..50, resized to one length, stacked into a matrix
for a text ResNet initialised from N(0, 0.1²) (§II.B, §IV.B); FGSC S_ij = |l_i ∩ l_j| /
sqrt(|l_i|·|l_j|) for the inter, intra-image and intra-text pairs (Eqs. 2–4; the three
matrices coincide, as a pair's image and text share its labels); the MSE terms of Eq. 5 and
the quantisation loss of Eq. 6 as sums; L of Eq. 7; B = sign(F + G) (§II.A, Algorithm 1);
image step then text step (Algorithm 1); SGD at 10^-1.5, batch 128 (§IV.B); one rate for
every layer (§IV.B gives one).

Decided where the paper is silent (each beside its code):
- Cross-level attention (attention.py): CBAM (channel then spatial, r = 16, 7×7, as its
  paper) on a side branch of each of the four stage outputs — the backbone's own path stays
  the pretrained ResNet; GAP, then the 1×1 convolution (applied to the pooled vector: the same
  map, both being linear); every level gives c values; the adaptive attention matrix A
  (b, 4, c) is a softmax over the levels of a linear map of the concatenated level
  representations (zero-initialised: the plain average at the start); f = tanh(Σ_l A_l ⊙ h_l).
  So the concatenation reaches c bits as the attention's input (§I: "concatenated together as
  the input"), not by splitting c over the levels (then the weights would be positive per-bit
  scales that never change a code) nor by a final FC.
- tanh on both outputs: §II.C's "⟨*, *⟩ ∈ [−c, c]" needs entries in [−1, 1].
- Text net (text_net.py): pool size = window and stride of the average pooling (⌊d/p⌋
  values), linear resize with half-pixel centres back to d, a ResNet-18 layout (torchvision's
  smallest ResNet) on the (50, d, 1) matrix; every text kernel from N(0, 0.1²), biases 0.
- Images: torchvision's preprocessing — RGB, resize 256, crop 224 (random for training,
  centre for encoding), mean 255·(0.485, 0.456, 0.406) subtracted by the shared pipeline, and
  the division by 255·(0.229, 0.224, 0.225) as the backbone's fixed first layer (exact; no
  change to ImagePreprocessing needed, the loaded weights stay untouched).
- BatchNorm: batch statistics in training, running statistics for encoding (PyTorch's
  train()/eval()), pretrained layers included; the paper does not say it freezes them.
- Algorithm 1's sums run over j ∈ N with F and G initialised before training, as in DCMH:
  each step compares the batch's outputs with the stored outputs F and G of all N training
  items, the batch's own rows already holding its new outputs (model.py). Eq. 5 writes its
  sums to n (the batch size) — read as the batch rows i, against all N items j.
- The step objective has exactly Eq. 7's gradient in the batch's rows: the intra-modality
  sum counts twice (f_i is in its (i, j) and (j, i) terms), the inter-modality sum once
  (losses.py). Algorithm 1's printed gradients have typos and are not followed where they differ.
- F, G ~ N(0, 1), B = sign(F + G) before training, as the DCMH PyTorch code.
- Epochs: 500 in the paper preset (the DCMH PyTorch code's max_epoch; DSPAH gives none); the
  learning rate constant, as §IV.B states (``final_learning_rate`` gives that code's decay).

Departures (evidence: synthetic set, cpu preset, 16 bits, seed 0):
- Each step's objective is divided by b·N, the pairs its sums run over, as the DCMH PyTorch
  code divides its losses (the code whose SGD, rate 10^-1.5 and batch 128 §IV.B repeats).
  The relative weights of Eqs. 5–6 are unchanged. With the raw sums SGD at 10^-1.5 throws the
  outputs to saturated codes within the first steps (per-pair loss 84–113 against 41.7 at
  zero output) and nothing is learned (mAP 0.427/0.453 after an epoch, untrained 0.427/0.460).
- Data-dependent start of the heads (``output_init_std``, every preset): each level's 1×1
  convolution is rescaled on 256 training samples so that its outputs have mean 0 and std 1.
  The MSE of Eq. 5 has a stationary point at f = g = 0 (its gradient in f is a sum of the
  g_j), and the text net's N(0, 0.1²) head starts next to it (output std ≈ 0.05): without the
  rescale the loss stays at that point's value (per pair c²·mean((½ − s)²) = 41.7 at 16 bits)
  for 8 epochs, mAP 0.418/0.445; with it the loss falls from the first epoch and the cpu
  preset reaches mAP 0.689/0.676 in 25 epochs (16 bits, seed 0: results/dspah-rate-study).
- The cpu preset scales the rate to the code length: 10^-1.5·8/c at c bits
  (``rate_scaled_from_bits``; the paper preset keeps 10^-1.5 for every c). Eq. 5's
  residuals, and so its gradients, grow ∝ c; at 10^-1.5 for every c the text codes collapse
  onto one code at 32 and 64 bits and mAP falls to 0.618/0.633 (32) and 0.445/0.568 (64).
  The first scaling, 16/c, trained seed 0 only: seeds 1 and 2 collapsed at 32 and 64 bits
  (0.38–0.55; results/dspah-rate-study); 8/c trains all three seeds (results/cpu-synthetic,
  config.py). The
  stored F and G are up to an epoch old, so a network that moves fast chases stale targets:
  Adam (1e-3) and SGD at 0.1 or 0.3 oscillated in the same way at 16 bits (intra-modality
  losses rising to 1.2–3.6× their zero-output value within 6 epochs), so SGD at the paper's
  rate is kept.
"""
from sdch_tf.methods import Method

from baselines.dspah.config import preset
from baselines.dspah.trainer import build, fit, preprocessing

METHOD = Method("dspah", preset, build, fit, preprocessing, distributable=True)
