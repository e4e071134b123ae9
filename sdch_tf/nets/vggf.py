"""CNN-F / VGG-F (Chatfield et al., BMVC 2014) as MatConvNet's ``imagenet-vgg-f.mat`` defines it.

The image network of DCMH (Jiang & Li, CVPR 2017) and of the baselines that follow its
protocol (CMHN, RDCMH). Input: float32 (N, S, S, 3), RGB, the file's mean already
subtracted (MatConvNet convention, no channel reversal); S = 224 for the pretrained weights.
Output: float32 (N, fc_units[-1]), fc7 after its ReLU (and dropout in training); the method
adds its own fc8 → r head.

Layer sequence (MatConvNet ``simplenn`` order conv → relu → lrn → pool; docs/reproduction.md §2),
shapes for the 224×224 input:

    conv1   64×11×11 stride 4 pad 0 → 54×54×64,  ReLU, LRN, pool 3/2 pad [0 1 0 1] → 27×27×64
    conv2  256×5×5   stride 1 pad 2 → 27×27×256, ReLU, LRN, pool 3/2 pad 0       → 13×13×256
    conv3  256×3×3   stride 1 pad 1 → 13×13×256, ReLU
    conv4  256×3×3   stride 1 pad 1 → 13×13×256, ReLU
    conv5  256×3×3   stride 1 pad 1 → 13×13×256, ReLU,      pool 3/2 pad 0       → 6×6×256
    fc6    a 6×6×256×4096 convolution = Dense on the (H, W, C)-flattened pool5, ReLU, dropout
    fc7    4096, ReLU, dropout

Decisions, each checked against the file when weights are loaded (``load_vggf``):
- LRN: MatConvNet's ``vl_nnnormalize`` with PARAM = [N KAPPA ALPHA BETA] computes
  x / (KAPPA + ALPHA·Σ_{window of N channels} x²)^BETA, ALPHA *not* divided by N (its doc:
  Caffe's alpha is N·ALPHA). CNN-F's [5 2 1e-4 0.75] is TensorFlow's depth_radius 2, bias 2,
  alpha 1e-4, beta 0.75, the values the DCMH TensorFlow code (net_structure_img.py) hard-codes
  for this file; ``load_vggf`` reads the file's own param and refuses a mismatch.
- Pool padding: 54 is even, so pool1 pads one row/column at the bottom/right ([0 1 0 1]) to
  give 27; pool2 (27 → 13) and pool5 (13 → 6) need none (inferred from the sizes, not read
  from a real file here). MatConvNet's max pooling ignores
  padded cells (its window is clipped to the input), reproduced by padding with the lowest
  float. A file whose pool2/pool5 pads differ but give the same windows (same top/left pad,
  same output size) is the same network and is accepted.
- fc6: MatConvNet stores it as a 6×6×256×4096 (H×W×C×K) convolution over the 6×6 pool5 map.
  scipy.io returns MATLAB arrays with MATLAB's index order, so the kernel reshaped in C order
  to (6·6·256, 4096) multiplies the channels-last flatten of pool5 exactly (index h·1536 +
  w·256 + c on both sides); tests/nets/test_vggf.py checks the equality with the convolution.
- Dropout: the file is a deploy network without dropout layers; ``VGGFConfig.dropout`` adds
  dropout after fc6 and fc7 during training (as in CNN-F's training) and 0 removes it.
- Random initialisation (no weights file): He-normal, conv1's variance divided by the pixel
  variance of its mean-subtracted 0–255 input (``alexnet.relu_initializer(PIXEL_STD)``), as
  for SDCH's AlexNet; without it a random image net's outputs start ~1000× the text net's.
  ``VGGFConfig.input_scale`` (default 1, required for the pretrained weights) can instead
  feed conv1 the pixels divided by their std: the same family of functions, but conv1's
  gradient relative to its weights is no longer ~PIXEL_STD² (≈ 3,300) times the other layers'
  — the condition that lets plain SGD train a random CNN-F at all.
- Mean: the file holds a 224×224×3 average image (``normalization.averageImage`` in older
  files, ``meta.normalization.averageImage`` in newer ones) or a per-channel mean. The shared
  pipeline subtracts a per-channel mean (``ImagePreprocessing.mean_rgb``), so the average
  image is reduced to its channel means (``read_vggf_mean``); the full image is returned too.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import keras
import numpy as np
import scipy.io
import tensorflow as tf

from sdch_tf.atomic import atomic_write
from sdch_tf.data.pipeline import ImagePreprocessing
from sdch_tf.input_errors import WeightsFileError, WeightsNotFoundError
from sdch_tf.nets.empty_batch import skip_if_empty
from sdch_tf.nets.alexnet import CAFFE_IMAGENET_MEAN_RGB, PIXEL_STD, GroupedConv2D, LocalResponseNorm, layers_named, relu_initializer

# The seven layers with weights in imagenet-vgg-f.mat that the hashing methods fine-tune
# (fc8, the 1000-way classifier, is replaced by each method's r-bit layer).
PRETRAINED_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")

# Kernel shapes (H×W×C×K) in imagenet-vgg-f.mat.
VGGF_SHAPES = {
    "conv1": (11, 11, 3, 64),
    "conv2": (5, 5, 64, 256),
    "conv3": (3, 3, 256, 256),
    "conv4": (3, 3, 256, 256),
    "conv5": (3, 3, 256, 256),
    "fc6": (6, 6, 256, 4096),
    "fc7": (1, 1, 4096, 4096),
}

# (kernel, stride, pad) of conv1..conv5 (Chatfield et al. 2014, Table 1, CNN-F).
_CONV_SPECS = ((11, 4, 0), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1))
# The max pools follow conv1, conv2 and conv5: 3×3, stride 2.
_POOLED = {1: "pool1", 2: "pool2", 5: "pool5"}
_POOL_SIZE, _POOL_STRIDE = 3, 2


@dataclass(frozen=True)
class VGGFConfig:
    """CNN-F image pipeline; defaults are ``imagenet-vgg-f.mat`` (docs/reproduction.md §2)."""

    input_size: int = 224                 # the DCMH .mat files hold 224×224 images, fed uncropped
    resize: int = 224                     # no resize for the 224×224 DCMH images (DCMH code: imresize to 224)
    conv_filters: tuple[int, ...] = (64, 256, 256, 256, 256)  # CNN-F conv1..conv5
    fc_units: tuple[int, ...] = (4096, 4096)  # CNN-F fc6, fc7
    dropout: float = 0.5                  # after fc6/fc7 in training (CNN-F training); the .mat has none
    lrn: bool = True                      # LRN after conv1 and conv2
    # MatConvNet vl_nnnormalize PARAM = [N KAPPA ALPHA BETA] of CNN-F's norm1/norm2.
    lrn_param: tuple[float, float, float, float] = (5, 2.0, 1e-4, 0.75)
    # [top bottom left right] of pool1, pool2, pool5 (see the module docstring).
    pool_pads: tuple[tuple[int, int, int, int], ...] = ((0, 1, 0, 1), (0, 0, 0, 0), (0, 0, 0, 0))
    # ILSVRC-2012 training-set mean (the data CNN-F's average image is computed on); replaced by
    # the file's own mean when weights are loaded (read_vggf_mean).
    mean_rgb: tuple[float, float, float] = CAFFE_IMAGENET_MEAN_RGB
    bgr: bool = False                     # MatConvNet models take RGB
    # Std of the mean-subtracted 0–255 pixels: scales conv1's He init (random init only).
    pixel_std: float = PIXEL_STD
    # Multiplies the (mean-subtracted 0–255) input before conv1; 1 for the pretrained weights.
    # 1/PIXEL_STD gives a randomly initialised net unit-scale inputs: the same functions, but
    # conv1's gradients are no longer ~PIXEL_STD² times larger, relative to its weights, than
    # the other layers' (which breaks plain SGD when training from scratch).
    input_scale: float = 1.0


@keras.saving.register_keras_serializable(package="sdch_tf")
class PaddedMaxPool2D(keras.layers.Layer):
    """MatConvNet max pooling: explicit [top bottom left right] padding that never wins the max.

    (N, H, W, C) → (N, H', W', C) with H' = (H + top + bottom − pool_size) // strides + 1.
    """

    def __init__(self, pool_size: int = _POOL_SIZE, strides: int = _POOL_STRIDE, pad=(0, 0, 0, 0), **kwargs):
        super().__init__(**kwargs)
        self.pool_size, self.strides = int(pool_size), int(strides)
        self.pad = tuple(int(p) for p in pad)

    def call(self, inputs):
        # An empty per-replica batch must not reach oneDNN's MaxPool (sdch_tf.nets.empty_batch).
        return skip_if_empty(self._pool, inputs, self.compute_output_shape(tuple(inputs.shape))[1:])

    def _pool(self, inputs):
        top, bottom, left, right = self.pad
        x = inputs
        if any(self.pad):
            # MatConvNet clips the window to the input; the lowest float never wins the max.
            x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], constant_values=x.dtype.min)
        return tf.nn.max_pool2d(x, self.pool_size, self.strides, "VALID")

    def compute_output_shape(self, input_shape):
        top, bottom, left, right = self.pad

        def out(size, before, after):
            return None if size is None else (size + before + after - self.pool_size) // self.strides + 1

        return (input_shape[0], out(input_shape[1], top, bottom), out(input_shape[2], left, right), input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, strides=self.strides, pad=self.pad)
        return config


def _pool_out(side: int, pad) -> int:
    return (side + pad[0] + pad[1] - _POOL_SIZE) // _POOL_STRIDE + 1


def spatial_sizes(config: VGGFConfig) -> dict[str, int]:
    """Side length after each spatial layer (conv1, pool1, ..., pool5) for ``config.input_size``."""
    sizes, side = {}, config.input_size
    pools = dict(zip(_POOLED, config.pool_pads))
    for index, (kernel, stride, pad) in enumerate(_CONV_SPECS, start=1):
        side = (side + 2 * pad - kernel) // stride + 1
        sizes[f"conv{index}"] = side
        if index in pools:
            side = _pool_out(side, pools[index])
            sizes[_POOLED[index]] = side
    return sizes


def _lrn_layer_args(lrn_param) -> dict:
    """MatConvNet [N KAPPA ALPHA BETA] → TensorFlow LRN arguments (alpha is not divided by N)."""
    size, kappa, alpha, beta = lrn_param
    return {"depth_radius": (int(size) - 1) // 2, "bias": float(kappa), "alpha": float(alpha), "beta": float(beta)}


def _check_config(config: VGGFConfig) -> None:
    if len(config.conv_filters) != 5 or min(config.conv_filters) < 1:
        raise ValueError(f"VGGFConfig.conv_filters must be 5 positive counts (conv1..conv5), got {config.conv_filters}")
    if len(config.fc_units) != 2 or min(config.fc_units) < 1:
        raise ValueError(f"VGGFConfig.fc_units must be 2 positive widths (fc6, fc7), got {config.fc_units}")
    if not 0.0 <= config.dropout < 1.0:
        raise ValueError(f"VGGFConfig.dropout must be in [0, 1), got {config.dropout}")
    if len(config.lrn_param) != 4:
        raise ValueError(f"VGGFConfig.lrn_param must be [N KAPPA ALPHA BETA], got {config.lrn_param}")
    size = config.lrn_param[0]
    if int(size) != size or size < 1 or int(size) % 2 == 0:
        # vl_nnnormalize's window for even N is asymmetric; TensorFlow's LRN is symmetric.
        raise ValueError(f"VGGFConfig.lrn_param window N must be a positive odd integer, got {size}")
    if len(config.pool_pads) != 3 or any(len(p) != 4 or min(p) < 0 or max(p) >= _POOL_SIZE
                                         for p in config.pool_pads):
        raise ValueError(
            f"VGGFConfig.pool_pads must be three [top bottom left right] pads in [0, {_POOL_SIZE}) "
            f"(pool1, pool2, pool5), got {config.pool_pads}"
        )
    if not config.input_scale > 0:
        raise ValueError(f"VGGFConfig.input_scale must be positive, got {config.input_scale}")
    if config.input_size > config.resize:
        raise ValueError(f"VGGFConfig.input_size {config.input_size} exceeds resize {config.resize}")
    sizes = spatial_sizes(config)
    if min(sizes.values()) < 1:
        trace = ", ".join(f"{name} {side}" for name, side in sizes.items())
        raise ValueError(f"VGGFConfig.input_size={config.input_size} leaves no spatial map after pool5 ({trace})")


def build_vggf(config: VGGFConfig, name: str = "vggf") -> keras.Model:
    """CNN-F up to fc7 as a functional Keras model.

    Args:
        config: filter counts, fc widths, dropout, LRN, pool pads and input size.
        name: model name.

    Returns:
        A model mapping float32 (N, S, S, 3) mean-subtracted RGB images to (N, fc_units[-1]),
        fc7 after ReLU (and dropout when training). Layers with weights: conv1..conv5, fc6, fc7
        (``PRETRAINED_LAYERS``); fc6 is a Dense on the flattened pool5 map.
    """
    _check_config(config)
    size = config.input_size
    inputs = keras.Input(shape=(size, size, 3), dtype="float32", name="image")
    x = inputs
    if config.input_scale != 1.0:
        x = keras.layers.Rescaling(config.input_scale, name="input_scale")(x)
    pools = dict(zip(_POOLED, config.pool_pads))
    for index, ((kernel, stride, pad), filters) in enumerate(zip(_CONV_SPECS, config.conv_filters), start=1):
        x = GroupedConv2D(
            filters, kernel, strides=stride, padding=pad, groups=1, activation="relu", name=f"conv{index}",
            kernel_initializer=relu_initializer(config.pixel_std * config.input_scale if index == 1 else 1.0),
        )(x)
        if config.lrn and index in (1, 2):  # norm1, norm2 after relu1, relu2
            x = LocalResponseNorm(**_lrn_layer_args(config.lrn_param), name=f"lrn{index}")(x)
        if index in pools:
            x = PaddedMaxPool2D(pad=pools[index], name=_POOLED[index])(x)
    # Channels-last flatten = the (H, W, C) order of the 6×6×256×4096 fc6 kernel reshaped in C order.
    x = keras.layers.Flatten(name="flatten")(x)
    for index, units in zip((6, 7), config.fc_units):
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=relu_initializer(), name=f"fc{index}")(x)
        x = keras.layers.Dropout(config.dropout, name=f"drop{index}")(x)
    return keras.Model(inputs, x, name=name)


def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    return layers_named(model, PRETRAINED_LAYERS, "build_vggf")


def pretrained_variables(model: keras.Model) -> list:
    """Kernel and bias of conv1..conv5, fc6, fc7, in that order (14 variables)."""
    return [variable for layer in _layers(model) for variable in (layer.kernel, layer.bias)]


# ------------------------------------------------------------------------- the .mat file
_EXPECTED_LAYOUT = (
    "expected MatConvNet's imagenet-vgg-f.mat: a 'layers' cell array of structs (name, type, weights = "
    "{kernel, bias} or filters/biases, stride, pad; param for lrn/normalize; pool, stride, pad for pool) and "
    "'normalization' or 'meta.normalization' with averageImage"
)


def _unwrap(value):
    """A MATLAB value as loaded with squeeze_me=False: strip 1-element object wrappers."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def _field(struct, name: str, default=None):
    if struct is None or name not in getattr(struct, "_fieldnames", ()):
        return default
    return _unwrap(getattr(struct, name))


def _text(value) -> str:
    value = _unwrap(value)
    if isinstance(value, np.ndarray):
        return "".join(str(v) for v in value.reshape(-1))
    return "" if value is None else str(value)


def _numbers(value) -> np.ndarray:
    return np.asarray(_unwrap(value), dtype=np.float64).reshape(-1)


def _loadmat(path: str, variable_names=None) -> dict:
    if not os.path.isfile(path):
        raise WeightsNotFoundError(f"VGG-F weights file not found: {path!r} (expected imagenet-vgg-f.mat)")
    try:
        return scipy.io.loadmat(path, struct_as_record=False, squeeze_me=False, variable_names=variable_names)
    except NotImplementedError:  # scipy's message for MATLAB v7.3 (HDF5) files
        raise WeightsFileError(f"{path}: is a MATLAB v7.3 (HDF5) file; imagenet-vgg-f.mat is MATLAB v5 — "
                               f"re-save it with save(..., '-v7') ({_EXPECTED_LAYOUT})") from None
    except Exception as error:
        raise WeightsFileError(f"{path}: could not be read by scipy.io.loadmat ({type(error).__name__}: {error}); "
                               f"{_EXPECTED_LAYOUT}") from None


def _root(contents: dict, path: str):
    """The struct-like holder of 'layers' and the normalisation: the file itself or its 'net'."""
    if "layers" in contents:
        return contents
    if "net" in contents:  # DCMH's vgg_net.mat: the whole simplenn struct saved as 'net'
        net = _unwrap(contents["net"])
        return {name: getattr(net, name) for name in getattr(net, "_fieldnames", ())}
    keys = sorted(k for k in contents if not k.startswith("__"))
    raise WeightsFileError(f"{path}: no 'layers' (or 'net') variable; variables found: {keys}; {_EXPECTED_LAYOUT}")


def _mean_from(root: dict, path: str) -> dict:
    normalization = None
    if "normalization" in root:
        normalization = _unwrap(root["normalization"])
    elif "meta" in root:
        normalization = _field(_unwrap(root["meta"]), "normalization")
    average = _field(normalization, "averageImage")
    if average is None:
        raise WeightsFileError(f"{path}: no normalization.averageImage or meta.normalization.averageImage; "
                               f"{_EXPECTED_LAYOUT}")
    average = np.asarray(average, dtype=np.float64)
    if average.size == 3:
        return {"mean_rgb": tuple(float(v) for v in average.reshape(-1)), "average_image": None}
    if average.ndim != 3 or average.shape[-1] != 3:
        raise WeightsFileError(f"{path}: averageImage has shape {average.shape}; expected H×W×3 or 3 values")
    return {"mean_rgb": tuple(float(v) for v in average.mean(axis=(0, 1))),
            "average_image": average.astype(np.float32)}


def channel_mean_preprocessing(config: "VGGFConfig", weights: str | None) -> ImagePreprocessing:
    """The CNN-F input of ``config`` (resize, crop, RGB or BGR), minus the channel means of the weights
    file when one is given (its average image's), else ``config.mean_rgb``: the shared pipeline's
    CNN-F convention (CMHN, RDCMH, PRDH)."""
    prep = ImagePreprocessing.from_config(config)
    if weights:
        prep = ImagePreprocessing(prep.resize, prep.crop, tuple(float(m) for m in read_vggf_mean(weights)["mean_rgb"]),
                                  prep.bgr)
    return prep


def read_vggf_mean(path: str | os.PathLike) -> dict:
    """The input mean of ``imagenet-vgg-f.mat``, reading only the normalisation variables.

    Returns:
        {"mean_rgb": (R, G, B) channel means of the average image, "average_image": float32
        H×W×3 array, or None when the file stores a per-channel mean}.
    """
    path = os.fspath(path)
    contents = _loadmat(path, variable_names=["normalization", "meta", "net"])
    if "net" in contents and "normalization" not in contents and "meta" not in contents:
        return _mean_from(_root(contents, path), path)
    return _mean_from(contents, path)


def _layer_table(root: dict, path: str) -> dict:
    """name → (position, struct) of the file's layers."""
    layers = root["layers"]
    items = list(np.asarray(layers, dtype=object).reshape(-1, order="F"))
    table = {}
    for position, item in enumerate(items):
        struct = _unwrap(item)
        if _field(struct, "block") is not None:
            raise WeightsFileError(f"{path}: a DagNN network (layers with a 'block' field); load_vggf reads the "
                                   f"simplenn imagenet-vgg-f.mat ({_EXPECTED_LAYOUT})")
        table[_text(_field(struct, "name"))] = (position, struct)
    return table


def _kernel_and_bias(struct, name: str, path: str):
    weights = _field(struct, "weights")
    if weights is not None:
        parts = list(np.asarray(weights, dtype=object).reshape(-1))
        if len(parts) != 2:
            raise WeightsFileError(f"{path}: layer {name!r} field 'weights' holds {len(parts)} arrays, "
                                   "expected {kernel, bias}")
        kernel, bias = parts
    else:
        kernel, bias = _field(struct, "filters"), _field(struct, "biases")
        if kernel is None or bias is None:
            raise WeightsFileError(f"{path}: layer {name!r} has neither 'weights' nor 'filters'/'biases'; "
                                   f"fields: {list(getattr(struct, '_fieldnames', ()))}")
    kernel = np.asarray(_unwrap(kernel))
    # MATLAB drops trailing singleton dimensions (e.g. H×W×C×1 is stored as H×W×C).
    kernel = kernel.reshape(kernel.shape + (1,) * (4 - kernel.ndim)) if kernel.ndim < 4 else kernel
    return kernel, np.asarray(_unwrap(bias)).reshape(-1)


def _expect(condition: bool, path: str, message: str) -> None:
    if not condition:
        raise WeightsFileError(f"{path}: {message}")


def _pad4(value) -> tuple[int, ...]:
    pad = _numbers(value).astype(int)
    if pad.size == 1:
        return (int(pad[0]),) * 4
    if pad.size == 2:  # [PY PX]
        return (int(pad[0]), int(pad[0]), int(pad[1]), int(pad[1]))
    return tuple(int(p) for p in pad[:4])


def _stride2(value) -> tuple[int, int]:
    stride = _numbers(value).astype(int)
    return (int(stride[0]), int(stride[0])) if stride.size == 1 else (int(stride[0]), int(stride[1]))


def _check_geometry(table: dict, model: keras.Model, path: str) -> None:
    """Strides, pads, LRN and pool parameters of the file against the network that was built."""
    for index, (kernel, stride, pad) in enumerate(_CONV_SPECS, start=1):
        struct = table[f"conv{index}"][1]
        file_stride = _stride2(_field(struct, "stride", 1))
        file_pad = _pad4(_field(struct, "pad", 0))
        _expect(file_stride == (stride, stride) and file_pad == (pad,) * 4, path,
                f"conv{index} has stride {file_stride} pad {file_pad}; CNN-F's conv{index} is stride {stride} pad {pad}")
    for name in ("fc6", "fc7"):
        struct = table[name][1]
        _expect(_pad4(_field(struct, "pad", 0)) == (0, 0, 0, 0) and _stride2(_field(struct, "stride", 1)) == (1, 1),
                path, f"{name} must be a stride-1 unpadded convolution")
    names = {layer.name for layer in model.layers}
    built_lrns = [model.get_layer(name) for name in ("lrn1", "lrn2") if name in names]
    file_lrns = [s for _, s in sorted(table.values(), key=lambda item: item[0])
                 if _text(_field(s, "type")) in ("lrn", "normalize")]
    _expect(len(file_lrns) == len(built_lrns), path,
            f"the file has {len(file_lrns)} LRN layer(s) (type 'lrn' or 'normalize'), the network "
            f"{len(built_lrns)} (VGGFConfig.lrn)")
    for layer, struct in zip(built_lrns, file_lrns):
        param = _numbers(_field(struct, "param"))
        built = (2 * layer.depth_radius + 1, layer.bias, layer.alpha, layer.beta)
        _expect(param.size == 4 and np.allclose(param, built, rtol=1e-5), path,
                f"{_text(_field(struct, 'name'))} has param [N KAPPA ALPHA BETA] = {param.tolist()}, {layer.name} "
                f"was built with {list(built)} (VGGFConfig.lrn_param); build the network with the file's values")
    for conv, name in _POOLED.items():
        _expect(name in table, path, f"no layer {name!r}; layers found: {sorted(table)}")
        struct = table[name][1]
        method = _text(_field(struct, "method", "max"))
        pool = _numbers(_field(struct, "pool", _POOL_SIZE)).astype(int)
        stride = _stride2(_field(struct, "stride", 1))
        pad = _pad4(_field(struct, "pad", 0))
        _expect(method == "max" and set(pool.tolist()) == {_POOL_SIZE} and stride == (_POOL_STRIDE,) * 2, path,
                f"{name} is {method} pool {pool.tolist()} stride {stride}; expected max pool 3×3 stride 2")
        built_pad = model.get_layer(name).pad
        side = model.get_layer(f"conv{conv}").output.shape[1]
        # Same top/left pad and output size ⇒ the same windows: the pad is the same network.
        same = (pad[0], pad[2]) == (built_pad[0], built_pad[2]) and \
            (_pool_out(side, pad[:2]), _pool_out(side, pad[2:])) == (_pool_out(side, built_pad[:2]),) * 2
        _expect(same, path, f"{name} pad {list(pad)} gives other pooling windows than the network's "
                            f"{list(built_pad)} (VGGFConfig.pool_pads) at side {side}")


def load_vggf(model: keras.Model, path: str | os.PathLike) -> dict:
    """Assigns the weights of ``imagenet-vgg-f.mat`` to conv1..conv5, fc6 and fc7 of ``model``.

    The file is read by field name (never by position): the ``layers`` cell array of MatConvNet
    simplenn structs (kernel and bias from ``weights`` = {kernel, bias}, or ``filters`` /
    ``biases`` in older files), strides, pads, LRN ``param`` and pool parameters, and the mean
    under ``normalization.averageImage`` (older) or ``meta.normalization.averageImage``
    (newer); a file holding the whole network as ``net`` is accepted too. Kernels are H×W×C×K;
    fc6's 6×6×C×K kernel becomes the Dense kernel (6·6·C, K) in (H, W, C) order. fc8 is ignored.
    Everything is checked before anything is assigned, so a failed load leaves the model as it was.

    Args:
        model: a model from ``build_vggf`` with the file's sizes (VGGFConfig() defaults: 224 input);
            its LRN parameters and pool pads are checked against the file's.
        path: the .mat file.

    Returns:
        {"mean_rgb": (3,) channel means, "average_image": H×W×3 float32 or None} (``read_vggf_mean``).

    Raises:
        WeightsNotFoundError (a FileNotFoundError): no file at ``path``. WeightsFileError (a
        ValueError): not a v5 MAT file, a variable or layer missing, a shape or a layer parameter
        that does not match the network.
    """
    path = os.fspath(path)
    names = {layer.name for layer in model.layers}
    if "input_scale" in names:
        raise WeightsFileError(f"model {model.name!r} rescales its input (VGGFConfig.input_scale != 1); the weights of "
                               f"{path} expect the mean-subtracted 0–255 pixels: build it with input_scale=1")
    root = _root(_loadmat(path), path)
    table = _layer_table(root, path)
    missing = [name for name in PRETRAINED_LAYERS if name not in table]
    _expect(not missing, path, f"missing layer(s) {missing}; layers found: {sorted(table)}")
    side = model.get_layer("pool5").output.shape[1]
    assignments = []
    for layer in _layers(model):
        kernel, bias = _kernel_and_bias(table[layer.name][1], layer.name, path)
        built = tuple(layer.kernel.shape)
        # fc6/fc7 are Dense: their file kernels are side×side×C×K and 1×1×C×K convolutions.
        expected = built if len(built) == 4 else \
            ((side, side, built[0] // (side * side), built[1]) if layer.name == "fc6" else (1, 1) + built)
        if kernel.shape != expected or bias.shape != (built[-1],):
            scaled = expected != VGGF_SHAPES[layer.name]
            hint = (f"the network was built with a scaled-down VGGFConfig ({layer.name} expects {expected}, the "
                    f"file's CNN-F has {VGGF_SHAPES[layer.name]}): pretrained weights need VGGFConfig() sizes "
                    f"(input 224, conv 64/256/256/256/256, fc 4096/4096)" if scaled else
                    f"CNN-F's {layer.name} kernel is {VGGF_SHAPES[layer.name]}")
            raise WeightsFileError(f"{path}: {layer.name} kernel {kernel.shape} / bias {bias.shape}, layer "
                                   f"{layer.name!r} expects {expected} / {(built[-1],)}; {hint}")
        for role, value in (("kernel", kernel), ("bias", bias)):
            _expect(np.issubdtype(value.dtype, np.floating), path,
                    f"{layer.name} {role} has dtype {value.dtype}, expected floating point")
        assignments.append((layer.kernel, kernel.reshape(built).astype(np.float32)))
        assignments.append((layer.bias, bias.astype(np.float32)))
    try:
        _check_geometry(table, model, path)
    except (TypeError, ValueError, IndexError) as error:
        if isinstance(error, WeightsFileError):
            raise
        # A field of another type than MatConvNet's (text where numbers belong, an empty array).
        raise WeightsFileError(f"{path}: unreadable layer parameters ({type(error).__name__}: {error}); "
                               f"{_EXPECTED_LAYOUT}") from None
    mean = _mean_from(root, path)
    for variable, value in assignments:
        variable.assign(value)
    return mean


# ----------------------------------------------------------------------------- writing a file
def _cell(*items) -> np.ndarray:
    """A 1×n MATLAB cell array."""
    out = np.empty((1, len(items)), dtype=object)
    for index, item in enumerate(items):
        out[0, index] = item
    return out


def write_vggf_mat(path: str | os.PathLike, model: keras.Model, average_image: np.ndarray, fc8=None,
                   class_names=()) -> None:
    """``imagenet-vgg-f.mat`` of a trained ``build_vggf`` network: the inverse of ``load_vggf``.

    Writes the newer MatConvNet simplenn layout (``layers`` cell array with ``weights`` =
    {kernel, bias}, ``meta.normalization.averageImage``, ``meta.classes.name``): conv → relu →
    lrn → pool in CNN-F's order with the network's own LRN parameters and pool pads, fc6 as a
    side×side×C×K convolution over pool5 and fc7 (and fc8, when given a Dense layer) as 1×1 ones.
    ``average_image`` (H×W×3 RGB, or 3 channel means) is the mean the network was trained to
    have subtracted. Written atomically (``sdch_tf.atomic``).
    """
    side = model.get_layer("pool5").output.shape[1]
    names = {layer.name for layer in model.layers}
    layers = []

    def conv(name, kernel, bias, stride, pad):
        kernel = np.asarray(kernel, np.float32)
        layers.append({"name": name, "type": "conv", "weights": _cell(kernel, np.asarray(bias, np.float32)[None]),
                       "size": np.array([kernel.shape], float), "stride": np.array([[stride, stride]], float),
                       "pad": np.array([[pad] * 4], float), "dilate": np.array([[1.0, 1.0]]),
                       "opts": np.empty((0, 0), dtype=object)})

    def relu(index):
        layers.append({"name": f"relu{index}", "type": "relu", "leak": 0.0})

    for index, (_, stride, pad) in enumerate(_CONV_SPECS, start=1):
        layer = model.get_layer(f"conv{index}")
        conv(layer.name, layer.kernel, layer.bias, stride, pad)
        relu(index)
        if f"lrn{index}" in names:
            lrn = model.get_layer(f"lrn{index}")
            param = [2 * lrn.depth_radius + 1, lrn.bias, lrn.alpha, lrn.beta]
            layers.append({"name": f"norm{index}", "type": "lrn", "param": np.array([param], float)})
        if index in _POOLED:
            layers.append({"name": _POOLED[index], "type": "pool", "method": "max",
                           "pool": np.array([[_POOL_SIZE] * 2], float), "stride": np.array([[_POOL_STRIDE] * 2], float),
                           "pad": np.array([model.get_layer(_POOLED[index]).pad], float)})
    fc6, fc7 = model.get_layer("fc6"), model.get_layer("fc7")
    units = fc6.kernel.shape[1]
    conv("fc6", np.reshape(fc6.kernel, (side, side, -1, units)), fc6.bias, 1, 0)
    relu(6)
    conv("fc7", np.reshape(fc7.kernel, (1, 1) + tuple(fc7.kernel.shape)), fc7.bias, 1, 0)
    relu(7)
    if fc8 is not None:
        conv("fc8", np.reshape(fc8.kernel, (1, 1) + tuple(fc8.kernel.shape)), fc8.bias, 1, 0)
        layers.append({"name": "prob", "type": "softmax"})
    size = model.input.shape[1]
    meta = {"normalization": {"averageImage": np.asarray(average_image, np.float32),
                              "imageSize": np.array([[size, size, 3.0]]), "interpolation": "bilinear",
                              "keepAspect": 1.0, "border": np.array([[0.0, 0.0]])},
            "inputs": {"name": "input"},
            "classes": {"name": _cell(*class_names) if class_names else np.empty((0, 0), dtype=object)}}
    atomic_write(os.fspath(path), lambda f: scipy.io.savemat(f, {"layers": _cell(*layers), "meta": meta}))
