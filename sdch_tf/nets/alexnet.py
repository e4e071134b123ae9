"""SDCH's image pipeline: Caffe AlexNet with img-fc3 in place of fc8 (SDCH §3.2, Table 1).

Input: float32 (N, S, S, 3), BGR, the ImageNet mean of the loaded weights already
subtracted (docs/reproduction.md §1–2); S = 227 in the paper. Output: float32 (N, k), the
img-fc3 feature f_x of Eq. 4 (k = 256 in the paper).

Layer sequence, in Caffe AlexNet's order conv → ReLU → LRN → max-pool (docs/reproduction.md §1);
shapes for the paper's 227×227 input:

    conv1  96×11×11 stride 4 pad 0          → 55×55×96,  ReLU, LRN, pool 3/2 → 27×27×96
    conv2 256×5×5   stride 1 pad 2 groups 2 → 27×27×256, ReLU, LRN, pool 3/2 → 13×13×256
    conv3 384×3×3   stride 1 pad 1          → 13×13×384, ReLU
    conv4 384×3×3   stride 1 pad 1 groups 2 → 13×13×384, ReLU
    conv5 256×3×3   stride 1 pad 1 groups 2 → 13×13×256, ReLU, pool 3/2 → 6×6×256
    flatten (H, W, C order) → 9216 → fc6 4096 ReLU, dropout → fc7 4096 ReLU, dropout
    → img_fc3 k, linear, float32

The seven layers conv1..fc7 take the ``bvlc_alexnet.npy`` weights unchanged
(``load_bvlc_alexnet``); grouped convolutions keep the Caffe kernel shapes, e.g. conv2
(5, 5, 48, 256). The scaled-down ``cpu`` / ``smoke`` presets run this same code with
fewer filters, narrower fc layers and a smaller input (sdch_tf/sdch/config.py).
"""
from __future__ import annotations

import os
import zipfile

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from sdch_tf.atomic import atomic_write
from sdch_tf.input_errors import WeightsFileError, WeightsNotFoundError
from sdch_tf.nets.configs import CAFFE_IMAGENET_MEAN_RGB, ImageNetConfig  # noqa: F401  (re-exported)
from sdch_tf.nets.empty_batch import MaxPooling2D, skip_if_empty

# The seven layers initialised from the pretrained AlexNet (SDCH §4.2); the model trains
# them at one tenth of the feature learning rate.
PRETRAINED_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")

# Kernel shapes of bvlc_alexnet.npy (docs/reproduction.md §2); the paper preset reproduces them.
BVLC_ALEXNET_SHAPES = {
    "conv1": (11, 11, 3, 96),
    "conv2": (5, 5, 48, 256),
    "conv3": (3, 3, 256, 384),
    "conv4": (3, 3, 192, 384),
    "conv5": (3, 3, 192, 256),
    "fc6": (9216, 4096),
    "fc7": (4096, 4096),
    "fc8": (4096, 1000),
}

# (kernel, stride, pad, groups, pool after) per conv layer. SDCH Table 1 prints stride 4 for
# img-conv2 and stride 0 for img-conv3..5: typos (a stride of 0 does not exist, and stride 4
# would leave no 6×6 map for fc6); the AlexNet the paper fine-tunes uses stride 1 for both
# (docs/reproduction.md §1). groups=2 on conv2/4/5 is Caffe AlexNet's, so that its weights load unchanged.
_CONV_SPECS = (
    (11, 4, 0, 1, True),   # conv1: Table 1 k 11, s 4, p 0, pk 3, ps 2
    (5, 1, 2, 2, True),    # conv2: Table 1 k 5, s 1 (Table 1: 4, a typo), p 2, pk 3, ps 2
    (3, 1, 1, 1, False),   # conv3: Table 1 k 3, s 1 (Table 1: 0, a typo), p 1
    (3, 1, 1, 2, False),   # conv4: Table 1 k 3, s 1 (Table 1: 0, a typo), p 1
    (3, 1, 1, 2, True),    # conv5: Table 1 k 3, s 1 (Table 1: 0, a typo), p 1, pk 3, ps 2
)
_POOL_SIZE, _POOL_STRIDE = 3, 2  # SDCH Table 1: pk 3, ps 2

# Caffe AlexNet's LRN: local_size 5, alpha 1e-4, beta 0.75, k 1. Caffe divides alpha by the
# window size, so in TensorFlow's form x / (bias + alpha·Σ x²)^beta alpha is 1e-4 / 5.
LRN_DEPTH_RADIUS = 2
LRN_ALPHA = 2e-5
LRN_BETA = 0.75
LRN_BIAS = 1.0

GROUPED_CONV_IMPLEMENTATIONS = ("split", "native")


# Std of ImageNet pixels on the 0–255 scale (per channel 58.4, 57.1, 57.4): the spread of the
# mean-subtracted, unnormalised input the Caffe convention feeds conv1.
PIXEL_STD = 57.6


def relu_initializer(input_std: float = 1.0) -> keras.initializers.Initializer:
    """He initialisation, N(0, 2/fan_in), untruncated: SDCH §4.2 says "a normal distribution".

    He's variance assumes unit-variance inputs; ``input_std`` corrects it for a layer whose
    inputs have another spread (conv1 sees pixels of std ``PIXEL_STD``). Without the
    correction a randomly initialised conv1 amplifies its input ~58×, the image features
    start ~1000× larger than the text features, and the shared fc4 then maps every text to
    the same code (measured on the synthetic set; pretrained weights replace this init).
    """
    return keras.initializers.VarianceScaling(scale=2.0 / input_std**2, mode="fan_in",
                                              distribution="untruncated_normal")


def linear_initializer() -> keras.initializers.Initializer:
    """Glorot initialisation, N(0, 2/(fan_in + fan_out)), untruncated, for linear layers (SDCH §4.2)."""
    return keras.initializers.VarianceScaling(scale=1.0, mode="fan_avg", distribution="untruncated_normal")


@keras.saving.register_keras_serializable(package="sdch_tf")
class GroupedConv2D(keras.layers.Layer):
    """Caffe-style 2-D convolution with symmetric zero padding and channel groups.

    Input (N, H, W, C); output (N, H', W', filters) with H' = (H + 2·padding − k) // strides + 1.
    The kernel has Caffe's grouped shape (k, k, C / groups, filters): output channels
    [g·filters/groups, (g+1)·filters/groups) see only input channels [g·C/groups, (g+1)·C/groups).

    ``implementation`` selects how groups > 1 is computed; both give the same outputs from
    the same weights:
      * "split": split input and kernel into the groups, run one ordinary convolution per
        group and concatenate. Fast on CPU.
      * "native": one convolution with feature_group_count = groups (``keras.ops.conv``). On
        CPU TensorFlow's own grouped Conv2D kernel cannot compute the filter gradient, so
        Keras compiles it with XLA, which is several times slower there; on GPU it is one kernel.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        strides: int = 1,
        padding: int = 0,
        groups: int = 1,
        activation=None,
        implementation: str = "split",
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if implementation not in GROUPED_CONV_IMPLEMENTATIONS:
            raise ValueError(
                f"{self.name}: implementation must be one of {GROUPED_CONV_IMPLEMENTATIONS}, got {implementation!r}"
            )
        if groups < 1 or filters % groups:
            raise ValueError(f"{self.name}: filters={filters} must be a positive multiple of groups={groups}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.padding = int(padding)
        self.groups = int(groups)
        self.activation = keras.activations.get(activation)
        self.implementation = implementation
        # None: He normal, untruncated (SDCH §4.2's "normal distribution", for ReLU layers).
        self.kernel_initializer = keras.initializers.get(kernel_initializer or relu_initializer())
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % self.groups:
            raise ValueError(
                f"{self.name}: input channels ({channels}) must be a known multiple of groups={self.groups}"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)

    def call(self, inputs):
        # An empty per-replica batch must not reach oneDNN's Conv2D (sdch_tf.nets.empty_batch).
        return skip_if_empty(self._convolve, inputs, self.compute_output_shape(tuple(inputs.shape))[1:])

    def _convolve(self, inputs):
        kernel = ops.convert_to_tensor(self.kernel)
        if self.groups == 1 or self.implementation == "split":
            padding = "VALID" if self.padding == 0 else [[0, 0], [self.padding] * 2, [self.padding] * 2, [0, 0]]
            parts = [
                tf.nn.conv2d(x, k, strides=self.strides, padding=padding)
                for x, k in zip(tf.split(inputs, self.groups, axis=-1), tf.split(kernel, self.groups, axis=-1))
            ]
            outputs = parts[0] if self.groups == 1 else tf.concat(parts, axis=-1)
        else:
            if self.padding:
                pad = self.padding
                inputs = ops.pad(inputs, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
            # keras.ops.conv infers feature_group_count from C / kernel.shape[-2].
            outputs = ops.conv(inputs, kernel, strides=self.strides, padding="valid")
        outputs = tf.nn.bias_add(outputs, ops.convert_to_tensor(self.bias))
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        def out(size):
            return None if size is None else (size + 2 * self.padding - self.kernel_size) // self.strides + 1

        return (input_shape[0], out(input_shape[1]), out(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            groups=self.groups,
            activation=keras.activations.serialize(self.activation) if self.activation is not None else None,
            implementation=self.implementation,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="sdch_tf")
class LocalResponseNorm(keras.layers.Layer):
    """Across-channel LRN: y_c = x_c / (bias + alpha · Σ_{|c'−c| ≤ depth_radius} x_{c'}²)^beta.

    Shape-preserving, (N, H, W, C). Defaults are Caffe AlexNet's (SDCH §3.2: LRN after
    img-conv1 and img-conv2). Computed in float32 whatever the dtype policy: TensorFlow has
    no bfloat16 LRN kernel, and a sum of squares in bfloat16 would lose most of its precision.
    """

    def __init__(
        self,
        depth_radius: int = LRN_DEPTH_RADIUS,
        alpha: float = LRN_ALPHA,
        beta: float = LRN_BETA,
        bias: float = LRN_BIAS,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.depth_radius = int(depth_radius)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.bias = float(bias)

    def call(self, inputs):
        outputs = tf.nn.local_response_normalization(
            tf.cast(inputs, tf.float32), self.depth_radius, self.bias, self.alpha, self.beta
        )
        return tf.cast(outputs, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(depth_radius=self.depth_radius, alpha=self.alpha, beta=self.beta, bias=self.bias)
        return config


def _spatial_sizes(input_size: int) -> list[tuple[str, int]]:
    """(layer, side length) after each spatial layer, for a square input of ``input_size``.

    Pooling rounds down (TensorFlow "valid"); Caffe rounds up, but the two agree whenever
    (side − 3) is even, as for 227 (55 → 27 → 13 → 6) and the smoke size 67. For the cpu
    size 83 (19 → 9 → 4 → 1) Caffe would keep 2×2 after pool5; that preset loads no Caffe
    weights, so only the exact size differs.
    """
    sizes, side = [], input_size
    for index, (kernel, stride, pad, _, pooled) in enumerate(_CONV_SPECS, start=1):
        side = (side + 2 * pad - kernel) // stride + 1
        sizes.append((f"conv{index}", side))
        if pooled:
            side = (side - _POOL_SIZE) // _POOL_STRIDE + 1
            sizes.append((f"pool{index}", side))
    return sizes


def _check_config(config: ImageNetConfig, grouped_conv: str) -> None:
    if grouped_conv not in GROUPED_CONV_IMPLEMENTATIONS:
        raise ValueError(f"grouped_conv must be one of {GROUPED_CONV_IMPLEMENTATIONS}, got {grouped_conv!r}")
    if len(config.conv_filters) != 5 or min(config.conv_filters) < 1:
        raise ValueError(
            f"ImageNetConfig.conv_filters must be 5 positive counts (img-conv1..5, SDCH Table 1), "
            f"got {config.conv_filters}"
        )
    odd = [f"conv{i}={f}" for i, f in enumerate(config.conv_filters, start=1) if f % 2]
    if odd:
        raise ValueError(
            "ImageNetConfig.conv_filters must all be even: conv2, conv4 and conv5 use groups=2, so both "
            f"their inputs and outputs split in two; odd: {', '.join(odd)}"
        )
    if len(config.fc_units) != 2 or min(config.fc_units) < 1:
        raise ValueError(
            f"ImageNetConfig.fc_units must be 2 positive widths (img-fc1, img-fc2, SDCH Table 1), got {config.fc_units}"
        )
    if config.feature_dim < 1:
        raise ValueError(f"ImageNetConfig.feature_dim must be positive, got {config.feature_dim}")
    if not 0.0 <= config.dropout < 1.0:
        raise ValueError(f"ImageNetConfig.dropout must be in [0, 1), got {config.dropout}")
    sizes = _spatial_sizes(config.input_size)
    if min(side for _, side in sizes) < 1:
        minimum = next(s for s in range(1, 1000) if min(side for _, side in _spatial_sizes(s)) >= 1)
        trace = ", ".join(f"{name} {side}" for name, side in sizes)
        raise ValueError(
            f"ImageNetConfig.input_size={config.input_size} leaves no spatial map after pool5 ({trace}); "
            f"AlexNet needs input_size >= {minimum} (the paper uses 227)"
        )


def build_image_net(
    config: ImageNetConfig, grouped_conv: str = "split", name: str = "image_net"
) -> keras.Model:
    """The image pipeline of SDCH (§3.2, Table 1) as a functional Keras model.

    Args:
        config: filter counts, fc widths, dropout, LRN on/off, input size and k.
        grouped_conv: "split" or "native", how conv2/4/5's groups are computed (``GroupedConv2D``).
        name: model name.

    Returns:
        A model mapping float32 (N, S, S, 3) mean-subtracted BGR images to float32 (N, k)
        img-fc3 features. Layers with weights: conv1..conv5, fc6, fc7 (``PRETRAINED_LAYERS``)
        and img_fc3. It follows the global Keras dtype policy (e.g. ``mixed_bfloat16``), except
        img_fc3, which computes in float32 so that the losses stay in float32.
    """
    _check_config(config, grouped_conv)
    size = config.input_size
    inputs = keras.Input(shape=(size, size, 3), dtype="float32", name="image")
    x = inputs
    for index, ((kernel, stride, pad, groups, pooled), filters) in enumerate(
        zip(_CONV_SPECS, config.conv_filters), start=1
    ):
        x = GroupedConv2D(
            filters, kernel, strides=stride, padding=pad, groups=groups, activation="relu",
            implementation=grouped_conv, name=f"conv{index}",
            kernel_initializer=relu_initializer(PIXEL_STD if index == 1 else 1.0),
        )(x)
        if config.lrn and index in (1, 2):  # SDCH §3.2: LRN after img-conv1 and img-conv2
            x = LocalResponseNorm(name=f"lrn{index}")(x)
        if pooled:
            x = MaxPooling2D(_POOL_SIZE, _POOL_STRIDE, padding="valid", name=f"pool{index}")(x)
    # Channels-last flatten gives the (H, W, C) order in which bvlc_alexnet.npy stores fc6.
    x = keras.layers.Flatten(name="flatten")(x)
    for index, units in zip((6, 7), config.fc_units):
        x = keras.layers.Dense(units, activation="relu", kernel_initializer=relu_initializer(), name=f"fc{index}")(x)
        x = keras.layers.Dropout(config.dropout, name=f"drop{index}")(x)
    outputs = keras.layers.Dense(
        config.feature_dim, kernel_initializer=linear_initializer(), dtype="float32", name="img_fc3"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def layers_named(model: keras.Model, names, builder: str) -> list[keras.layers.Layer]:
    """``model``'s layers called ``names``, in that order; the error names what is missing and
    the ``builder`` function that makes models with these layers."""
    present = {layer.name for layer in model.layers}
    missing = [name for name in names if name not in present]
    if missing:
        raise ValueError(
            f"model {model.name!r} has no layer(s) {missing}; expected a model from {builder} "
            f"(layers with weights: {[layer.name for layer in model.layers if layer.weights]})"
        )
    return [model.get_layer(name) for name in names]


def _pretrained_layers(image_net: keras.Model) -> list[keras.layers.Layer]:
    return layers_named(image_net, PRETRAINED_LAYERS, "build_image_net")


def pretrained_variables(image_net: keras.Model) -> list:
    """Kernel and bias of conv1..conv5, fc6, fc7, in that order (14 variables).

    These are the layers initialised from AlexNet, trained at lr_pretrained (SDCH §4.2).
    """
    return [variable for layer in _pretrained_layers(image_net) for variable in (layer.kernel, layer.bias)]


def _read_weights_file(path: str) -> dict:
    if not os.path.isfile(path):
        raise WeightsNotFoundError(f"AlexNet weights file not found: {path!r} (expected bvlc_alexnet.npy)")
    expected = "expected bvlc_alexnet.npy, a pickled dict {name: [W, b]} saved with np.save"
    try:
        # The file is a pickle: loading it runs code from the file, so load only trusted weights.
        loaded = np.load(path, allow_pickle=True, encoding="latin1")
    except Exception as error:  # a legacy torch pickle, a truncated file, text...
        reason = f"{type(error).__name__}: {error}"
        raise WeightsFileError(f"{path}: could not be read by np.load ({reason}); {expected}") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        loaded.close()
        kind = "a zip archive (.npz, or a PyTorch checkpoint)" if zipfile.is_zipfile(path) else "an archive"
        raise WeightsFileError(f"{path}: is {kind}, not a single pickled object; {expected}")
    if not isinstance(loaded, np.ndarray) or loaded.dtype != object or loaded.shape != ():
        found = (
            f"an array of shape {loaded.shape}, dtype {loaded.dtype}"
            if isinstance(loaded, np.ndarray)
            else type(loaded).__name__
        )
        raise WeightsFileError(f"{path}: holds {found}; {expected}")
    weights = loaded.item()
    if not isinstance(weights, dict):
        raise WeightsFileError(f"{path}: holds a pickled {type(weights).__name__}, not a dict; {expected}")
    return weights


def load_bvlc_alexnet(image_net: keras.Model, path: str | os.PathLike) -> None:
    """Assigns the Caffe AlexNet weights of ``bvlc_alexnet.npy`` to conv1..conv5, fc6 and fc7.

    SDCH §4.2 initialises the first seven image layers from the trained AlexNet. The file is
    ``np.load(path, allow_pickle=True, encoding="latin1").item()``: a dict with keys conv1..conv5,
    fc6, fc7, fc8, each [W, b]; conv kernels HWIO with the groups=2 halves of conv2/4/5, fc6
    (9216, 4096) in (H, W, C) flatten order (shapes in ``BVLC_ALEXNET_SHAPES``). The weights go
    in unchanged; fc8 is ignored (img_fc3 replaces it, SDCH §3.2). The network must be built
    with the paper's image configuration. Everything is checked before anything is assigned,
    so a failed load leaves the network as it was.

    Raises:
        WeightsNotFoundError (a FileNotFoundError): no file at ``path``.
        WeightsFileError (a ValueError): not a pickled dict, a key missing, an entry not [W, b],
            or a shape mismatch (naming the file, the layer and the expected vs found shapes).
    """
    path = os.fspath(path)
    weights = _read_weights_file(path)
    missing = [name for name in PRETRAINED_LAYERS if name not in weights]
    if missing:
        raise WeightsFileError(f"{path}: missing key(s) {missing}; keys found: {sorted(map(str, weights))}")
    assignments = []
    for layer in _pretrained_layers(image_net):
        entry = weights[layer.name]
        object_vector = isinstance(entry, np.ndarray) and entry.dtype == object and entry.ndim == 1
        pair = isinstance(entry, (list, tuple)) or object_vector
        if not pair or len(entry) != 2:
            found = f"{type(entry).__name__} of length {len(entry)}" if pair else type(entry).__name__
            raise WeightsFileError(f"{path}: key {layer.name!r} must be [W, b], found a {found}")
        for role, variable, value in (("W", layer.kernel, entry[0]), ("b", layer.bias, entry[1])):
            value = np.asarray(value)
            expected = tuple(variable.shape)
            if value.shape != expected:
                paper = BVLC_ALEXNET_SHAPES[layer.name]
                hint = (
                    f"the network was built with a scaled-down image config ({layer.name} kernel "
                    f"{tuple(layer.kernel.shape)}, bvlc_alexnet.npy has {paper}): these weights need "
                    "the paper preset's image_net (input_size 227, the Table 1 filter counts and widths)"
                    if tuple(layer.kernel.shape) != paper
                    else f"bvlc_alexnet.npy has {layer.name} W of shape {paper}"
                )
                raise WeightsFileError(
                    f"{path}: {layer.name} {role} has shape {value.shape}, layer {layer.name!r} expects "
                    f"{expected}; {hint}"
                )
            if not np.issubdtype(value.dtype, np.floating):
                raise WeightsFileError(f"{path}: {layer.name} {role} has dtype {value.dtype}, expected floating point")
            assignments.append((variable, value.astype(np.float32, copy=False)))
    for variable, value in assignments:
        variable.assign(value)


def write_bvlc_alexnet(path: str | os.PathLike, image_net: keras.Model, fc8=None) -> None:
    """``bvlc_alexnet.npy`` of a trained ``build_image_net`` network: the inverse of ``load_bvlc_alexnet``.

    A dict {conv1..fc7: [W, b]} (plus fc8 when given a Dense layer) pickled with ``np.save`` as the
    real file is: kernels HWIO with conv2/4/5's per-group input depth, fc6 in (H, W, C) order.
    Written atomically (``sdch_tf.atomic``).
    """
    weights = {layer.name: [np.asarray(layer.kernel), np.asarray(layer.bias)] for layer in _pretrained_layers(image_net)}
    if fc8 is not None:
        weights["fc8"] = [np.asarray(fc8.kernel), np.asarray(fc8.bias)]
    atomic_write(os.fspath(path), lambda f: np.save(f, weights, allow_pickle=True))
