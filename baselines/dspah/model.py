"""The DSPAH model: image and text networks, the F/G/B buffers, and the alternating step (§III).

One ``train_step`` is one iteration of Algorithm 1 on a mini-batch of pairs: update θ_x
(image network) with G fixed, then θ_y (text network) with F fixed — F already holding the
batch's new image outputs. B = sign(F + G) after every epoch (``update_codes``, the base
class's default; Algorithm 1's B = sign(β(F + G)) with β > 0 is the same).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from baselines.dspah import losses
from sdch_tf.training.distribute import gather
from sdch_tf.training.hashing_model import CrossModalHashingModel

HEAD = "cross_level_attention"  # the layer name of both networks' attention head
LOG_NAMES = ("loss", "loss_image", "loss_text", "inter", "intra_image", "intra_text", "quantization")


class DSPAH(CrossModalHashingModel):
    """DSPAH for one code length.

    Args:
        image_net: preprocessed images (b, s, s, 3) → f (b, c) in (−1, 1).
        text_net: bag-of-words (b, d) → g (b, c) in (−1, 1).
        bits: c.
        train_labels: (N, C) labels of the training items, in ``split.train`` order (the j ≤ N
            of Algorithm 1's sums).
        normalize: divide each step's objective by b·N, the number of (batch, training item)
            pairs (as the DCMH PyTorch code DSPAH's optimiser settings come from); False: the
            sums of Eqs. 5–6.

    Logged per step (means over the epoch): ``loss_image`` and ``loss_text``, the two step
    objectives (``losses.modality_objective``), ``loss`` their sum; ``inter`` (image step),
    ``intra_image``, ``intra_text`` per pair and ``quantization`` (both modalities) per
    item, so that their sizes compare across batch and training-set sizes.
    """

    def __init__(self, image_net, text_net, bits: int, train_labels, normalize: bool = True, **kwargs):
        train_labels = np.asarray(train_labels, np.float32)
        if train_labels.ndim != 2 or len(train_labels) == 0:
            raise ValueError(f"train_labels must be (N, C) with N > 0, got shape {train_labels.shape}")
        super().__init__(image_net, text_net, bits, len(train_labels), log_names=LOG_NAMES, **kwargs)
        self.normalize = bool(normalize)
        self.train_labels = self.add_weight(shape=train_labels.shape, initializer="zeros", trainable=False,
                                            name="train_labels")
        self.train_labels.assign(train_labels)

    def initialize_buffers(self, seed: int) -> None:
        """F, G ~ N(0, 1) and B = sign(F + G) before training (Algorithm 1, line 1: "initialize
        hash representations of each modality: F and G"; drawn as the DCMH code does)."""
        rng = np.random.default_rng([int(seed), 2])
        f = rng.standard_normal((self.num_train, self.bits)).astype(np.float32)
        g = rng.standard_normal((self.num_train, self.bits)).astype(np.float32)
        self.image_outputs.assign(f)
        self.text_outputs.assign(g)
        self.codes.assign(np.where(f + g >= 0, 1.0, -1.0).astype(np.float32))

    def initialize_output_scale(self, images, texts, target_std: float) -> None:
        """Rescale both networks' per-level 1×1 convolutions on a batch of training samples
        (``CrossLevelAttention.rescale_levels``; why: baselines/dspah/NOTES.md).

        The stage maps are computed in training mode (batch statistics, as in training), which
        also moves the BN running statistics one step (momentum 0.9) towards this batch's.
        images: (b, s, s, 3) preprocessed; texts: (b, d) bag-of-words."""
        for net, inputs in ((self.image_net, images), (self.text_net, texts)):
            head = net.get_layer(HEAD)
            maps = keras.Model(net.input, head.input)(inputs, training=True)
            head.rescale_levels(maps, target_std)

    def _modality_step(self, group, net, inputs, rows, own, other, similarity, codes):
        """One network's update on the (global) batch: forward, then descend its objective.

        Args:
            rows: (b,) the batch's rows of the training set. inputs: this replica's part of them.
            own, other: (N, c) the stored outputs of this network and of the other one (tensors).
            similarity: (b, N) FGSC of the batch against the training set. codes: (b, c) its rows of B.
        Returns:
            (terms of ``losses.modality_objective`` with ``outputs`` (b, c) added, ``own`` with the
            batch's rows replaced by those outputs).
        """
        normalizer = tf.cast(tf.shape(rows)[0] * self.num_train, tf.float32) if self.normalize else 1.0
        with tf.GradientTape() as tape:
            outputs = gather(net(inputs, training=True))
            # DCMH's F_buffer[ind] = cur_f before the loss: the batch's own rows of the stored
            # outputs are its current outputs (as constants) in the intra-modality sum.
            own = tf.tensor_scatter_nd_update(own, rows[:, None], tf.stop_gradient(outputs))
            terms = losses.modality_objective(outputs, own, other, similarity, codes, self.bits, normalizer)
        # The global batch's objective; apply_gradients divides by the number of replicas.
        self.apply_gradients(group, tape, terms["objective"])
        return {**terms, "outputs": outputs}, own

    def train_step(self, data):
        """Algorithm 1, lines 3–4, on one mini-batch of pairs {image, text, label, index}.

        Under ``--distribute`` every replica forwards its own part of the batch, gathers the
        outputs of the global batch and takes the one-device step on it (``sdch_tf.training.distribute``):
        Eq. 5 pairs each batch item with every training item, so the objective is the global
        batch's, divided by the number of replicas because the optimisers sum their gradients.
        """
        rows = gather(data["index"])
        similarity = losses.fgsc_similarity(gather(data["label"]), self.train_labels)  # (b, N), Eqs. 2–4
        codes = tf.gather(self.codes, rows)
        stored_f = tf.convert_to_tensor(self.image_outputs)
        stored_g = tf.convert_to_tensor(self.text_outputs)
        image, new_f = self._modality_step("image", self.image_net, data["image"], rows, stored_f, stored_g,
                                           similarity, codes)
        # θ_y with F fixed, F holding the batch's new image outputs.
        text, _ = self._modality_step("text", self.text_net, data["text"], rows, stored_g, new_f, similarity, codes)
        # Written after both reads (explicitly: the update of a mirrored buffer is a cross-replica call).
        with tf.control_dependencies([stored_f, stored_g]):
            self.store(self.image_outputs, rows, image["outputs"])
            self.store(self.text_outputs, rows, text["outputs"])
        pairs = tf.cast(tf.shape(rows)[0] * self.num_train, tf.float32)
        items = tf.cast(tf.shape(rows)[0], tf.float32)
        return self.report({
            "loss": image["objective"] + text["objective"],
            "loss_image": image["objective"],
            "loss_text": text["objective"],
            "inter": image["inter"] / pairs,
            "intra_image": image["intra"] / pairs,
            "intra_text": text["intra"] / pairs,
            "quantization": (image["quantization"] + text["quantization"]) / (2.0 * items),
        })
