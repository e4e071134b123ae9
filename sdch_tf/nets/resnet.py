"""ResNet-34 (He et al., CVPR 2016) as torchvision builds it, returning its four stage outputs.

DSPAH §IV.B: "The Resnet-34 with four blocks is utilized to learn rich hash representations
... initialized by the pre-trained model on ImageNet"; §II.B takes hash representations from
the intermediate layers, so the backbone exposes the outputs of ``layer1``..``layer4``.

Architecture (torchvision ``resnet34``; shapes for the 224×224 input):

    input_scale   x / (255·std) per channel (see "Preprocessing")      224×224×3
    conv1  7×7/2 pad 3, no bias → bn1 → ReLU                             112×112×64
    maxpool 3×3/2 pad 1                                                   56×56×64
    layer1  3 BasicBlocks,  64 ch                                         56×56×64
    layer2  4 BasicBlocks, 128 ch, first one stride 2 with downsample    28×28×128
    layer3  6 BasicBlocks, 256 ch, first one stride 2 with downsample    14×14×256
    layer4  3 BasicBlocks, 512 ch, first one stride 2 with downsample     7×7×512

    BasicBlock: conv1 3×3/s pad 1 → bn1 → ReLU → conv2 3×3 pad 1 → bn2, plus the identity or
    downsample (1×1/s conv → BN), then ReLU. Convolutions have no bias; BN eps 1e-5.

Padding. PyTorch pads a stride-2 3×3 convolution by one pixel on every side; TensorFlow's
'same' pads asymmetrically for stride 2 (zero on top/left, one on bottom/right for even
sizes), which shifts every window by one pixel. So stride-2 convolutions (and conv1, the
max-pool) take an explicit symmetric ``ZeroPadding2D`` followed by a 'valid' layer; stride-1
3×3 convolutions use 'same', which is the symmetric pad 1 there. Zero padding before the
max-pool equals PyTorch's −∞ padding because its input is post-ReLU (≥ 0) and every window
holds at least one real pixel.

Preprocessing. torchvision's ImageNet weights expect RGB / 255, minus mean (0.485, 0.456,
0.406), divided by std (0.229, 0.224, 0.225). The shared ``ImagePreprocessing`` subtracts a
mean on the 0–255 scale (``IMAGENET_MEAN_RGB`` = 255·mean); the division by 255·std is the
backbone's first, fixed layer ``input_scale``. That is exact (it is the torchvision
normalisation), leaves the loaded weights untouched, and gives a randomly initialised conv1
unit-variance inputs as well (the scale problem SDCH met with AlexNet, sdch_tf/nets/alexnet.py).

Weights. ``load_torchvision_resnet`` reads the torchvision state dict saved as ``.npz`` (keys
``conv1.weight``, ``bn1.running_mean``, ``layer1.0.conv1.weight``,
``layer2.0.downsample.0.weight``, ...; nothing is downloaded). Make one from a ``.pth`` with
PyTorch installed::

    import numpy as np, torch
    state = torch.load("resnet34-b627a593.pth", map_location="cpu")
    np.savez("resnet34.npz", **{k: v.numpy() for k, v in state.items()})

Keras layers carry the torchvision module names (``layer2.0.downsample.0``), so the mapping
is by name. The scaled-down presets build the same graph with fewer blocks or channels.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import keras
import numpy as np

from sdch_tf.atomic import atomic_write
from sdch_tf.input_errors import WeightsFileError, WeightsNotFoundError
from sdch_tf.nets.empty_batch import Conv2D, MaxPooling2D

# torchvision's ImageNet normalisation on the 0–1 scale, and on the 0–255 scale of our pipeline.
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
IMAGENET_MEAN_RGB = tuple(255.0 * m for m in TORCHVISION_MEAN)
IMAGENET_STD_RGB = tuple(255.0 * s for s in TORCHVISION_STD)

RESNET34_BLOCKS = (3, 4, 6, 3)     # He et al. 2016, Table 1, 34-layer
RESNET18_BLOCKS = (2, 2, 2, 2)     # He et al. 2016, Table 1, 18-layer
RESNET_WIDTHS = (64, 128, 256, 512)

# torch.nn.BatchNorm2d defaults: eps 1e-5, momentum 0.1 (Keras counts momentum the other way).
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9


@dataclass(frozen=True)
class ResNetConfig:
    """The image backbone and its preprocessing (fields ``ImagePreprocessing.from_config`` reads)."""

    input_size: int = 224                  # torchvision ImageNet crop (DSPAH §IV.B: pretrained ResNet-34)
    resize: int = 256                      # torchvision's Resize(256) before the 224 crop
    blocks: tuple[int, ...] = RESNET34_BLOCKS   # DSPAH §IV.B: ResNet-34, four blocks (stages)
    widths: tuple[int, ...] = RESNET_WIDTHS     # channels of layer1..layer4 (the stem has widths[0])
    mean_rgb: tuple[float, float, float] = IMAGENET_MEAN_RGB  # subtracted by the pipeline (0–255 scale)
    std_rgb: tuple[float, float, float] = IMAGENET_STD_RGB    # divided by in ``input_scale``
    bgr: bool = False                      # torchvision models take RGB


def conv_initializer() -> keras.initializers.Initializer:
    """torchvision's ResNet init: kaiming_normal_(mode='fan_out', nonlinearity='relu')."""
    return keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="untruncated_normal")


def _check_architecture(blocks, widths, input_shape) -> None:
    if len(blocks) != 4 or len(widths) != 4:
        raise ValueError(f"a ResNet here has four stages: got blocks={blocks}, widths={widths}")
    if min(blocks) < 1 or min(widths) < 1:
        raise ValueError(f"blocks and widths must be positive, got blocks={blocks}, widths={widths}")
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}")


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)


def _conv(filters, kernel, stride, name, initializer, x):
    """k×k convolution with PyTorch's symmetric padding k // 2, no bias."""
    pad = kernel // 2
    if stride == 1:
        # 'same' with stride 1 and odd k pads k // 2 on every side: PyTorch's padding.
        return Conv2D(filters, kernel, padding="same", use_bias=False,
                                   kernel_initializer=initializer, name=name)(x)
    if pad:
        x = keras.layers.ZeroPadding2D(pad, name=f"{name}.pad")(x)
    return Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=False,
                               kernel_initializer=initializer, name=name)(x)


def _basic_block(x, filters, stride, name, initializer):
    """torchvision BasicBlock: (b, h, w, c) → (b, ⌈h/s⌉, ⌈w/s⌉, filters)."""
    shortcut = x
    y = _conv(filters, 3, stride, f"{name}.conv1", initializer, x)
    y = _bn(f"{name}.bn1")(y)
    y = keras.layers.ReLU(name=f"{name}.relu1")(y)
    y = _conv(filters, 3, 1, f"{name}.conv2", initializer, y)
    y = _bn(f"{name}.bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = Conv2D(filters, 1, strides=stride, padding="valid", use_bias=False,
                                       kernel_initializer=initializer, name=f"{name}.downsample.0")(x)
        shortcut = _bn(f"{name}.downsample.1")(shortcut)
    y = keras.layers.Add(name=f"{name}.add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}.relu2")(y)


def build_resnet(blocks, widths, input_shape, input_scale=None, kernel_initializer=None,
                 name: str = "resnet") -> keras.Model:
    """A torchvision-layout ResNet of BasicBlocks returning its four stage outputs.

    Args:
        blocks: BasicBlocks per stage, e.g. (3, 4, 6, 3) for ResNet-34.
        widths: channels per stage; the stem conv1 has widths[0].
        input_shape: (height, width, channels) of the input.
        input_scale: per-channel factors multiplied into the input first (``input_scale``
            layer), or None for no such layer.
        kernel_initializer: for every convolution; None: torchvision's (``conv_initializer``).
        name: model name.

    Returns:
        A model (b, h, w, channels) float32 → [layer1 (b, h/4, w/4, widths[0]), layer2
        (.../8, widths[1]), layer3 (.../16, widths[2]), layer4 (.../32, widths[3])] (sizes
        rounded up). BatchNormalization follows the ``training`` flag: batch statistics in
        training, running statistics in inference (PyTorch's train()/eval()).
    """
    blocks, widths, input_shape = tuple(blocks), tuple(widths), tuple(input_shape)
    _check_architecture(blocks, widths, input_shape)
    initializer = kernel_initializer or conv_initializer()
    inputs = keras.Input(shape=input_shape, dtype="float32", name="input")
    x = inputs
    if input_scale is not None:
        x = keras.layers.Rescaling(scale=tuple(float(s) for s in input_scale), name="input_scale")(x)
    x = _conv(widths[0], 7, 2, "conv1", initializer, x)
    x = _bn("bn1")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.ZeroPadding2D(1, name="maxpool.pad")(x)
    x = MaxPooling2D(3, 2, padding="valid", name="maxpool")(x)
    stages = []
    for stage, (count, filters) in enumerate(zip(blocks, widths), start=1):
        for index in range(count):
            stride = 2 if stage > 1 and index == 0 else 1
            x = _basic_block(x, filters, stride, f"layer{stage}.{index}", initializer)
        stages.append(x)
    return keras.Model(inputs, stages, name=name)


def build_resnet34(config: ResNetConfig = ResNetConfig(), name: str = "resnet34") -> keras.Model:
    """The image backbone of DSPAH (§IV.B): preprocessed RGB images (b, s, s, 3), mean already
    subtracted on the 0–255 scale → the four stage outputs (``build_resnet``). ``config.blocks``
    and ``config.widths`` are ResNet-34's in the paper preset, smaller in the cpu/smoke presets."""
    if config.input_size > config.resize:
        raise ValueError(f"input_size ({config.input_size}) must not exceed resize ({config.resize})")
    if len(config.std_rgb) != 3 or min(config.std_rgb) <= 0:
        raise ValueError(f"std_rgb must be 3 positive values, got {config.std_rgb}")
    size = config.input_size
    return build_resnet(config.blocks, config.widths, (size, size, 3),
                        input_scale=[1.0 / s for s in config.std_rgb], name=name)


# ---------------------------------------------------------------------------------- weights

_BN_KEYS = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
            ("moving_variance", "running_var"))


def _expected_arrays(model: keras.Model) -> list[tuple[str, object, tuple]]:
    """(torchvision key, variable, torchvision shape) for every conv and BN variable of ``model``."""
    expected = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            h, w, i, o = layer.kernel.shape
            expected.append((f"{layer.name}.weight", layer.kernel, (o, i, h, w)))  # OIHW
        elif isinstance(layer, keras.layers.BatchNormalization):
            for attribute, key in _BN_KEYS:
                variable = getattr(layer, attribute)
                expected.append((f"{layer.name}.{key}", variable, tuple(variable.shape)))
    if not expected:
        raise ValueError(f"model {model.name!r} has no convolution or BatchNormalization layers: "
                         "expected a model from build_resnet34 / build_resnet")
    return expected


def load_torchvision_resnet(model: keras.Model, path: str | os.PathLike) -> list[str]:
    """Assign a torchvision ResNet state dict saved as ``.npz`` to ``model`` (``build_resnet34``).

    Conv kernels are OIHW in the file and become HWIO; BN ``weight``/``bias``/``running_mean``/
    ``running_var`` become gamma/beta/moving mean/moving variance (eps 1e-5 in both). ``fc.*``
    and ``num_batches_tracked`` are ignored. Everything is checked before anything is
    assigned, so a failed load leaves the model as it was. Returns the keys loaded.

    Raises:
        WeightsNotFoundError (a FileNotFoundError): no file at ``path``.
        WeightsFileError (a ValueError): not an ``.npz``, an unreadable array, a key missing
            (with the blocks per stage of the file and of the model: a ResNet-18 file, say), or
            a shape mismatch (e.g. a scaled-down preset given ImageNet ResNet-34 weights).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsNotFoundError(f"ResNet weights file not found: {path!r} (expected a torchvision state dict "
                                   "saved with np.savez, see sdch_tf/nets/resnet.py)")
    if not zipfile.is_zipfile(path):
        raise WeightsFileError(f"{path}: not an .npz archive; expected the torchvision ResNet-34 state dict saved with "
                               "np.savez (keys conv1.weight, bn1.running_mean, layer1.0.conv1.weight, ...)")
    expected = _expected_arrays(model)
    assignments = []
    with np.load(path, allow_pickle=False) as archive:
        if any(name.startswith("archive/") or name == "data.pkl" for name in archive.files):
            raise WeightsFileError(f"{path}: looks like a PyTorch .pth zip, not an .npz; convert it "
                                   "(resnet.py docstring)")
        missing = [key for key, _, _ in expected if key not in archive.files]
        if missing:
            shown = ", ".join(missing[:6]) + (f", ... ({len(missing)} in all)" if len(missing) > 6 else "")
            raise WeightsFileError(f"{path}: missing key(s) {shown}; keys found start with "
                                   f"{sorted(archive.files)[:6]}; blocks per stage: the file has "
                                   f"{_blocks_per_stage(archive.files)}, the model "
                                   f"{_blocks_per_stage([key for key, _, _ in expected])}")
        for key, variable, torch_shape in expected:
            try:
                value = archive[key]
            except Exception as error:  # a corrupt member, an object array (needs pickle), ...
                raise WeightsFileError(f"{path}: cannot read the array {key!r} ({type(error).__name__}: {error}); "
                                       "expected float arrays saved with np.savez") from None
            if value.shape != torch_shape:
                raise WeightsFileError(
                    f"{path}: {key} has shape {value.shape}, the model expects {torch_shape}"
                    + (" (OIHW)" if value.ndim == 4 else "")
                    + "; ImageNet weights need the paper preset's ResNet-34 (widths 64..512, blocks 3,4,6,3)"
                )
            if not np.issubdtype(value.dtype, np.floating):
                raise WeightsFileError(f"{path}: {key} has dtype {value.dtype}, expected floating point")
            if value.ndim == 4:
                value = value.transpose(2, 3, 1, 0)  # OIHW → HWIO
            assignments.append((key, variable, value.astype(np.float32)))
    for _, variable, value in assignments:
        variable.assign(value)
    return [key for key, _, _ in assignments]


def write_torchvision_resnet(path: str | os.PathLike, model: keras.Model, fc=None) -> None:
    """A torchvision ResNet state dict as ``.npz`` of a trained ``build_resnet34`` / ``build_resnet``
    network: the inverse of ``load_torchvision_resnet``.

    Conv kernels HWIO → OIHW; BN gamma/beta/moving mean/moving variance → ``weight``/``bias``/
    ``running_mean``/``running_var``, with torchvision's ``num_batches_tracked`` (int64, unused by
    the loader); ``fc.weight`` (K, C) and ``fc.bias`` when given the classifier's Dense layer.
    Written atomically (``sdch_tf.atomic``).
    """
    arrays = {}
    for key, variable, _ in _expected_arrays(model):
        value = np.asarray(variable, np.float32)
        arrays[key] = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value  # HWIO → OIHW
        if key.endswith(".running_var"):
            arrays[key[:-len("running_var")] + "num_batches_tracked"] = np.array(0, np.int64)
    if fc is not None:
        arrays["fc.weight"] = np.asarray(fc.kernel, np.float32).T
        arrays["fc.bias"] = np.asarray(fc.bias, np.float32)
    atomic_write(os.fspath(path), lambda f: np.savez(f, **arrays))


def _blocks_per_stage(keys) -> tuple[int, ...]:
    """(blocks in layer1, ..., layer4) of torchvision keys ``layer<s>.<i>.…``: (3, 4, 6, 3) for ResNet-34."""
    counts = [0, 0, 0, 0]
    for key in keys:
        parts = key.split(".")
        if len(parts) > 2 and parts[0] in ("layer1", "layer2", "layer3", "layer4") and parts[1].isdigit():
            stage = int(parts[0][-1]) - 1
            counts[stage] = max(counts[stage], int(parts[1]) + 1)
    return tuple(counts)


def pretrained_variables(model: keras.Model) -> list:
    """The trainable variables ``load_torchvision_resnet`` fills (conv kernels, BN gamma/beta)."""
    return [v for _, v, _ in _expected_arrays(model) if v.trainable]
