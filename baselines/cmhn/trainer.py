"""Build and train CMHN for one code length and seed (the ``Method`` functions).

``build`` returns the networks untrained but with the alternation started (B from a seeded
random M and the initial networks' outputs, ``CMHN.initialize_codes``); ``fit`` runs one round of CMHN's iterative
optimisation per epoch with ``keras.Model.fit`` — the hash function step over the epoch's
mini-batches, then (``CodeSteps``) the classification and binary code steps — and resumes from
the run directory's checkpoint, which holds B and M with the weights.
"""
from __future__ import annotations

import keras

from baselines.cmhn.config import CMHNConfig
from baselines.cmhn.model import CMHN
from baselines.cmhn.nets import build_image_net, build_text_net
from baselines.cmhn.unified import UNIFIED_FILE, check_unified_split, score_unified
from sdch_tf.atomic import atomic_write_json
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.pipeline import ImagePreprocessing, image_batches
from sdch_tf.data.split import Split
from sdch_tf.nets.scaling import initialization_batch, rescale_outputs
from sdch_tf.nets.vggf import channel_mean_preprocessing, load_vggf, pretrained_variables
from sdch_tf.training.hashing_model import finish_build
from sdch_tf.training.fit import fit_on_pairs
from sdch_tf.training.optimizers import make_optimizer
from sdch_tf.configs import pretrained_weights


def preprocessing(config: CMHNConfig) -> ImagePreprocessing:
    """VGG-F input: resize, centre/random crop, minus the mean of the weights file when given
    (its average image's channel means), RGB."""
    return channel_mean_preprocessing(config.image_net, pretrained_weights(config))


def backbone_rate(config: CMHNConfig) -> float:
    """Learning rate of VGG-F conv1..fc7: CMHN §3's 1e-4 when pretrained ("to avoid ruining the
    representative abstract features already learned"); without weights nothing is learned yet
    to protect, and the randomly initialised layers train at the new layers' rate."""
    return config.lr_pretrained if pretrained_weights(config) else config.lr_new


class CodeSteps(keras.callbacks.Callback):
    """After every epoch's hash function step: CMHN's classification and binary code steps
    (``CMHN.update_codes``); their diagnostics join the epoch's logs (and epochs.jsonl)."""

    def on_epoch_end(self, epoch, logs=None):
        stats = self.model.update_codes(epoch)
        if logs is not None:
            logs.update(stats)


def build(config: CMHNConfig, data: CrossModalData, split: Split, bits: int, seed: int) -> CMHN:
    """A compiled CMHN model with untrained networks and the alternation started.

    Call under a ``tf.distribute`` strategy's scope to train on several devices (``sdch_tf.training.distribute``)."""
    if config.score_unified_codes:
        check_unified_split(split)
    keras.utils.set_random_seed(seed)
    if pretrained_weights(config) and config.input_scale != 1.0:
        raise ValueError(f"input_scale={config.input_scale} is for a randomly initialised VGG-F; the pretrained "
                         "weights expect the unscaled MatConvNet input (input_scale=1.0)")
    image_net, backbone = build_image_net(config.image_net, config.image_hash_units, bits, config.input_scale)
    if pretrained_weights(config):
        load_vggf(backbone, pretrained_weights(config))
    text_net = build_text_net(data.text_dim, config.text_units, bits)
    model = CMHN(image_net, text_net, bits, len(split.train), data.labels[split.train], config.lambda1,
                 config.alpha, config.svm_c, config.weight_decay, backbone_variables=pretrained_variables(backbone),
                 name="cmhn")
    optimizers = {"backbone": make_optimizer("momentum", backbone_rate(config), momentum=config.momentum),
                  "image": make_optimizer("momentum", config.lr_new, momentum=config.momentum),
                  "text": make_optimizer("momentum", config.lr_new, momentum=config.momentum)}
    model.compile(optimizers=optimizers, jit_compile=config.jit_compile)
    prep = preprocessing(config)

    def initialize():
        if config.output_std is not None:
            rescale_outputs(image_net, text_net, initialization_batch(data, split.train, prep), config.output_std)
        outputs = model.network_outputs(image_batches(data, split.train, config.eval_batch_size, prep),
                                        data.texts[split.train], config.eval_batch_size)
        model.initialize_codes(*outputs, seed=seed)

    return finish_build(model, initialize=initialize)


def fit(model: CMHN, config: CMHNConfig, data: CrossModalData, split: Split, run_dir: str, seed: int,
        verbose: int = 1, observers=()) -> list[dict]:
    """``config.epochs`` rounds of CMHN's iterative optimisation; one record per epoch (Eq. 8 terms
    per pair, SVM training accuracy, fraction of code bits changed, seconds).

    With ``config.score_unified_codes`` also writes ``unified.json`` in ``run_dir``: CMHN's main
    table row, the database represented by the unified codes B (unified.py). ``observers``:
    callbacks after the method's own (the run layer's learning curve).
    """
    records = fit_on_pairs(model, config, data, split, preprocessing(config), run_dir, seed, verbose,
                           [CodeSteps(), *observers])
    if config.score_unified_codes:
        scores = score_unified(model, data, split, preprocessing(config), config.top_k, config.eval_batch_size)
        atomic_write_json(f"{run_dir}/{UNIFIED_FILE}", scores)
        if verbose:
            print(f"CMHN with unified database codes: mAP@{config.top_k} I→T {scores['map_i2t']:.4f}, "
                  f"T→I {scores['map_t2i']:.4f}")
    return records
