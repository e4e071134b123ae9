"""RDCMH's networks and its alternating training step (RDCMH §"Unified Objective Function",
§Optimization, Algorithm 1).

Image net φ(x) then W_x: CNN-F conv1–conv5 and fc6 (the "first six layers"), a new seventh
fully connected layer (ReLU) and an eighth with c linear outputs, F. Text net φ(y) then W_y:
BoW → full1 (4096, ReLU) → full2 (c, identity), G. Dropout after each hidden fully connected
layer. One iteration of Algorithm 1 (lines 5–8) on a batch of triplets:

1. W_x with W_y and B fixed: the image net on all the batch's images, Eq. 4 with G constant.
2. W_y with W_x and B fixed: the text net, Eq. 4 with F constant (the F of step 1).
3. B = sign(λ(F + G)) (Eq. 12) for the batch's queries, from the F and G just computed.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from baselines.rdcmh import losses
from baselines.rdcmh.triplets import SIMILARITY_KEYS
from sdch_tf.training.distribute import gather
from sdch_tf.training.hashing_model import CrossModalHashingModel

LOG_NAMES = ("loss", *losses.RANKING_TERMS, "quant_image", "quant_text")


class RDCMH(CrossModalHashingModel):
    """RDCMH for one code length.

    Args:
        image_net, text_net: (N, s, s, 3) → (N, c) and (N, d) → (N, c).
        bits: c. num_train: n, rows of the F, G, B buffers (positions in ``split.train``).
        lam: λ of Eq. 4. margin: added inside the ranking hinge, in bits of the relaxed Hamming
            distance (none in the paper; ``config.RDCMHConfig.margin``).

    ``train_step`` takes the batches of ``triplets.triplet_batches``. ``similarity`` (the
    ``SemanticSimilarity`` of the training set) is attached by ``trainer.build``.
    """

    def __init__(self, image_net, text_net, bits: int, num_train: int, lam: float = 1.0, margin: float = 0.0,
                 **kwargs):
        super().__init__(image_net, text_net, bits, num_train, log_names=LOG_NAMES, **kwargs)
        if lam <= 0:
            raise ValueError(f"lam (λ of Eq. 4) must be positive, got {lam}")
        self.lam, self.margin = float(lam), float(margin)

    def initialize_codes(self, image_outputs, text_outputs) -> None:
        """F, G of every training item from the initial networks, and B = sign(F + G) (Eq. 12);
        Algorithm 1 starts with no B, and Eq. 4's quantisation term needs one."""
        self.image_outputs.assign(np.asarray(image_outputs, np.float32))
        self.text_outputs.assign(np.asarray(text_outputs, np.float32))
        self.update_codes(epoch=-1)

    def _objective(self, f, g, data):
        """Ranking terms of Eq. 4 on the batch's triplets, given F (f) and G (g) of its m items;
        ``data`` holds the triplets and S entries of the same (global) batch."""
        triplets = data["triplets"]                            # (b, 1+k) positions among the m items
        f_q, f_m = tf.gather(f, triplets[:, 0]), tf.gather(f, triplets[:, 1:])
        g_q, g_m = tf.gather(g, triplets[:, 0]), tf.gather(g, triplets[:, 1:])
        return losses.ranking_terms(f_q, f_m, g_q, g_m, data["s_qm_image"], data["s_qm_text"],
                                    data["s_mm_image"], data["s_mm_text"], self.margin)

    def train_step(self, data):
        """One iteration of Algorithm 1 (module docstring) on a batch of ``triplet_batches``:
        image (m, s, s, 3), text (m, d), rows (m,), triplets (b, 1+k), the S entries (b, k), (b, P).

        Under ``--distribute`` each replica holds a slice of the items and a slice of the triplets,
        and a triplet's points may lie on other replicas: every replica forwards its own items and
        gathers F and G of the global batch (``distribute.gather``; the identity on one device),
        so Eq. 4 is the one-device sum; ``apply_gradients`` divides its gradients by the number of
        replicas, whose gradients the optimisers sum (``sdch_tf.training.distribute``).
        """
        batch = {key: gather(data[key]) for key in ("rows", "triplets", *SIMILARITY_KEYS)}  # global
        rows = batch["rows"]                                   # (m,) training positions
        queries = tf.shape(batch["triplets"])[0]               # b: the queries are the first b items
        codes = tf.gather(self.codes, rows)                    # B of every forwarded item (Eqs. 8–10)

        # W_y is not updated before step 2, so one text forward pass serves both steps.
        with tf.GradientTape() as text_tape:
            g = gather(self.text_net(data["text"], training=True))
            with text_tape.stop_recording():
                with tf.GradientTape() as image_tape:          # step 1: W_x, with G and B fixed
                    f = gather(self.image_net(data["image"], training=True))
                    terms = self._objective(f, tf.stop_gradient(g), batch)
                    quant_image = losses.quantization_loss(codes, f, self.lam)
                    image_loss = terms["xx"] + terms["xy"] + terms["yx"] + quant_image
                self.apply_gradients("image", image_tape, image_loss)
            # Step 2: W_y, with F (of step 1's forward pass) and B fixed.
            text_terms = self._objective(tf.stop_gradient(f), g, batch)
            quant_text = losses.quantization_loss(codes, g, self.lam)
            text_loss = text_terms["yy"] + text_terms["xy"] + text_terms["yx"] + quant_text
        self.apply_gradients("text", text_tape, text_loss)

        # Step 3 (Eq. 12) for the queries; F and G are recorded for them as in DCMH's buffers.
        # Every replica stores the same global rows (the buffers keep the first replica's update).
        f_q, g_q = f[:queries], g[:queries]
        self.store(self.image_outputs, rows[:queries], f_q)
        self.store(self.text_outputs, rows[:queries], g_q)
        self.store(self.codes, rows[:queries], tf.where(f_q + g_q >= 0, 1.0, -1.0))
        values = {"loss": tf.add_n(list(terms.values())) + quant_image + quant_text, **terms,
                  "quant_image": quant_image, "quant_text": quant_text}
        return self.report(values)
