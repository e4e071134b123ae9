"""Train-step throughput of SDCH, Keras ``fit`` vs a bare ``tf.function`` loop, and encode time.

    python benchmarks/bench_train_step.py                  # paper AlexNet, 227×227, batch 64
    python benchmarks/bench_train_step.py --preset cpu     # the scaled-down network

Measured in one process, on one fixed in-memory batch (the input pipeline is excluded):
1. images/s of the joint-phase SDCH step (SDCH §3.3: Θ_h then Θ_f) run by ``keras.Model.fit``,
   and of the same computation written as a bare ``tf.function`` loop; the ratio is the
   Keras overhead.
2. forward + backward images/s of the image network alone with the grouped convolutions
   (conv2, conv4, conv5; groups = 2) as split-and-concatenate vs a single grouped convolution,
   and split under the ``mixed_bfloat16`` policy.
3. encode time per image and per text sample (the analogue of SDCH Table 4's hash time).
4. images/s of the full SDCH step under each ``--precision`` (fp32, bf16, fp16; Keras mixed
   precision, fp16 with loss scaling) and the ratio to fp32.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sdch_tf.sdch import losses  # noqa: E402
from sdch_tf.training import precision
from sdch_tf.sdch.config import preset  # noqa: E402
from sdch_tf.sdch.model import JOINT, SDCH  # noqa: E402
from sdch_tf.nets.alexnet import build_image_net  # noqa: E402
from sdch_tf.nets.text import build_text_net  # noqa: E402
from sdch_tf.training.optimizers import make_optimizer  # noqa: E402


def make_batch(size, batch, text_dim, num_labels, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "image": tf.constant(rng.normal(scale=50.0, size=(batch, size, size, 3)).astype(np.float32)),
        "text": tf.constant((rng.random((batch, text_dim)) < 0.02).astype(np.float32)),
        "label": tf.constant((rng.random((batch, num_labels)) < 0.15).astype(np.float32)),
        "index": tf.constant(np.arange(batch, dtype=np.int32)),
    }


def build_model(config, text_dim, bits, num_train, grouped_conv="split", precision_name="fp32"):
    keras.utils.set_random_seed(0)
    with precision.policy(precision_name):
        model = SDCH(build_image_net(config.image_net, grouped_conv=grouped_conv),
                     build_text_net(config.text_net, text_dim), bits, num_train,
                     config.gamma, config.beta1, config.beta2, config.beta3, name="sdch")
    model.compile(
        feature_optimizer=precision.wrap_optimizer(make_optimizer("adam", config.lr_feature), precision_name),
        hash_optimizer=precision.wrap_optimizer(make_optimizer("adam", config.lr_hash), precision_name))
    size = config.image_net.input_size
    model({"image": tf.zeros((1, size, size, 3)), "text": tf.zeros((1, text_dim))})
    model.codes.assign(tf.where(tf.random.normal(model.codes.shape) >= 0, 1.0, -1.0))
    model.phase = JOINT
    return model


def time_keras_fit(model, batch, steps, warmup):
    stamps = []

    class Stamp(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            stamps.append(time.perf_counter())

    data = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(data, epochs=1, steps_per_epoch=warmup, verbose=0, shuffle=False)
    model.fit(data, epochs=1, steps_per_epoch=steps + 1, verbose=0, shuffle=False,
              callbacks=[Stamp()])
    return (stamps[-1] - stamps[0]) / steps


def bare_step_fn(model, config):
    """The joint-phase SDCH step written directly: no fit, no metric trackers, no callbacks."""
    image_net, text_net, fc4 = model.image_net, model.text_net, model.hash_layer
    feature_vars = image_net.trainable_variables + text_net.trainable_variables
    hash_vars = fc4.trainable_variables
    opt_f = make_optimizer("adam", config.lr_feature)
    opt_h = make_optimizer("adam", config.lr_hash)
    n = model.num_train

    @tf.function
    def step(batch):
        s_f = losses.label_similarity(batch["label"], batch["label"])
        s_h = 2.0 * tf.tile(s_f, [2, 2]) - 1.0
        rows = tf.concat([batch["index"], batch["index"] + n], 0)
        b = tf.gather(model.codes, rows)
        with tf.GradientTape() as tape_f:
            f_x = image_net(batch["image"], training=True)
            f_y = text_net(batch["text"], training=True)
            f = tf.concat([f_x, f_y], 0)
            with tape_f.stop_recording():
                with tf.GradientTape() as tape_h:
                    l_h = losses.hash_loss(fc4(tf.stop_gradient(f)), b, s_h, config.beta1, config.beta2, config.beta3)
                opt_h.apply_gradients(zip(tape_h.gradient(l_h, hash_vars), hash_vars))
            z = fc4(f)
            loss = losses.feature_loss(f_x, f_y, s_f) + config.gamma * losses.hash_loss(
                z, b, s_h, config.beta1, config.beta2, config.beta3)
        opt_f.apply_gradients(zip(tape_f.gradient(loss, feature_vars), feature_vars))
        model.z_record.value.scatter_nd_update(rows[:, None], z)
        return loss

    return step


def time_loop(step, batch, steps, warmup):
    for _ in range(warmup):
        step(batch).numpy()
    start = time.perf_counter()
    for _ in range(steps):
        out = step(batch)
    out.numpy()
    return (time.perf_counter() - start) / steps


def image_net_step_fn(image_net):
    opt = keras.optimizers.SGD(1e-4)
    variables = image_net.trainable_variables

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.cast(image_net(images, training=True), tf.float32)))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def time_encode(model, batch, repeats):
    images, texts = batch["image"], batch["text"]
    model.encode_image(images.numpy(), batch_size=len(images))
    model.encode_text(texts.numpy(), batch_size=len(texts))
    start = time.perf_counter()
    for _ in range(repeats):
        model.encode_image(images.numpy(), batch_size=len(images))
    image_ms = 1000 * (time.perf_counter() - start) / (repeats * len(images))
    start = time.perf_counter()
    for _ in range(repeats):
        model.encode_text(texts.numpy(), batch_size=len(texts))
    text_ms = 1000 * (time.perf_counter() - start) / (repeats * len(texts))
    return image_ms, text_ms


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="paper", choices=("paper", "cpu", "smoke"))
    p.add_argument("--batch", type=int, default=64, help="SDCH §4.2: 64")
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--text-dim", type=int, default=1386, help="MIRFlickr's BoW size")
    p.add_argument("--labels", type=int, default=24)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--skip-native", action="store_true", help="skip the (slow) single grouped convolution")
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "fp16"], choices=("fp32", "bf16", "fp16"),
                   help="section 4: the --precision values timed (fp32 first for the ratios)")
    args = p.parse_args(argv)

    config = preset(args.preset)
    size = config.image_net.input_size
    batch = make_batch(size, args.batch, args.text_dim, args.labels)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores, "
          f"GPU: {bool(tf.config.list_physical_devices('GPU'))}")
    print(f"preset {args.preset}: image input {size}×{size}, batch {args.batch}, {args.bits} bits, "
          f"{args.steps} timed steps after {args.warmup} warm-up steps\n")

    model = build_model(config, args.text_dim, args.bits, num_train=args.batch)
    keras_s = time_keras_fit(model, batch, args.steps, args.warmup)
    bare_s = time_loop(bare_step_fn(model, config), batch, args.steps, args.warmup)
    print("1. SDCH joint-phase train step (Θ_h then Θ_f)")
    print(f"   keras fit()           {keras_s:8.3f} s/step  {args.batch / keras_s:8.1f} images/s")
    print(f"   bare tf.function loop {bare_s:8.3f} s/step  {args.batch / bare_s:8.1f} images/s")
    print(f"   Keras overhead: {100 * (keras_s / bare_s - 1):+.1f}%  (fit / bare = {keras_s / bare_s:.3f})\n")

    image_ms, text_ms = time_encode(model, batch, repeats=max(2, args.steps // 2))

    print("2. Image network forward+backward, grouped convolutions (conv2/4/5, groups=2)")
    timings = {}
    variants = [("split", "float32"), ("split", "mixed_bfloat16")]
    if not args.skip_native:
        variants.insert(1, ("native", "float32"))
    for impl, policy in variants:
        keras.config.set_dtype_policy(policy)
        try:
            net = build_image_net(config.image_net, grouped_conv=impl)
            steps = args.steps if impl == "split" else max(2, args.steps // 3)
            timings[(impl, policy)] = time_loop(image_net_step_fn(net), batch["image"], steps, 1)
        finally:
            keras.config.set_dtype_policy("float32")
        seconds = timings[(impl, policy)]
        print(f"   {impl:6} {policy:15} {seconds:8.3f} s/step  {args.batch / seconds:8.1f} images/s")
    split = timings[("split", "float32")]
    if ("native", "float32") in timings:
        print(f"   split vs native: {timings[('native', 'float32')] / split:.2f}× faster")
    print(f"   mixed_bfloat16 vs float32 (split): {split / timings[('split', 'mixed_bfloat16')]:.2f}×\n")

    print(f"3. Encode time (batch {args.batch}, network only; cf. SDCH Table 4: 3 ms/image, 1 ms/text on a GPU)")
    print(f"   {image_ms:.2f} ms per image, {text_ms:.3f} ms per text sample\n")

    print("4. SDCH joint-phase train step by --precision (keras fit, the model train.py builds)")
    per_precision = {}
    for name in args.precisions:
        model = build_model(config, args.text_dim, args.bits, num_train=args.batch, precision_name=name)
        per_precision[name] = time_keras_fit(model, batch, args.steps, args.warmup)
        seconds = per_precision[name]
        ratio = f"  {per_precision['fp32'] / seconds:.2f}× the speed of fp32" if "fp32" in per_precision else ""
        print(f"   {name:5} {seconds:8.3f} s/step  {args.batch / seconds:8.1f} images/s{ratio}")


if __name__ == "__main__":
    main()
