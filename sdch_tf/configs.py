"""What every method's configuration shares: the data and split (``DataConfig``), the preset
names, and the helpers the presets are built from.

``paper`` is the paper's configuration; ``cpu`` scales it down for a CPU; ``smoke`` runs in
seconds. Every method's ``preset(name)`` gives one of these (``pick_preset``).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from sdch_tf.data.synthetic import SyntheticConfig
from sdch_tf.nets.configs import ImageNetConfig
from sdch_tf import registry
from sdch_tf.config_checks import check_config
from sdch_tf.input_errors import InputError

PRESET_NAMES = ("paper", "cpu", "smoke")

# ``--weights none``: run a ``paper`` preset from random initialisation on purpose; recorded so.
NO_WEIGHTS = "none"


# The ImageNet stand-in's weights that the cpu and smoke presets load (docs/reproduction.md §2.3):
# ``weights = "standin:<size>/<file>"`` names a file under STANDIN_DIR, written by
# ``python -m sdch_tf.pretrain --out sdch_tf/weights/standin``, so that a recorded config does not
# carry this machine's install path.
STANDIN_PREFIX = "standin:"
STANDIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "standin")


def standin_weights(size: str, weights_file: str) -> str:
    """The ``weights`` value of the stand-in ``weights_file`` pretrained at the ``size`` preset's shapes."""
    return f"{STANDIN_PREFIX}{size}/{weights_file}"


def pretrained_weights(config) -> str | None:
    """The pretrained image-network file of ``config``; None without one (or with ``--weights none``).
    A stand-in name (``standin_weights``) becomes its path in the installed package."""
    if config.weights in (None, NO_WEIGHTS):
        return None
    if not config.weights.startswith(STANDIN_PREFIX):
        return config.weights
    path = os.path.join(STANDIN_DIR, *config.weights[len(STANDIN_PREFIX):].split("/"))
    if not os.path.isfile(path):
        raise InputError(f"the stand-in weights {config.weights!r} are not in this install ({path}); make them with "
                         f"python -m sdch_tf.pretrain --out {STANDIN_DIR}, or pass --weights PATH or --weights "
                         f"{NO_WEIGHTS}")
    return path


@dataclass(frozen=True)
class DataConfig:
    """Which dataset and which protocol split (docs/reproduction.md §2)."""

    dataset: str = "synthetic"
    data_dir: str | None = None
    num_query: int | None = None          # None: the dataset's protocol size (split.PROTOCOL_SIZES)
    num_train: int | None = None
    num_labels: int | None = None         # IAPR TC-12: keep the C most frequent concepts (22, SDCH §4.1)
    # RDCMH §4.1 / Table 2: labels kept on this fraction of the training items (0.3 there).
    label_fraction: float = 1.0
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


def cpu_data(data: DataConfig) -> DataConfig:
    """Every method's ``cpu`` split: 500 queries, 2,000 training pairs (the synthetic set's 6,000)."""
    return dataclasses.replace(data, num_query=500, num_train=2000)


def smoke_data(data: DataConfig) -> DataConfig:
    """Every method's ``smoke`` data: 240 small synthetic pairs, 40 queries, 96 training pairs."""
    return dataclasses.replace(
        data, num_query=40, num_train=96,
        synthetic=dataclasses.replace(data.synthetic, num_samples=240, image_size=48, vocab_size=200),
    )


@dataclass(frozen=True)
class RunConfig:
    """The fields every method's configuration has; the run layer and the command lines use them.
    A method's config subclasses it and redeclares the defaults that are its own."""

    method: str = ""                      # the registry name (registry.METHODS)
    preset: str = "paper"                 # paper, cpu or smoke (PRESET_NAMES)
    bits: tuple[int, ...] = (16, 32, 64)  # SDCH Tables 2–3: the code lengths of the tables' columns
    epochs: int = 1                       # every method sets its own
    batch_size: int = 64                  # every method sets its own
    # SDCH §4.2: mAP@R with R = 500, for every method (docs/reproduction.md §3); None: MAP over the whole
    # database (DCMH's code, CMHN, DSPAH, RDCMH). Evaluation only: a finished run is rescored, not retrained.
    top_k: int | None = 500
    eval_batch_size: int = 256            # encoding batch size: no effect on the codes
    # Score the model every this many epochs and log it (evaluation.RetrievalCurve): the learning curve.
    # It trains exactly as without, but names a run directory of its own (results._NEUTRAL_FIELDS).
    eval_every: int | None = None
    weights: str | None = None            # the pretrained image-net file; None: random initialisation
    jit_compile: bool = False             # XLA-compile the train step (--jit)
    data: DataConfig = field(default_factory=DataConfig)


@dataclass(frozen=True)
class FeatureRunConfig(RunConfig):
    """The fields of a feature-based method (``registry.Method.inputs == "features"``): where its
    image features come from (docs/features.md, "Feature-based methods")."""

    # SDCH §4.2: the shallow methods get "CNN feature with 4096 dimensions extracted from the
    # trained Alexnet" (fc7 after its ReLU; sdch_tf.features.FEATURE_LAYERS).
    backbone: str = "alexnet"
    image_net: ImageNetConfig = field(default_factory=ImageNetConfig)   # SDCH §3.2: AlexNet, 227×227 crops
    # A features file (python -m sdch_tf.features or a foreign .mat layout); None: extracted from
    # the dataset with the backbone and ``weights`` and cached (sdch_tf.run.method_data).
    features: str | None = None
    epochs: int = 1                       # one solve, recorded as one epoch (training.closed_form)


def feature_cpu_preset(base, **fields):
    """A feature-based method's ``cpu`` preset: the cpu split, features from the ImageNet stand-in's
    AlexNet at the cpu scale (the net SDCH's cpu preset fine-tunes; docs/reproduction.md §2.3)."""
    return cpu_preset(base, weights=standin_weights("cpu", "bvlc_alexnet.npy"),
                      image_net=scaled_conv_net(base.image_net, "cpu"), **fields)


def feature_smoke_preset(base, **fields):
    """A feature-based method's ``smoke`` preset: the smoke data, the stand-in's smoke-size AlexNet."""
    # feature_dim: the stand-in was pretrained with SDCH's smoke net (img-fc3 is not in the features).
    return smoke_preset(base, weights=standin_weights("smoke", "bvlc_alexnet.npy"),
                        image_net=scaled_conv_net(base.image_net, "smoke", feature_dim=32), **fields)


# The scaled five-convolution image net (AlexNet or CNN-F) of every method's cpu and smoke presets:
# cpu: 83×83 crops of 94×94 (conv1 19×19 → pool5 1×1; 67 is the smallest input of this depth,
# 83 is ~1.5× cheaper per step than 99, 94 keeps the paper's crop ratio 227/256), narrow widths;
# smoke: the smallest input and widths that run every layer in seconds.
SCALED_CONV_NET = {
    "cpu": {"input_size": 83, "resize": 94, "conv_filters": (32, 64, 96, 96, 64), "fc_units": (512, 512)},
    "smoke": {"input_size": 67, "resize": 72, "conv_filters": (8, 16, 16, 16, 16), "fc_units": (64, 64)},
}


def scaled_conv_net(net_config, preset: str, **fields):
    """``net_config`` (an AlexNet or CNN-F config) at the ``preset``'s scale, with ``fields`` too."""
    return dataclasses.replace(net_config, **SCALED_CONV_NET[preset], **fields)


def cpu_preset(base, **fields):
    """``base`` as a ``cpu`` preset: the cpu split (``cpu_data``) and ``fields``."""
    return dataclasses.replace(base, **{"preset": "cpu", "data": cpu_data(base.data), **fields})


def smoke_preset(base, **fields):
    """``base`` as a ``smoke`` preset: one code length (16), batches of 32, the smoke data
    (``smoke_data``), and ``fields``."""
    defaults = {"preset": "smoke", "bits": (16,), "batch_size": 32, "data": smoke_data(base.data)}
    return dataclasses.replace(base, **{**defaults, **fields})


def preset_function(paper, cpu, smoke):
    """A method's ``preset(name)`` from its three preset builders."""
    presets = {"paper": paper, "cpu": cpu, "smoke": smoke}

    def preset(name: str):
        """The named preset's configuration (paper, cpu or smoke)."""
        return pick_preset(presets, name)

    return preset


def pick_preset(presets: dict, name: str):
    """``presets[name]()``, with an error listing the choices (every method's ``preset``)."""
    try:
        return presets[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(presets)}") from None


# The command-line option of a config field, for messages (default: --field-name).
_FLAGS = {"jit_compile": "--jit"}


def with_top_k(config, top_k: int | str | None):
    """``config`` with a parsed ``--top-k`` (``cli.parse_top_k``): K, "all" (the whole database:
    ``top_k`` None) or None (the preset's)."""
    if top_k is None:
        return config
    return dataclasses.replace(config, top_k=None if top_k == "all" else int(top_k))


def _with_dropout(config, method: str, rate: float) -> dict:
    """{network config field: that config with ``dropout=rate``} for the image and text networks
    of ``config`` that have a dropout rate (``--dropout``)."""
    if not 0.0 <= rate < 1.0:
        raise InputError(f"--dropout {rate} is outside [0, 1)")
    if registry.get_method(method).inputs == "features":
        # Its image_net is the backbone the features are extracted with, in inference (no dropout).
        raise InputError(f"--dropout does not apply to --method {method}: it trains on fixed image features")
    replaced = {}
    for name in ("image_net", "text_net"):
        net = getattr(config, name, None)
        if dataclasses.is_dataclass(net) and any(f.name == "dropout" for f in dataclasses.fields(net)):
            replaced[name] = dataclasses.replace(net, dropout=rate)
    if not replaced:
        raise InputError(f"--dropout does not apply to --method {method} (its networks have no dropout rate)")
    return replaced


def build_config(method: str, preset: str, data: dict | None = None, **fields):
    """The ``preset`` config of ``method`` with ``data`` (DataConfig fields) and top-level
    ``fields`` overridden — ``None`` means "the preset's" — and range-checked
    (``config_checks.check_config``): one code path for every command line.

    ``InputError`` when a field is not in the method's config (``--optimizer`` for a method
    without one) or a value is out of range.
    """
    config = registry.get_method(method).preset(preset)
    names = {f.name for f in dataclasses.fields(config)}
    overrides, flags = {}, {}
    dropout = fields.pop("dropout", None)
    if dropout is not None:
        overrides.update(_with_dropout(config, method, dropout))
    data_fields = {k: v for k, v in (data or {}).items() if v is not None}
    if data_fields:
        overrides["data"] = dataclasses.replace(config.data, **data_fields)
    for name, value in fields.items():
        if value is None:
            continue
        flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
        if name not in names:
            raise InputError(f"{flag} does not apply to --method {method} (its config has no {name!r})")
        overrides[name], flags[name] = value, flag
    config = dataclasses.replace(config, **overrides)
    check_config(config, flags)
    if config.preset == "paper" and config.weights is None:
        # Every method of the comparison starts from ImageNet weights (docs/reproduction.md §1):
        # a paper run from random initialisation would be recorded as the paper's configuration.
        raise InputError(
            f"--preset paper trains {method} from {registry.get_method(method).weights_file}, as its paper does, "
            "but no --weights was given: pass --weights PATH (where to get it: README, Pretrained weights), or "
            f"--weights {NO_WEIGHTS} to run the paper configuration from random initialisation (recorded as "
            f"weights: {NO_WEIGHTS!r}), or use --preset cpu")
    return config
