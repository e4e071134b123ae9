"""The SDCH model: two feature pipelines, the shared hash layer fc4, and its training step.

SDCH §3 (Fig. 2, Algorithm 1). Θ_f = the image and text pipelines up to img-fc3/txt-fc3;
Θ_h = fc4, shared by both modalities; Z = fc4(f); B = sign(Z) (Eq. 10).

The per-sample state of Algorithm 1 lives in two non-trainable buffers of shape
(2·n_train, r), rows [0, n) for the training images and [n, 2n) for their texts:
``codes`` is B, and ``z_record`` holds the Z each sample had the last time it was in a batch.
After every epoch B = sign(Z) of a forward pass over the training set with the parameters fixed
(SDCH §3.3; ``training_set_outputs``), or, for comparison only, of ``z_record``
(docs/reproduction.md §1). The staged schedule (``phase``) is set by ``sdch.schedule.StagedSchedule``.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sdch_tf.sdch import losses
from sdch_tf.training.distribute import gather, num_replicas, step_logs, store_rows
from sdch_tf.training.hashing_model import TwoNetworkModel
from sdch_tf.training.itq import centre_per_group, itq
from sdch_tf.nets.alexnet import linear_initializer
from sdch_tf.nets.scaling import rescale_output

# Phases of the staged start (SDCH §4.2): epoch 1 trains Θ_f only (on L_f: B does not exist
# yet), epoch 2 trains Θ_h only, then everything.
FEATURES, HASH, JOINT = "features", "hash", "joint"
PHASES = (FEATURES, HASH, JOINT)

# fc4's kernel initialiser by ``SDCHConfig.fc4_init``: SDCH §4.2's untruncated normal (Glorot's
# variance), or Keras' glorot_normal, a normal truncated at two standard deviations.
FC4_INITIALIZERS = {"normal": linear_initializer, "truncated": lambda: "glorot_normal"}

_PHASE_LOGS = {
    FEATURES: ("loss", "L_f"),
    HASH: ("loss", "L_f", "L_h") + losses.HASH_TERMS,
    JOINT: ("loss", "L_f", "L_h") + losses.HASH_TERMS,
}


class SDCH(TwoNetworkModel):
    """SDCH for one code length.

    Args:
        image_net: Keras model, preprocessed images (b, s, s, 3) → features (b, k).
        text_net: Keras model, bag-of-words (b, d) → features (b, k).
        bits: code length r.
        num_train: number of training samples n (size of the B and Z buffers).
        gamma, beta1, beta2, beta3: loss weights of Eqs. 7–8.
        pretrained_variables: the image-net variables initialised from AlexNet, trained at
            their own (lower) rate; empty when nothing was loaded.

    Inputs to ``train_step`` are dicts with 'image' (b, s, s, 3), 'text' (b, d),
    'label' (b, C) and 'index' (b,) int32 = row of each sample in the training set.
    """

    def __init__(self, image_net, text_net, bits, num_train, gamma, beta1, beta2, beta3,
                 pretrained_variables=(), fc4_init: str = "truncated", **kwargs):
        super().__init__(**kwargs)
        if image_net.output_shape[-1] != text_net.output_shape[-1]:
            raise ValueError(
                f"image and text features must have the same size k for the shared fc4, got "
                f"{image_net.output_shape[-1]} and {text_net.output_shape[-1]}"
            )
        self.image_net = image_net
        self.text_net = text_net
        self.bits = int(bits)
        self.num_train = int(num_train)
        self.gamma, self.beta1, self.beta2, self.beta3 = float(gamma), float(beta1), float(beta2), float(beta3)
        # fc4 is linear (docs/reproduction.md §1); SDCH §4.2 initialises it from a normal distribution.
        # float32 under any precision policy: Z feeds the losses and, through sign, the codes.
        if fc4_init not in FC4_INITIALIZERS:
            raise ValueError(f"fc4_init must be one of {sorted(FC4_INITIALIZERS)}, got {fc4_init!r}")
        self.hash_layer = keras.layers.Dense(
            self.bits, kernel_initializer=FC4_INITIALIZERS[fc4_init](), dtype="float32", name="fc4"
        )
        # "only_first_replica": under a tf.distribute strategy every replica computes the same
        # update (the global batch's, see ``train_step``), so one copy of it is applied to all.
        self.codes = self.add_weight(
            shape=(2 * self.num_train, self.bits), initializer="ones", trainable=False, name="codes",
            aggregation="only_first_replica",
        )
        self.z_record = self.add_weight(
            shape=(2 * self.num_train, self.bits), initializer="zeros", trainable=False, name="z_record",
            aggregation="only_first_replica",
        )
        self._pretrained_ids = {id(v) for v in pretrained_variables}
        self._init_training(_PHASE_LOGS[JOINT])

    # ----------------------------------------------------------------- variables
    @property
    def hash_variables(self):
        """Θ_h: the variables of fc4."""
        return self.hash_layer.trainable_variables

    @property
    def feature_variables(self):
        """Θ_f that train at the feature rate (everything but the pretrained image layers)."""
        return [v for v in self._feature_net_variables() if id(v) not in self._pretrained_ids]

    @property
    def pretrained_variables(self):
        """Θ_f of the pretrained image layers (SDCH §4.2: 1/10 of the feature rate)."""
        return [v for v in self._feature_net_variables() if id(v) in self._pretrained_ids]

    def _feature_net_variables(self):
        return self.image_net.trainable_variables + self.text_net.trainable_variables

    def variable_groups(self) -> dict[str, list]:
        """Θ_f at the feature rate, Θ_h (fc4), and the pretrained image layers when there are
        any (SDCH §4.2: three rates)."""
        groups = {"feature": self.feature_variables, "hash": self.hash_variables}
        if self._pretrained_ids:
            groups["pretrained"] = self.pretrained_variables
        return groups

    def compile(self, feature_optimizer, hash_optimizer, pretrained_optimizer=None, **kwargs):
        """Per-group optimisers (SDCH §4.2); Keras' own single optimiser is not used."""
        if self.pretrained_variables and pretrained_optimizer is None:
            raise ValueError("the model has pretrained image layers: give them a pretrained_optimizer")
        optimizers = {"feature": feature_optimizer, "hash": hash_optimizer}
        if self._pretrained_ids:
            optimizers["pretrained"] = pretrained_optimizer
        super().compile(optimizers, **kwargs)

    @property
    def feature_optimizer(self):
        return self.optimizers_by_name.get("feature")

    @property
    def hash_optimizer(self):
        return self.optimizers_by_name.get("hash")

    @property
    def pretrained_optimizer(self):
        return self.optimizers_by_name.get("pretrained")

    # ------------------------------------------------------------------ forward
    def call(self, inputs, training=False):
        """{'image', 'text'} → {'z_image' (b, r), 'z_text' (b, r)}, the real-valued codes."""
        z_image = self.hash_layer(self.image_net(inputs["image"], training=training))
        z_text = self.hash_layer(self.text_net(inputs["text"], training=training))
        return {"z_image": z_image, "z_text": z_text}

    def _features(self, data, training):
        """Image and text features of the *global* batch (every replica's rows, in batch order).

        Under ``--distribute`` each replica computes its own rows and ``distribute.gather``
        assembles the whole batch, because SDCH's losses pair every sample of a batch with every
        other (see ``sdch_tf.training.distribute``); on one device the gather is the identity.
        """
        f_x = self.image_net(data["image"], training=training)
        f_y = self.text_net(data["text"], training=training)
        return gather(tf.cast(f_x, tf.float32)), gather(tf.cast(f_y, tf.float32))

    def train_step(self, data):
        """One iteration of Algorithm 1 in the current phase; see ``PHASES``.

        Losses are computed in float32 on the global batch; what is differentiated is the loss
        divided by the number of replicas, since the optimisers sum the replicas' gradients
        (``sdch_tf.training.distribute``). The logged values are the unscaled losses.
        """
        labels, index = gather(data["label"]), gather(data["index"])
        replicas = num_replicas()
        # Divided only under a distribution: on one device the step's graph is the plain one
        # (an extra multiply by 1 changes Grappler's fusions and so the float rounding).
        share = (lambda loss: loss / replicas) if replicas > 1 else (lambda loss: loss)
        rows = tf.concat([index, index + self.num_train], axis=0)
        s_f = losses.label_similarity(labels, labels)            # (b, b): image i vs text j
        s_h = 2.0 * tf.tile(s_f, [2, 2]) - 1.0                   # (2b, 2b): Z's columns, both modalities
        b = tf.gather(self.codes, rows)

        if self.phase == FEATURES:
            with tf.GradientTape() as tape:
                f_x, f_y = self._features(data, training=True)
                l_f = losses.feature_loss(f_x, f_y, s_f)
                scaled = self.feature_optimizer.scale_loss(share(l_f))
            self._apply_feature_gradients(tape.gradient(scaled, self._feature_net_variables()))
            z = self.hash_layer(tf.concat([f_x, f_y], axis=0))  # recorded for the ITQ initialisation
            values = {"loss": l_f, "L_f": l_f}
        elif self.phase == HASH:
            f_x, f_y = self._features(data, training=True)
            f = tf.stop_gradient(tf.concat([f_x, f_y], axis=0))
            with tf.GradientTape() as tape:
                z = self.hash_layer(f)
                terms = losses.hash_loss_terms(z, b, s_h, self.beta1, self.beta2, self.beta3)
                l_h = tf.add_n(list(terms.values()))
                scaled = self.hash_optimizer.scale_loss(share(l_h))
            self.hash_optimizer.apply_gradients(zip(tape.gradient(scaled, self.hash_variables), self.hash_variables))
            l_f = losses.feature_loss(f_x, f_y, s_f)
            values = {"loss": losses.total_loss(l_f, l_h, self.gamma), "L_f": l_f, "L_h": l_h, **terms}
        else:
            # "Update Θ_h and Θ_f in sequence" (SDCH §3.3, Algorithm 1): first Θ_h on L_h with the
            # features fixed, then Θ_f on L = L_f + γ L_h with Z recomputed through the updated fc4.
            # Θ_f has not changed between the two, so the features are reused rather than recomputed
            # by a second forward pass: same values (same dropout mask), a third less compute.
            with tf.GradientTape() as tape_f:
                f_x, f_y = self._features(data, training=True)
                f = tf.concat([f_x, f_y], axis=0)
                with tape_f.stop_recording():
                    with tf.GradientTape() as tape_h:
                        l_h_first = losses.hash_loss(
                            self.hash_layer(tf.stop_gradient(f)), b, s_h, self.beta1, self.beta2, self.beta3
                        )
                        scaled_h = self.hash_optimizer.scale_loss(share(l_h_first))
                    grads_h = tape_h.gradient(scaled_h, self.hash_variables)
                    self.hash_optimizer.apply_gradients(zip(grads_h, self.hash_variables))
                z = self.hash_layer(f)
                terms = losses.hash_loss_terms(z, b, s_h, self.beta1, self.beta2, self.beta3)
                l_h = tf.add_n(list(terms.values()))
                l_f = losses.feature_loss(f_x, f_y, s_f)
                loss = losses.total_loss(l_f, l_h, self.gamma)
                scaled = self.feature_optimizer.scale_loss(share(loss))
            self._apply_feature_gradients(tape_f.gradient(scaled, self._feature_net_variables()))
            values = {"loss": loss, "L_f": l_f, "L_h": l_h, **terms}

        # Every replica holds the global z and rows, so every copy of the buffer gets the same update.
        store_rows(self.z_record, rows[:, None], tf.cast(z, self.z_record.dtype))
        for name in _PHASE_LOGS[self.phase]:
            self.trackers[name].update_state(values[name])
        return step_logs({name: self.trackers[name].result() for name in _PHASE_LOGS[self.phase]})

    def _apply_feature_gradients(self, grads):
        variables = self._feature_net_variables()
        feature, pretrained = [], []
        for g, v in zip(grads, variables):
            (pretrained if id(v) in self._pretrained_ids else feature).append((g, v))
        self.feature_optimizer.apply_gradients(feature)
        if pretrained:
            # Under fp16 the loss was scaled by the feature optimiser's loss scale; the pretrained
            # group's optimiser unscales by its own (1 / 1 = 1 otherwise).
            ratio = self.pretrained_optimizer.scale_loss(1.0) / self.feature_optimizer.scale_loss(1.0)
            self.pretrained_optimizer.apply_gradients([(g * ratio, v) for g, v in pretrained])

    def initialize_feature_scale(self, images, texts):
        """Data-dependent initialisation of img-fc3 and txt-fc3 on a batch of training samples.

        SDCH §4.2 draws these layers "with a normal distribution" but gives no scale. The
        scale decides whether training works at all: fc4 is shared, so if one modality's
        features vary much less than the other's, its Z is dominated by fc4's bias and every
        sample of that modality gets the same code (on the synthetic set a randomly
        initialised image net left all texts on one code; with the image side shrunk, all
        images). So both layers are rescaled (and their outputs centred) so that every
        feature dimension has std k^(−1/4) over the batch: both modalities reach fc4 at the
        same scale, and the logits f_xᵀ f_y of Eq. 3 start with unit variance instead of
        saturating the sigmoid.

        Args:
            images: (b, s, s, 3) preprocessed images. texts: (b, d) bag-of-words.
        """
        for net, inputs in ((self.image_net, images), (self.text_net, texts)):
            rescale_output(net, inputs, net.output_shape[-1] ** -0.25)

    # ------------------------------------------------------------ B (Eqs. 9–10)
    def training_set_outputs(self, images, texts) -> np.ndarray:
        """Z of every training sample by a forward pass with Θ_f and Θ_h fixed (SDCH §3.3): float32
        (2n, r), rows as in ``codes`` (images then texts).

        Args:
            images: batches of the n preprocessed training images in training-set order, centre
                crops (``pipeline.image_batches``); texts: batches of their texts (``text_batches``).
        """
        z = [self._real_outputs("image", images), self._real_outputs("text", texts)]
        for part, name in zip(z, ("images", "texts")):
            if len(part) != self.num_train:
                raise ValueError(f"the forward pass gave {len(part)} training {name}, the model has {self.num_train}")
        return np.concatenate(z, axis=0)

    def _real_outputs(self, modality, batches) -> np.ndarray:
        chunks = [np.asarray(self._encoder(modality)(batch), np.float32) for batch in batches]
        return np.concatenate(chunks, axis=0) if chunks else np.zeros((0, self.bits), np.float32)

    def refresh_codes(self, z=None):
        """B = sign(Z) (SDCH Eq. 10) of ``z`` (2n, r), the forward pass's Z
        (``training_set_outputs``), or, when None, of the Z recorded during the epoch."""
        z = self.z_record if z is None else tf.constant(z, tf.float32)
        self.codes.assign(tf.where(z >= 0, 1.0, -1.0))

    def initialize_codes_itq(self, iterations, seed, z=None, centering="joint"):
        """B by ITQ on all z_i, i = 1..m+n (SDCH §4.2): ``z`` (2n, r) from the forward pass, or the
        recorded Z when None. ``centering``: "joint" centres the m+n rows together, as the paper
        words it; "per_modality" centres the images and the texts each on their own mean first
        (``itq.centre_per_group``; docs/reproduction.md §1). Returns the ITQ result."""
        z = np.asarray(self.z_record if z is None else z, np.float64)
        if centering == "per_modality":
            z = centre_per_group(z, np.repeat([0, 1], self.num_train))
        elif centering != "joint":
            raise ValueError(f"centering must be 'joint' or 'per_modality', got {centering!r}")
        result = itq(z, self.bits, iterations=iterations, seed=seed)
        self.codes.assign(result.codes.astype(np.float32))
        return result

    # ---------------------------------------------------------------- encoding
    def encoding_output(self, modality, inputs):
        """Z = fc4(f) of a batch; the code is sign(Z) (Eq. 10)."""
        return self.hash_layer(super().encoding_output(modality, inputs))
