"""The DVSH model: the fusion network and the two hashing networks trained jointly on E9
(docs/baselines-research/dvsh.md §8), one step per batch of image–text pairs.

The fusion network (``image_both``'s h^x head and ``fusion_text``) exists for training only;
queries and the database are encoded by the hashing networks, sign(u) for images and sign(v)
for texts (E10), through ``TwoNetworkModel``'s encoders on ``image_net`` and ``text_net``.
"""
from __future__ import annotations

import tensorflow as tf

from baselines.dvsh import losses
from baselines.dvsh.nets import sequence_mask
from sdch_tf.training.distribute import gather, num_replicas
from sdch_tf.training.hashing_model import TwoNetworkModel
from sdch_tf.training.losses import label_similarity

LOG_NAMES = ("loss",) + losses.TERMS


class DVSH(TwoNetworkModel):
    """DVSH for one code length.

    Args:
        image_net: images → u (b, K). image_both: images → [u, h^x], one trunk pass.
        text_net: bags → v (b, K). text_steps: bags → [v_t (b, T, K), word ids (b, T)].
        fusion_text: bags → h^y_t (b, T, K).
        bits: K. pretrained: the AlexNet variables loaded from a weights file (their own rate).
        cosine_margin, bit_margin, lam, beta: μ_c, μ_b, λ, β of E7–E9.

    Inputs to ``train_step``: the shared pipeline's dicts with 'image', 'text', 'label'.
    """

    def __init__(self, image_net, image_both, text_net, text_steps, fusion_text, bits: int, pretrained,
                 cosine_margin: float, bit_margin: float, lam: float, beta: float, **kwargs):
        super().__init__(**kwargs)
        self.image_net, self.image_both = image_net, image_both
        self.text_net, self.text_steps, self.fusion_text = text_net, text_steps, fusion_text
        self.bits = int(bits)
        self.cosine_margin, self.bit_margin = float(cosine_margin), float(bit_margin)
        self.lam, self.beta = float(lam), float(beta)
        self._pretrained_ids = {id(v) for v in pretrained}
        self._init_training(LOG_NAMES)

    def variable_groups(self) -> dict[str, list]:
        """"new": every layer DVSH adds (heads, embeddings, LSTMs); "pretrained": AlexNet's
        conv1–fc7 when loaded from a file (a lower rate, NOTES.md "Optimisation")."""
        seen, every = set(), []
        for net in (self.image_both, self.text_steps, self.fusion_text):
            for variable in net.trainable_variables:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    every.append(variable)
        groups = {"new": [v for v in every if id(v) not in self._pretrained_ids]}
        if self._pretrained_ids:
            groups["pretrained"] = [v for v in every if id(v) in self._pretrained_ids]
        return groups

    def train_step(self, data):
        """One step of E9 on every network (the global batch under ``--distribute``)."""
        groups = self.variable_groups()
        variables = [v for group in groups.values() for v in group]
        with tf.GradientTape() as tape:
            image_codes, image_fusion = self.image_both(data["image"], training=True)
            text_steps, ids = self.text_steps(data["text"], training=True)
            text_fusion = self.fusion_text(data["text"], training=True)
            image_codes, image_fusion = gather(image_codes), gather(image_fusion)
            text_steps, ids, text_fusion = gather(text_steps), gather(ids), gather(text_fusion)
            labels = gather(data["label"])
            unified_steps = tf.tanh(image_fusion[:, None, :] + text_fusion)   # E3
            terms = losses.objective(unified_steps, sequence_mask(ids), image_codes, text_steps,
                                     label_similarity(labels, labels), self.cosine_margin, self.bit_margin,
                                     self.lam, self.beta)
            share = terms["loss"] / num_replicas()
        self.apply_grouped_gradients(groups, tape.gradient(share, variables))
        return self.report(terms)
