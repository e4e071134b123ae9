"""DCMH: Deep Cross-Modal Hashing (Q.-Y. Jiang and W.-J. Li, CVPR 2017), under SDCH's protocol.

No paper text is in ../shared/papers; the facts come from the paper as summarised in the
issue, REPRODUCTION.md and the authors' code (jiangqy/DCMH-CVPR2017: the MATLAB release
DCMH_matlab/DCMH_release — DCMH_demo.m, process_DCMH.m, update_net.m, net_structure_img.m,
net_structure_txt.m — and its TensorFlow version DCMH_tensorflow/DCMH_demo.py).

Method (followed as written):
- Image net: CNN-F (imagenet-vgg-f.mat, ``sdch_tf.nets.vggf``) with fc8 replaced by an
  r-unit linear layer; text net: bag-of-words → 8192 (ReLU) → r, linear.
- Objective (Eq. 2): J = −Σ_ij (S_ij Θ_ij − log(1 + e^Θ_ij)) + γ(‖B − F‖² + ‖B − G‖²)
  + η(‖F1‖² + ‖G1‖²), Θ_ij = ½ F_iᵀ G_j, S_ij = 1 iff image i and text j share a label,
  γ = η = 1 (``losses``).
- Alternation (Algorithm 1): per outer iteration, a pass of image-net steps (F fixed
  except the batch's rows, G and B fixed), a pass of text-net steps, then B = sign(γ(F + G))
  from the F and G buffers. One Keras epoch is one outer iteration (``model``,
  ``trainer.epoch_batches``).
- The image step of a batch uses its F rows against ALL of G (b × n Θ and S) and ‖F1‖² with
  F the whole buffer, the batch's rows replaced by the current outputs (process_DCMH.m:
  F(:, index) = output; F1 = F·1); the text step mirrors it. The buffers store the outputs
  of the step's forward pass.
- Unified B for the training items only; queries and database are encoded by the networks
  (sign of their outputs).

Settled from the official code (the issue leaves them open):
- 500 outer iterations (DCMH_demo.m maxIter); batch 128; learning rate per iteration
  logspace(−1.5, −3, 500), the same for both nets (lr_img = lr_txt).
- Optimiser: plain gradient descent on dJ/dw / (batch_size · n) with weight decay 5e-4 on
  every weight and bias (update_net.m): Keras SGD(weight_decay=5e-4) on J_batch / (128 · n).
- F = G = 0 at the start, so the first iteration's B = e_sign(0) = 0 (the code's e_sign maps
  0 to 0); after that B = sign(F + G) with sign(0) = +1 (REPRODUCTION.md §1; ties have
  probability ~0 once F, G are real-valued outputs).
- New layers (fc8, text fc1 and fc3): weights and biases 0.01·randn (net_structure_*.m).
- No dropout: net_structure_img.m keeps layers 1–19 of the deploy imagenet-vgg-f.mat, which
  has none (VGGFConfig(dropout=0.0)).
- Texts are centred per dimension before the text net (DCMH_demo.m: Y = normZeroMean(YAll)).
- Input: the 224×224 images minus the file's mean; no crop, no flip (process_DCMH.m).
- The code logs J(F, G, B) after every iteration (calc_loss); so do we ("objective",
  "J_logloss", "J_quantization", "J_balance" in each epoch record).
- ``--distribute mirrored|multiworker``: each replica runs the nets on its slice of a batch
  and every step gathers the global batch (``model``, ``sdch_tf.distribute``), so the update
  is the one-device update (tests/baselines/test_dcmh_distribute.py).

Departures (with the reason):
- Image-net pass first, then text (paper Algorithm 1 and the TensorFlow code); the MATLAB
  release runs the text pass first. Either way each pass sees the other modality's latest buffer.
- A pass visits every training sample once in a random order (the shared pipeline); the code
  draws each of its ⌈n/128⌉ batches by a fresh randperm, i.e. samples with replacement
  across batches. Same number of steps and expected visits per sample.
- The text mean for centring is the training set's, not the whole dataset's (the code's
  normZeroMean(YAll) includes query texts; we keep queries unseen).
- Image mean: the pipeline subtracts a per-channel mean; the code subtracts the file's full
  224×224 average image. We use the channel means of that image (``read_vggf_mean``).
- Random-init image net (no imagenet-vgg-f.mat on this machine), cpu and smoke presets only:
  (1) conv1 sees the pixels divided by their std (``VGGFConfig.input_scale``; the same
  functions, but conv1's relative gradient is no longer ~3,300× the other layers': with raw
  pixels plain SGD diverged within 3 steps at the code's rate); (2) fc8 and the text fc3 are
  rescaled on 256 training samples so that both outputs start centred with std
  ``output_std`` = 0.3 (``sdch_tf.nets.scaling.rescale_output``; the code's 0.01·randn on a
  random CNN-F gives no usable starting point); (3) η = 0.01 instead of 1 (a hyper-parameter
  of DCMH, 1 in the code for its datasets and pretrained net; with η = 1 the outputs of these
  random nets stay collapsed at 0 and mAP at chance); (4) 30 iterations, the code's SGD and logspace(−1.5, −3) schedule compressed into
  them; smaller CNN-F (83×83 crops of 94×94, pool5 1×1, conv 32/64/96/96/64, fc 512/512),
  text hidden 1024, 2,000 training pairs. Evidence in config.py. Adam (the SDCH choice) was
  tried and rejected: it made the bit-balance term oscillate (the outputs of all images drift
  together while F1 sums stale buffer rows), J_balance reaching 1e9 at 1e-3, 1e-4 and 3e-5.
  The ``paper`` preset keeps everything as the code has it and expects the weights file.
- Loss of the last partial batch of a pass is normalised by the configured batch size
  (update_net.m divides by batch_size · n; the code's batches are always full).
"""
from baselines.dcmh.config import DCMHConfig, preset
from baselines.dcmh.model import DCMH
from baselines.dcmh.trainer import build, fit, preprocessing
from sdch_tf.methods import Method

METHOD = Method("dcmh", preset, build, fit, preprocessing, distributable=True)

__all__ = ["DCMH", "DCMHConfig", "METHOD", "build", "fit", "preprocessing", "preset"]
