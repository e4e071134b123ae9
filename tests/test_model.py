"""SDCH's train step and staged schedule on tiny networks (shapes, gradients, phases, B)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sdch_tf.sdch import losses
from sdch_tf.training import checkpoint
from sdch_tf.sdch.schedule import CodeRefresh, StagedSchedule, phase_of_epoch
from sdch_tf.training.itq import centre_per_group, itq
from sdch_tf.sdch.config import preset
from sdch_tf.sdch.model import FEATURES, HASH, JOINT, SDCH

N, D, C, K, R = 24, 10, 3, 6, 4


def tiny_nets():
    image_net = keras.Sequential(
        [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(8, activation="relu", name="conv1"),
         keras.layers.Dense(K, name="img_fc3")], name="image_net")
    text_net = keras.Sequential(
        [keras.Input((D,)), keras.layers.Dense(8, activation="relu", name="txt_fc1"), keras.layers.Dense(K, name="txt_fc3")],
        name="text_net")
    return image_net, text_net


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    labels = (rng.random((N, C)) < 0.5).astype(np.float32)
    return {
        "image": rng.normal(size=(N, 4, 4, 3)).astype(np.float32),
        "text": rng.normal(size=(N, D)).astype(np.float32),
        "label": labels,
        "index": np.arange(N, dtype=np.int32),
    }


def make_model(optimizer=keras.optimizers.Adam, pretrained=False, seed=0, lr=(1e-2, 1e-2, 1e-3)):
    keras.utils.set_random_seed(seed)
    image_net, text_net = tiny_nets()
    pre = image_net.get_layer("conv1").trainable_variables if pretrained else ()
    model = SDCH(image_net, text_net, R, N, gamma=0.01, beta1=1.0, beta2=1.0, beta3=0.1, pretrained_variables=pre)
    model.compile(feature_optimizer=optimizer(lr[0]), hash_optimizer=optimizer(lr[1]),
                  pretrained_optimizer=optimizer(lr[2]) if pretrained else None)
    model({"image": np.zeros((1, 4, 4, 3), np.float32), "text": np.zeros((1, D), np.float32)})
    return model


def snapshot(variables):
    return [np.array(v) for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, np.asarray(v)) for b, v in zip(before, variables)]


def run_step(model, phase, batch):
    model.phase = phase
    model.make_train_function(force=True)
    return model.train_step({k: tf.constant(v) for k, v in batch.items()})


@pytest.mark.parametrize("phase,features_move,hash_moves", [(FEATURES, True, False), (HASH, False, True),
                                                            (JOINT, True, True)])
def test_each_phase_updates_only_its_groups(phase, features_move, hash_moves):
    model = make_model(pretrained=True)
    model.codes.assign(np.where(np.random.default_rng(0).random((2 * N, R)) < 0.5, -1.0, 1.0))
    groups = {"feature": model.feature_variables, "pretrained": model.pretrained_variables,
              "hash": model.hash_variables}
    assert all(groups.values())
    before = {k: snapshot(v) for k, v in groups.items()}
    logs = run_step(model, phase, {k: v[:8] for k, v in tiny_data().items()})
    assert all(changed(before["feature"], groups["feature"])) == features_move
    assert all(changed(before["pretrained"], groups["pretrained"])) == features_move
    assert all(changed(before["hash"], groups["hash"])) == hash_moves
    assert not any(changed(before["feature"], groups["feature"])) or features_move
    assert not any(changed(before["hash"], groups["hash"])) or hash_moves
    expected_logs = {"loss", "L_f"} | ({"L_h", *losses.HASH_TERMS} if phase != FEATURES else set())
    assert set(logs) == expected_logs


def test_pretrained_group_uses_its_own_learning_rate():
    model = make_model(optimizer=keras.optimizers.SGD, pretrained=True, lr=(1e-2, 1e-2, 0.0))
    before = snapshot(model.pretrained_variables)
    other = snapshot(model.feature_variables)
    run_step(model, FEATURES, {k: v[:8] for k, v in tiny_data().items()})
    assert not any(changed(before, model.pretrained_variables))   # rate 0 → untouched
    assert all(changed(other, model.feature_variables))


def test_joint_step_updates_hash_then_features_through_the_new_fc4():
    """Θ_h first (SGD on L_h), then Θ_f on L_f + γ L_h with Z from the updated fc4 (SDCH §3.3)."""
    lr_f, lr_h = 0.05, 0.1
    model = make_model(optimizer=keras.optimizers.SGD, lr=(lr_f, lr_h, 0.0))
    batch = {k: tf.constant(v[:8]) for k, v in tiny_data().items()}
    codes = np.where(np.random.default_rng(1).random((2 * N, R)) < 0.5, -1.0, 1.0).astype(np.float32)
    model.codes.assign(codes)

    # Reference: the same algorithm written out by hand.
    feat_vars = model.image_net.trainable_variables + model.text_net.trainable_variables
    w_h = [tf.Variable(v) for v in model.hash_variables]
    w_f = [tf.Variable(v) for v in feat_vars]
    s_f = losses.label_similarity(batch["label"], batch["label"])
    s_h = 2.0 * tf.tile(s_f, [2, 2]) - 1.0
    b = tf.constant(codes[np.r_[0:8, N:N + 8]])
    fx, fy = model.image_net(batch["image"]), model.text_net(batch["text"])
    f = tf.concat([fx, fy], 0)
    with tf.GradientTape() as tape:
        l_h = losses.hash_loss(f @ w_h[0] + w_h[1], b, s_h, 1.0, 1.0, 0.1)
    new_w_h = [w - lr_h * g for w, g in zip(w_h, tape.gradient(l_h, w_h))]
    with tf.GradientTape() as tape:
        fx, fy = model.image_net(batch["image"]), model.text_net(batch["text"])
        z = tf.concat([fx, fy], 0) @ new_w_h[0] + new_w_h[1]
        loss = losses.feature_loss(fx, fy, s_f) + 0.01 * losses.hash_loss(z, b, s_h, 1.0, 1.0, 0.1)
    new_w_f = [w - lr_f * g for w, g in zip(w_f, tape.gradient(loss, feat_vars))]

    logs = run_step(model, JOINT, batch)
    for got, want in zip(model.hash_variables, new_w_h):
        np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-5, atol=1e-6)
    for got, want in zip(feat_vars, new_w_f):
        np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(logs["loss"]), float(loss), rtol=1e-5)
    # Z recorded for the batch's rows (images then texts) is the Z of that second pass.
    np.testing.assert_allclose(np.asarray(model.z_record)[np.r_[0:8, N:N + 8]], z.numpy(), rtol=1e-5, atol=1e-6)


def test_phase_of_epoch():
    assert [phase_of_epoch(e) for e in range(4)] == [FEATURES, HASH, JOINT, JOINT]


def test_three_epochs_follow_the_staged_schedule():
    model = make_model(pretrained=True)
    dataset = tf.data.Dataset.from_tensor_slices(tiny_data()).shuffle(N, seed=0).batch(5)
    state = {"init": (snapshot(model.feature_variables + model.pretrained_variables), snapshot(model.hash_variables))}

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            state[epoch] = (snapshot(model.feature_variables + model.pretrained_variables),
                            snapshot(model.hash_variables), np.array(model.codes), np.array(model.z_record),
                            model.phase)

    model.fit(dataset, epochs=3, verbose=0, shuffle=False, callbacks=[StagedSchedule(), CodeRefresh(itq_iterations=7, seed=5), Record()])
    phases = [state[e][4] for e in range(3)]
    assert phases == [FEATURES, HASH, JOINT]

    feat0, hash0 = state["init"]
    feat1, hash1, codes1, z1, _ = state[0]
    assert all(not np.array_equal(a, b) for a, b in zip(feat0, feat1))
    assert all(np.array_equal(a, b) for a, b in zip(hash0, hash1))
    assert np.all(np.any(z1 != 0, axis=1)), "every image and text row of Z is recorded in epoch 1"
    np.testing.assert_array_equal(codes1, itq(z1, R, iterations=7, seed=5).codes)

    feat2, hash2, codes2, z2, _ = state[1]
    assert all(np.array_equal(a, b) for a, b in zip(feat1, feat2))
    assert all(not np.array_equal(a, b) for a, b in zip(hash1, hash2))
    np.testing.assert_array_equal(codes2, np.where(z2 >= 0, 1.0, -1.0))
    assert not np.array_equal(z1, z2)

    feat3, hash3, codes3, z3, _ = state[2]
    assert all(not np.array_equal(a, b) for a, b in zip(feat2, feat3))
    assert all(not np.array_equal(a, b) for a, b in zip(hash2, hash3))
    np.testing.assert_array_equal(codes3, np.where(z3 >= 0, 1.0, -1.0))


def test_encoding_gives_plus_minus_one_and_sign_zero_is_plus_one():
    model = make_model()
    data = tiny_data()
    codes = model.encode_image(data["image"], batch_size=7)
    assert codes.shape == (N, R) and codes.dtype == np.int8 and set(np.unique(codes)) <= {-1, 1}
    dataset = tf.data.Dataset.from_tensor_slices(data["text"]).batch(5)
    np.testing.assert_array_equal(model.encode_text(dataset), model.encode_text(data["text"]))
    for v in model.hash_variables:
        v.assign(np.zeros(v.shape))
    np.testing.assert_array_equal(model.encode_text(data["text"]), np.ones((N, R)))


def test_checkpoint_restores_weights_codes_and_optimizer_state(tmp_path):
    model = make_model(pretrained=True)
    dataset = tf.data.Dataset.from_tensor_slices(tiny_data()).batch(6)
    model.fit(dataset, epochs=2, verbose=0, shuffle=False, callbacks=[StagedSchedule(), CodeRefresh(itq_iterations=3)])
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, model, epoch=2)

    fresh = make_model(pretrained=True, seed=1)
    assert checkpoint.restore(path, fresh) == 2
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for name in ("feature_optimizer", "hash_optimizer", "pretrained_optimizer"):
        for a, b in zip(getattr(model, name).variables, getattr(fresh, name).variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(fresh.hash_optimizer.iterations) == 4  # epoch 2 only: 24 samples / 6 per batch


def test_a_checkpoint_with_the_old_optimizer_group_names_still_resumes(tmp_path):
    # Before SDCH shared the two-network base its groups were saved as "<group>_optimizer/<i>".
    model = make_model(pretrained=True)
    dataset = tf.data.Dataset.from_tensor_slices(tiny_data()).batch(6)
    model.fit(dataset, epochs=2, verbose=0, shuffle=False, callbacks=[StagedSchedule(), CodeRefresh(itq_iterations=3)])
    path, legacy = tmp_path / "ckpt.npz", tmp_path / "legacy.npz"
    checkpoint.save(path, model, epoch=2)
    with np.load(path) as saved:
        renamed = {(f"{k.split('/')[0]}_optimizer/{k.split('/')[1]}" if k.split("/")[0] != "model" and "/" in k else k):
                   saved[k] for k in saved.files}
    assert "hash_optimizer/0" in renamed and "hash/0" not in renamed
    np.savez(legacy, **renamed)
    fresh = make_model(pretrained=True, seed=1)
    assert checkpoint.restore(legacy, fresh) == 2
    for a, b in zip(model.hash_optimizer.variables, fresh.hash_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(fresh.hash_optimizer.iterations) == 4


def test_checkpoint_from_another_configuration_is_refused(tmp_path):
    model = make_model(pretrained=True)
    path = tmp_path / "ckpt.npz"
    model.build_optimizers()
    checkpoint.save(path, model, epoch=1)
    with pytest.raises(ValueError, match="pretrained_optimizer|different configuration"):
        checkpoint.restore(path, make_model(pretrained=False))


def test_feature_scale_initialisation_centres_and_equalises_the_modalities():
    model = make_model()
    data = tiny_data()
    model.text_net.layers[-1].kernel.assign(np.asarray(model.text_net.layers[-1].kernel) * 50.0)  # unbalanced
    hash_before = snapshot(model.hash_variables)
    model.initialize_feature_scale(data["image"], data["text"])
    for net, x in ((model.image_net, data["image"]), (model.text_net, data["text"])):
        f = np.asarray(net(x))
        np.testing.assert_allclose(f.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(f.std(axis=0).mean(), K ** -0.25, rtol=1e-5)
    assert not any(changed(hash_before, model.hash_variables))
    # The logits f_xᵀ f_y of Eq. 3 now have a spread of order one.
    theta = np.asarray(model.image_net(data["image"])) @ np.asarray(model.text_net(data["text"])).T
    assert 0.1 < theta.std() < 3.0


@pytest.mark.parametrize("fc4_init, untruncated", [("normal", True), ("truncated", False)])
def test_fc4_is_drawn_from_an_untruncated_normal_in_the_paper_setting(fc4_init, untruncated):
    # SDCH §4.2: "a normal distribution". Keras' glorot_normal truncates at two of its standard
    # deviations, i.e. at 2/0.8796 ≈ 2.27 σ of the Glorot variance; an untruncated normal passes it.
    keras.utils.set_random_seed(0)
    image_net, text_net = tiny_nets()
    bits, features = 64, image_net.output_shape[-1]
    model = SDCH(image_net, text_net, bits, N, 0.01, 1.0, 1.0, 0.1, fc4_init=fc4_init)
    model({"image": np.zeros((1, 4, 4, 3), np.float32), "text": np.zeros((1, D), np.float32)})
    kernel = np.asarray(model.hash_layer.kernel)
    sigma = np.sqrt(2.0 / (features + bits))
    assert kernel.std() == pytest.approx(sigma, rel=0.15)
    assert (np.abs(kernel).max() > 2.28 * sigma) == untruncated


def test_every_preset_draws_fc4_untruncated_as_the_paper():
    assert preset("paper").fc4_init == preset("cpu").fc4_init == preset("smoke").fc4_init == "normal"
    with pytest.raises(ValueError, match="fc4_init must be one of"):
        image_net, text_net = tiny_nets()
        SDCH(image_net, text_net, R, N, 0.01, 1.0, 1.0, 0.1, fc4_init="uniform")


def numpy_z(model, data):
    """Z = fc4(f) of every training image and text (rows as in ``codes``), in plain numpy."""
    def dense(layer, x, relu=False):
        w, b = (np.asarray(v, np.float64) for v in layer.weights)
        y = x @ w + b
        return np.maximum(y, 0.0) if relu else y

    image_layers = [l for l in model.image_net.layers if isinstance(l, keras.layers.Dense)]
    text_layers = [l for l in model.text_net.layers if isinstance(l, keras.layers.Dense)]
    f_x = dense(image_layers[1], dense(image_layers[0], data["image"].reshape(N, -1), relu=True))
    f_y = dense(text_layers[1], dense(text_layers[0], data["text"], relu=True))
    return dense(model.hash_layer, np.concatenate([f_x, f_y]))


def forward_inputs(data):
    # Uneven batches, as the last batch of the real pipeline is.
    return lambda: ([data["image"][:10], data["image"][10:]], [data["text"][:7], data["text"][7:]])


def fit_three_epochs(model, data, refresh) -> dict:
    """Epoch → (numpy Z of the training set, B, recorded Z, the epoch's logs) after each of three
    staged epochs with ``refresh`` as the code refresh."""
    dataset = tf.data.Dataset.from_tensor_slices(data).shuffle(N, seed=0).batch(5)
    state = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            state[epoch] = (numpy_z(model, data), np.array(model.codes), np.array(model.z_record), dict(logs))

    model.fit(dataset, epochs=3, verbose=0, shuffle=False, callbacks=[StagedSchedule(), refresh, Record()])
    return state


@pytest.mark.parametrize("centering", ["joint", "per_modality"])
def test_forward_refresh_takes_b_from_a_forward_pass_with_fixed_parameters(centering):
    model = make_model()
    data = tiny_data()
    refresh = CodeRefresh(itq_iterations=7, seed=5, source="forward", training_inputs=forward_inputs(data),
                          itq_centering=centering)
    state = fit_three_epochs(model, data, refresh)

    z1, codes1, recorded1, logs1 = state[0]
    start = centre_per_group(z1, np.repeat([0, 1], N)) if centering == "per_modality" else z1
    np.testing.assert_array_equal(codes1, itq(start, R, iterations=7, seed=5).codes)
    # Not the recorded Z: every row was recorded before the epoch's later updates.
    assert not np.allclose(z1, recorded1, atol=1e-4)
    for epoch in (1, 2):
        z, codes, _, logs = state[epoch]
        np.testing.assert_array_equal(codes, np.where(z >= 0, 1.0, -1.0))
        want = np.mean(np.sum((z[:N] >= 0) != (z[N:] >= 0), axis=1))
        assert logs["pair_hamming"] == pytest.approx(want)
        assert logs["refresh_seconds"] > 0 and "stale_bits_image" not in logs


def test_recorded_refresh_keeps_the_recorded_z_and_logs_how_stale_it_is():
    model = make_model()
    data = tiny_data()
    refresh = CodeRefresh(itq_iterations=7, seed=5, source="recorded", training_inputs=forward_inputs(data))
    z, codes, recorded, logs = fit_three_epochs(model, data, refresh)[2]
    np.testing.assert_array_equal(codes, np.where(recorded >= 0, 1.0, -1.0))
    stale = (recorded >= 0) != (z >= 0)
    assert logs["stale_bits_image"] == pytest.approx(stale[:N].mean())
    assert logs["stale_bits_text"] == pytest.approx(stale[N:].mean())
    assert stale.any(), "the network moved within the epoch, so some recorded signs are stale"


def test_forward_refresh_needs_the_training_inputs_and_a_known_source():
    with pytest.raises(ValueError, match="needs training_inputs"):
        CodeRefresh(source="forward")
    with pytest.raises(ValueError, match="source must be one of"):
        CodeRefresh(source="batch")
    model = make_model()
    with pytest.raises(ValueError, match="centering must be"):
        model.initialize_codes_itq(3, 0, np.zeros((2 * N, R)), centering="images")
    with pytest.raises(ValueError, match="gave 10 training images"):
        model.training_set_outputs([tiny_data()["image"][:10]], [tiny_data()["text"]])
