"""Training on several devices: ``--distribute {none,mirrored,multiworker}``.

SDCH's losses are not sums of per-sample terms: S^f (Eq. 4) pairs every image of a batch
with every text of it, and the similarity and independence terms of Eq. 7 are Gram matrices
of the whole batch. Splitting a batch across replicas and adding per-replica losses, as one
does for per-sample losses, would therefore train a different objective (the pairs that span
two replicas would be lost). Instead every replica all-gathers the features of the global
batch (``gather``; the gather is differentiable and its gradient hands each replica the part
of the upstream gradient that belongs to its own samples), computes the loss of the whole
batch, and scales it by 1 / (number of replicas): the optimisers sum the replicas' gradients
(Keras all-reduces with SUM), so the update equals that of one device on the global batch.
Replica order is batch order (``experimental_distribute_dataset`` gives replica k the k-th
slice of each global batch), so the gathered batch is the single-device batch itself.

Models and optimisers must be created under ``strategy.scope()``; ``keras.Model.fit`` then
distributes the dataset itself.
"""
from __future__ import annotations

import json
import os

import tensorflow as tf

from sdch_tf.atomic import atomic_write
from sdch_tf.input_errors import InputError

STRATEGIES = ("none", "mirrored", "multiworker")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name``.

    none: TensorFlow's default strategy (one device). mirrored: ``MirroredStrategy`` over every
    visible GPU (or the CPU when there is none; several logical CPU devices when configured).
    multiworker: ``MultiWorkerMirroredStrategy`` with the cluster described by ``TF_CONFIG``.
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise InputError("--distribute multiworker needs TF_CONFIG describing the cluster and this worker's "
                             "task (https://www.tensorflow.org/guide/distributed_training#TF_CONFIG)")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as e:
            raise InputError(f"TF_CONFIG is not valid JSON: {e}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise InputError(f"unknown --distribute {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this worker writes checkpoints and results (the others would race on the same files)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0
                                           and "chief" not in resolver.cluster_spec().as_dict())


def step_logs(logs: dict) -> dict:
    """The logs a ``train_step`` returns, shaped for the strategy that reduces them.

    Keras averages a step's logs over the replicas; under ``MultiWorkerMirroredStrategy`` it does
    so with ``strategy.reduce("MEAN", value, axis=0)`` (keras/src/backend/tensorflow/trainer.py,
    ``reduce_per_replica``), which fails on a scalar ("Invalid reduction dimension 0", issue 18).
    There (with more than one worker) each value becomes a one-element vector, and the
    reduction gives the scalar back; elsewhere the logs are returned as they are.
    """
    strategy = tf.distribute.get_strategy()
    # Keras' own test (reduce_per_replica's _collective_all_reduce_multi_worker): a one-worker
    # cluster takes the single-host path, where the scalars must stay scalars.
    multi_worker = getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or not multi_worker:
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


WORKER_DIR_PREFIX = ".worker-"


def worker_out_dir(out: str, strategy: tf.distribute.Strategy) -> str:
    """Where this worker writes: ``out`` for the chief; ``out/.worker-<id>`` for another worker of a
    multi-worker cluster (its identical checkpoints and results, so that no two processes race on
    one file; only the chief's are the run's)."""
    if is_chief(strategy):
        return out
    return os.path.join(out, f"{WORKER_DIR_PREFIX}{strategy.cluster_resolver.task_id}")


def chief_run_dir(run_dir: str) -> str | None:
    """The chief's directory of the run another worker trains in ``run_dir``
    (``out/.worker-<id>/runs/<run>`` → ``out/runs/<run>``); None for the chief's own."""
    parts = os.path.normpath(os.path.abspath(run_dir)).split(os.sep)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].startswith(WORKER_DIR_PREFIX):
            return os.sep.join(parts[:i] + parts[i + 1:])
    return None


def resume_point_of(run_dir: str, files: tuple[str, ...], epoch_of) -> None:
    """On a worker that is not the chief, take the chief's checkpoint (and epoch log, ``files``) when
    it sees them (``--out`` on a shared file system) and they are of another epoch than its own
    (``epoch_of(path)``, None when absent): a worker killed mid-run may have checkpointed one
    epoch more or less than the chief, and every worker must resume from the same epoch."""
    chief = chief_run_dir(run_dir)
    if chief is None:
        return
    source = os.path.join(chief, files[0])
    chief_epoch = epoch_of(source) if os.path.exists(source) else None
    own = os.path.join(run_dir, files[0])
    if chief_epoch is None or (os.path.exists(own) and epoch_of(own) == chief_epoch):
        return
    for name in files:
        if os.path.exists(os.path.join(chief, name)):
            with open(os.path.join(chief, name), "rb") as f:
                content = f.read()
            atomic_write(os.path.join(run_dir, name), lambda out, c=content: out.write(c))


def check_same_start(epoch: int, checkpoint_path: str) -> None:
    """Under ``MultiWorkerMirroredStrategy``, fail unless every worker resumes from the same epoch:
    workers at different epochs would run different numbers of steps and wait for each other
    forever. A no-op for one worker."""
    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    def own_epoch():
        return tf.constant([epoch], tf.int64)

    # In a tf.function: run eagerly, the collective strategy warns of its overhead.
    @tf.function(autograph=False)
    def every_epoch():
        return strategy.gather(strategy.run(own_epoch), axis=0)

    epochs = every_epoch().numpy()
    if epochs.min() != epochs.max():
        raise InputError(
            f"the workers would resume from different epochs ({sorted(set(int(e) for e in epochs))}; this worker: "
            f"{epoch}, from {checkpoint_path}): a worker stopped between two checkpoints and cannot see the "
            "chief's. Put --out on a file system every worker shares (the workers then resume from the chief's "
            "checkpoint), or copy the chief's checkpoint.npz and epochs.jsonl into every worker's run directory")


def num_replicas() -> int:
    """Replicas taking part in the current step (1 outside a replica context)."""
    context = tf.distribute.get_replica_context()
    return 1 if context is None else int(context.num_replicas_in_sync)


def gather(x: tf.Tensor) -> tf.Tensor:
    """(b_k, ...) on replica k → (Σ_k b_k, ...), the global batch in replica order; identity on one replica.

    Differentiable: the gradient of each replica's copy reaches the replica that owns the rows.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    if not x.device and isinstance(context.strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # MultiWorkerMirroredStrategy traces the step without a device on its tensors, and its
        # all_gather gathers "to the tensor's device": an empty one fails ("destinations can not be
        # empty", issue 18). Pin the tensor to this replica's device on this worker.
        with tf.device(_replica_device(context)):
            x = tf.identity(x)
    # all_gather forgets the static trailing dimensions; shape checks downstream need them.
    return tf.ensure_shape(context.all_gather(x, axis=0), (None,) + tuple(x.shape[1:]))


def _replica_device(context) -> str:
    """The device of the replica running ``context`` on this worker."""
    devices = context.strategy.extended.worker_devices
    if len(devices) == 1:  # one device per worker: the case tested here (CPU workers)
        return devices[0]
    try:  # several per worker (GPUs): the replica's own, as the strategy maps it (not tested here)
        return context.devices[0]
    except (IndexError, ValueError, RuntimeError):
        return devices[0]  # any device will do for the gather's destination; only a copy is at stake


def store_rows(variable, row_column: tf.Tensor, values: tf.Tensor) -> None:
    """variable[rows] = values for a (n, r) buffer; ``row_column`` (b, 1) distinct rows, values (b, r).

    For a variable made under a strategy (mirrored, with "only_first_replica" aggregation;
    rows and values those of the global batch, the same on every replica) as a sparse
    ``scatter_update``, the only form a mirrored variable accepts in a replica context. Otherwise as the
    ``scatter_nd_update(row_column, values)`` the callers have always used, with the (b, 1)
    column built as before: the values written are the same, but a different graph around them
    makes Grappler fuse fc4's matmul differently and Z changes in the 7th digit, which 25 epochs
    of training amplify into a different run. Keeping the one-device graph keeps recorded runs
    reproducible.
    """
    variable = getattr(variable, "value", variable)  # a Keras variable → its tf.Variable
    if not isinstance(variable, tf.distribute.DistributedValues):  # made outside any strategy's scope
        variable.scatter_nd_update(row_column, values)
    else:
        variable.scatter_update(tf.IndexedSlices(values, tf.reshape(row_column, (-1,))))


def describe(strategy: tf.distribute.Strategy) -> dict:
    """For result.json: which strategy and how many replicas trained the run."""
    # The default strategy is no strategy at all: record it as the --distribute value "none".
    name = type(strategy).__name__
    if name == "_DefaultDistributionStrategy":
        name = "none"
    return {"strategy": name, "replicas": int(strategy.num_replicas_in_sync)}
