"""The CMHN model: two hashing networks, the unified codes B and the class projection M.

The iterative optimisation of CMHN §2 (Eq. 5), one round per epoch:

    hash function step (Eq. 8)  ``train_step``: SGD on both networks, mini-batch by mini-batch,
                                B and M fixed; records H_u, H_v of every pair it sees.
    classification step (Eq. 3) ``update_codes``: M from LibSVM on (B, Y).
    binary code step (Eq. 7)    ``update_codes``: B = sgn(Y Mᵀ + λ1 (H_u + H_v)).

``initialize_codes`` starts the alternation before the first epoch with a binary code step
from a random projection M (seeded): B = sgn(Y Mᵀ + λ1 (H_u + H_v)) with the initial networks'
outputs. (Starting from B = sgn(H_u + H_v) instead fails without pretrained features: the SVMs
of the first classification step find no label information in those codes and return M = 0,
so B stays the networks' own signs, which the network step then only reinforces.)
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from baselines.cmhn import losses
from baselines.cmhn.codes import binary_code_step
from baselines.cmhn.svm import fit_projection
from sdch_tf.training.distribute import gather, num_replicas
from sdch_tf.training.hashing_model import CrossModalHashingModel

LOG_NAMES = ("loss", "quantization", "variance")


class CMHN(CrossModalHashingModel):
    """CMHN on top of the shared two-network skeleton.

    Args:
        image_net, text_net: Keras models ending in ``bits`` tanh outputs (``nets.py``).
        bits: K. num_train: n, the training pairs (rows of H_u, H_v, B).
        labels: (n, C) training labels in {0, 1}, row i = training pair i.
        lambda1, alpha: CMHN Eq. 5 and 4 (0.2 and 0.001, §3).
        svm_c: LibSVM's C for Eq. 3 (½).
        weight_decay: MatConvNet-style L2 weight decay on every trainable variable (1e-4, §3).
        backbone_variables: the image net's VGG-F variables (conv1..fc7), trained by their own
            optimiser: at the pretrained rate (CMHN §3) when they come from imagenet-vgg-f.mat.

    Optimiser groups (``compile(optimizers=...)``): "backbone" (VGG-F conv1..fc7), "image" (the
    new layers on top of fc7) and "text".
    Buffers: ``image_outputs`` H_u, ``text_outputs`` H_v, ``codes`` B (n, K) as in the base
    class; ``projection`` M (K, C) and ``svm_bias`` (C,) of the last classification step.
    """

    def __init__(self, image_net, text_net, bits: int, num_train: int, labels, lambda1: float, alpha: float,
                 svm_c: float, weight_decay: float, *, backbone_variables, **kwargs):
        super().__init__(image_net, text_net, bits, num_train, log_names=LOG_NAMES, **kwargs)
        labels = np.asarray(labels)
        if labels.ndim != 2 or labels.shape[0] != num_train or not np.isin(labels, (0, 1)).all():
            raise ValueError(f"labels must be (num_train={num_train}, C) in {{0, 1}}, got shape {labels.shape}")
        # A plain attribute, outside Keras' tracking: constant data, not state to checkpoint.
        self.__dict__["_labels"] = labels.astype(np.int8)
        self.lambda1, self.alpha, self.svm_c, self.weight_decay = float(lambda1), float(alpha), float(svm_c), \
            float(weight_decay)
        # Ids, not the variables: Keras would track a list of variables as weights of this model.
        self._backbone_ids = frozenset(id(v) for v in backbone_variables)
        if not self._backbone_ids:
            raise ValueError("backbone_variables is empty: pass the VGG-F variables (vggf.pretrained_variables)")
        num_labels = labels.shape[1]
        self.projection = self.add_weight(shape=(self.bits, num_labels), initializer="zeros", trainable=False,
                                          name="projection")
        self.svm_bias = self.add_weight(shape=(num_labels,), initializer="zeros", trainable=False, name="svm_bias")

    @property
    def labels(self) -> np.ndarray:
        """(n, C) int8 training labels in {0, 1}."""
        return self._labels

    def variable_groups(self) -> dict[str, list]:
        image = self.image_net.trainable_variables
        return {"backbone": [v for v in image if id(v) in self._backbone_ids],
                "image": [v for v in image if id(v) not in self._backbone_ids],
                "text": self.text_net.trainable_variables}

    # ------------------------------------------------------------ hash function step
    def train_step(self, batch):
        """One SGD step of Eq. 8 on both networks (their terms are separable, so one gradient
        serves both), B and M fixed; H_u, H_v of the batch are recorded for the B step.

        Under ``--distribute`` the step works on the global batch (``sdch_tf.training.distribute``): each
        replica forwards its own rows, gathers every replica's outputs and computes the one-device
        objective (normalised by the global batch size, weight decay included), divided by the
        number of replicas since the optimisers sum the replicas' gradients.
        """
        rows = gather(batch["index"])
        codes = tf.gather(self.codes.value, rows)
        # Centre of the zero-centred codes: the training-set mean of the recorded outputs. With
        # it held constant, the gradient of Σ_batch ‖h_n − μ‖² is that of the whole training
        # set's tr(H̄ H̄ᵀ) for these samples (∂μ terms sum to zero), up to the staleness of the record.
        image_centre = tf.reduce_mean(self.image_outputs.value, axis=0)
        text_centre = tf.reduce_mean(self.text_outputs.value, axis=0)
        groups = self.variable_groups()
        variables = [v for group in groups.values() for v in group]
        with tf.GradientTape() as tape:
            image_codes = gather(self.image_net(batch["image"], training=True))
            text_codes = gather(self.text_net(batch["text"], training=True))
            terms = losses.network_loss(image_codes, text_codes, codes, image_centre, text_centre,
                                        self.lambda1, self.alpha)
            size = tf.cast(tf.shape(rows)[0], tf.float32)
            # MatConvNet's cnn_train: summed gradient / batch size, plus weight decay · w.
            objective = terms["loss"] / size + losses.weight_decay_penalty(variables, self.weight_decay)
            share = objective / num_replicas()
        self.apply_grouped_gradients(groups, tape.gradient(share, variables))
        # After the centres were read (explicitly: the update of a mirrored buffer is a cross-replica call).
        with tf.control_dependencies([image_centre, text_centre]):
            self.store(self.image_outputs, rows, image_codes)
            self.store(self.text_outputs, rows, text_codes)
        return self.report({name: value / size for name, value in terms.items()})

    # ----------------------------------------------- classification + binary code steps
    def update_codes(self, epoch: int | None = None) -> dict:
        """Eq. 3 (M by LibSVM on the current B) then Eq. 7 (B from M and the recorded H_u, H_v).

        Returns diagnostics: ``svm_accuracy``, the fraction of (pair, class) decisions
        sign(b_nᵀ m_j + bias_j) that match the labels on the codes the SVMs were fitted to,
        and ``code_changes``, the fraction of bits of B that the binary code step flipped.
        """
        codes = np.asarray(self.codes)
        projection, bias = fit_projection(codes, self.labels, self.svm_c)
        decisions = codes @ projection + bias >= 0
        accuracy = float(np.mean(decisions == (self.labels > 0)))
        new_codes = binary_code_step(self.labels, projection, np.asarray(self.image_outputs),
                                     np.asarray(self.text_outputs), self.lambda1)
        changes = float(np.mean(new_codes != codes))
        self.projection.assign(projection.astype(np.float32))
        self.svm_bias.assign(bias.astype(np.float32))
        self.codes.assign(new_codes)
        return {"svm_accuracy": accuracy, "code_changes": changes}

    def initialize_codes(self, image_outputs, text_outputs, seed: int = 0) -> dict:
        """Starts the alternation: records the initial networks' outputs H_u, H_v (n, K) of all
        training pairs and takes the binary code step (Eq. 7) with a random M ~ N(0, 1) (K, C),
        seeded; the first classification step follows the first network epoch (module docstring).

        Returns the fraction of bits of B that differ from sgn(H_u + H_v) (``code_changes``).
        """
        image_outputs = np.asarray(image_outputs, np.float32)
        text_outputs = np.asarray(text_outputs, np.float32)
        shape = (self.num_train, self.bits)
        if image_outputs.shape != shape or text_outputs.shape != shape:
            raise ValueError(f"need H_u and H_v of shape {shape}, got {image_outputs.shape} and {text_outputs.shape}")
        projection = np.random.default_rng([int(seed), 2]).standard_normal((self.bits, self.labels.shape[1]))
        codes = binary_code_step(self.labels, projection, image_outputs, text_outputs, self.lambda1)
        self.image_outputs.assign(image_outputs)
        self.text_outputs.assign(text_outputs)
        self.projection.assign(projection.astype(np.float32))
        self.svm_bias.assign(np.zeros(self.labels.shape[1], np.float32))
        self.codes.assign(codes)
        return {"code_changes": float(np.mean(codes != np.where(image_outputs + text_outputs >= 0, 1.0, -1.0)))}

    # ------------------------------------------------------------------ utilities
    def network_outputs(self, image_batches, texts, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Real-valued outputs (inference mode) of the image net over a dataset of image batches
        and of the text net over an array of texts (n, d)."""
        image = self._encoder("image")
        text = self._encoder("text")
        image_outputs = np.concatenate([np.asarray(image(batch)) for batch in image_batches], axis=0)
        texts = np.asarray(texts, np.float32)
        text_outputs = np.concatenate(
            [np.asarray(text(texts[start:start + batch_size])) for start in range(0, len(texts), batch_size)], axis=0)
        return image_outputs, text_outputs
