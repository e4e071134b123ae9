"""Build and train RDCMH for one code length and seed (RDCMH Algorithm 1).

``build`` does Algorithm 1's lines 1–2 before the untrained networks are scored: the
networks (CNN-F weights loaded when ``config.weights``), the similarity matrices S^xx, S^yy
of Eq. 1 (image features: the backbone's fc7 before any training), and the initial F, G and
B = sign(F + G). ``fit`` runs the iterations with ``keras.Model.fit`` over batches of
triplets, checkpointing after every epoch and resuming from the run directory.
"""
from __future__ import annotations

import keras
import numpy as np

from baselines.rdcmh.config import RDCMHConfig
from baselines.rdcmh.model import RDCMH
from baselines.rdcmh.nets import build_image_net, build_text_net
from baselines.rdcmh.similarity import SemanticSimilarity
from baselines.rdcmh.triplets import NUM_POINTS, TripletSampler, smallest_ranking_group, triplet_batches
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, image_batches, num_train_batches
from sdch_tf.data.split import Split
from sdch_tf.input_errors import InputError
from sdch_tf.nets.scaling import initialization_batch, rescale_outputs
from sdch_tf.nets.vggf import build_vggf, channel_mean_preprocessing, load_vggf
from sdch_tf.training.optimizers import make_optimizer
from sdch_tf.training.hashing_model import finish_build
from sdch_tf.training.fit import fit_resumable
from sdch_tf.configs import pretrained_weights

# Target per-bit std of F and G after the data-dependent init: the scale of B ∈ {−1, +1}.
OUTPUT_STD = 1.0


def preprocessing(config: RDCMHConfig) -> ImagePreprocessing:
    """CNN-F input: the weights file's own channel means when one is given (``channel_mean_preprocessing``)."""
    return channel_mean_preprocessing(config.image_net, pretrained_weights(config))


def _initial_outputs(backbone: keras.Model, model: RDCMH, data: CrossModalData, split: Split,
                     prep: ImagePreprocessing, batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One inference pass over the training set: backbone fc7 features (n, d7), F (n, c), G (n, c)."""
    both = keras.Model(backbone.input, [backbone.output, model.image_net.output])
    features, image_outputs = [], []
    for images in image_batches(data, split.train, batch_size, prep):
        fc7, f = both(images, training=False)
        features.append(np.asarray(fc7))
        image_outputs.append(np.asarray(f))
    texts = data.texts[split.train].astype(np.float32)
    text_outputs = np.concatenate([np.asarray(model.text_net(texts[i:i + batch_size], training=False))
                                   for i in range(0, len(texts), batch_size)])
    return np.concatenate(features), np.concatenate(image_outputs), text_outputs


def build(config: RDCMHConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> RDCMH:
    """A compiled, untrained RDCMH with its similarity matrices and initial F, G, B (Algorithm 1, lines 1–2).

    Without ``config.weights`` the backbone is randomly initialised (seeded), and S^xx's feature
    part s1 is the cosine of that random network's fc7 activations (NOTES.md). Call under
    a ``tf.distribute`` strategy's scope to train on several devices (``sdch_tf.training.distribute``).
    """
    keras.utils.set_random_seed(seed)
    backbone = build_vggf(config.image_net)
    if pretrained_weights(config):
        load_vggf(backbone, pretrained_weights(config))
    image_net = build_image_net(backbone, bits, config.image_net.fc_units[-1], config.image_net.dropout)
    text_net = build_text_net(data.text_dim, config.text_net.hidden_units, bits, config.text_net.dropout)
    model = RDCMH(image_net, text_net, bits, len(split.train), config.lam, config.margin * bits, name="rdcmh")
    model.compile(
        optimizers={"image": make_optimizer(config.optimizer, config.lr_image),
                    "text": make_optimizer(config.optimizer, config.lr_text)},
        jit_compile=config.jit_compile,
    )
    prep = preprocessing(config)

    def initialize():
        if config.data_init:
            rescale_outputs(image_net, text_net, initialization_batch(data, split.train, prep), OUTPUT_STD)
        features, image_outputs, text_outputs = _initial_outputs(backbone, model, data, split, prep,
                                                                 config.eval_batch_size)
        model.initialize_codes(image_outputs, text_outputs)
        # Kept out of Keras' attribute tracking: plain arrays, not model state (rebuilt by build).
        model.__dict__["similarity"] = SemanticSimilarity.from_features(
            features, data.texts[split.train], data.labels[split.train], split.labelled)

    return finish_build(model, initialize=initialize)


def fit(model: RDCMH, config: RDCMHConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """Algorithm 1's iterations, ``config.epochs`` passes of triplets; one record per epoch.

    Checkpointed after every epoch into ``run_dir`` and resumed from there (``training.fit_resumable``).
    ``observers``: callbacks after the method's own (the run layer's learning curve).
    """
    sampler = TripletSampler(model.similarity, config.num_bins)
    prep = preprocessing(config)
    return fit_resumable(
        model,
        lambda start: triplet_batches(data, split.train, sampler, config.batch_size, prep, seed,
                                      config.triplet_scope, start_epoch=start, stop_epoch=config.epochs),
        config.epochs,
        list(observers),
        run_dir,
        verbose,
        steps_per_epoch=num_train_batches(len(split.train), config.batch_size),
    )


def check(config: RDCMHConfig, split: Split) -> None:
    """``InputError`` when a ranking list cannot fill the bins: three points come from three
    distinct bins of each query's list (``triplets.TripletSampler``), which holds the other
    items of the query's mini-batch (scope "batch") or of the training set (scope "train")."""
    n = len(split.train)
    if config.num_bins < NUM_POINTS:
        raise InputError(f"RDCMH num_bins = {config.num_bins}: must be at least {NUM_POINTS} (one point of a "
                         "triplet per bin)")
    smallest = smallest_ranking_group(n, config.batch_size, config.triplet_scope)
    if smallest - 1 < config.num_bins:
        where = (f"a mini-batch of {smallest} (--batch-size {config.batch_size} over {n} training items)"
                 if config.triplet_scope == "batch" else f"the {n} training items")
        raise InputError(f"RDCMH ranks each query against the other items of {where}: {smallest - 1} items cannot "
                         f"fill num_bins = {config.num_bins} bins; use --batch-size {config.num_bins + 1} or more")
