"""tf.distribute for the custom training loop: the strategy the config names,
the per-replica steps, the sharded input, and which worker is the chief.

Follows TensorFlow's "Custom training loop with Keras and
MultiWorkerMirroredStrategy" tutorial. The default strategy, "none", does not
come through here: the single-device loop keeps its own train step, with no
strategy object in its way.
"""
import contextlib
import shutil
import tempfile
from typing import Dict, Iterator, Optional

import tensorflow as tf
import tf_keras as keras

from trainer_module import step_groups, train_loop
from trainer_module.config import TrainConfig

Strategy = Optional[tf.distribute.Strategy]


def create_strategy(name: str) -> Strategy:
    """None for "none". Call before any TensorFlow op runs: the multi-worker
    strategy configures the runtime's collectives, which must precede them."""
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    # The cluster and this worker's place in it come from TF_CONFIG; without
    # it, this is one worker using its local devices.
    return tf.distribute.MultiWorkerMirroredStrategy()


def _cluster(strategy: Strategy) -> Dict[str, list]:
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver.cluster_spec().as_dict() if resolver else {}


def is_chief(strategy: Strategy) -> bool:
    """The one worker that writes the model: the "chief" task if TF_CONFIG
    names one (Vertex AI, TFJob with a Chief replica), else worker 0."""
    cluster = _cluster(strategy)
    if not cluster:
        return True
    resolver = strategy.cluster_resolver
    if "chief" in cluster:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


def describe(strategy: Strategy) -> Dict[str, object]:
    """Where this process stands, for logs and the training summary."""
    if strategy is None:
        return {"replicas_in_sync": 1, "workers": 1, "chief": True}
    cluster = _cluster(strategy)
    found = {
        "replicas_in_sync": strategy.num_replicas_in_sync,
        "workers": sum(len(tasks) for tasks in cluster.values()) or 1,
    }
    if cluster:
        resolver = strategy.cluster_resolver
        found["task"] = f"{resolver.task_type}:{resolver.task_id}"
    found["chief"] = is_chief(strategy)
    return found


def scope(strategy: Strategy):
    """Where the model, its optimizer and metrics must be created."""
    return strategy.scope() if strategy else contextlib.nullcontext()


def distribute(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset):
    """Splits each global batch among the replicas, and among the workers.

    DATA auto-sharding: every worker reads all files and keeps its part of
    each batch. FILE sharding (what AUTO tries first) would give workers
    whole files, and so different numbers of steps whenever the files differ
    in size; a worker that runs out first leaves the others waiting in a
    collective forever. DATA needs the same order on every worker: the
    input pipeline shuffles with the configured seed.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


class ReplicatedSteps(train_loop.Steps):
    """Steps' train and test steps, run on every replica by `strategy.run`.

    Each replica's loss is its examples' summed loss divided by the *global*
    batch size, so the gradients the strategy sums across replicas are those
    of the global batch's mean loss. The metrics, made in the strategy's
    scope, sum their totals and counts across replicas and workers when read.

    Steps run in groups (trainer_module/step_groups.py), whose calls iterate
    the distributed dataset in the graph: iterated from Python, a multi-worker
    dataset runs an eager all-reduce at every step (do all workers still have
    data?), several times slower (docs/performance.md). `examples_seen` is
    this worker's share of the data: evidence that batches were split, not
    repeated, across workers.
    """

    def __init__(
        self,
        model: keras.Model,
        learning_rate,
        strategy: tf.distribute.Strategy,
        global_batch_size: int,
        dropout: bool = True,
        steps_per_call: int = 1,
    ):
        with strategy.scope():
            super().__init__(model, learning_rate, dropout, steps_per_call)
            self.loss_object = keras.losses.SparseCategoricalCrossentropy(
                reduction=keras.losses.Reduction.NONE
            )
        self.strategy = strategy
        self.global_batch_size = global_batch_size

    def train_step(self, images, labels):
        self.strategy.run(self._replica_train_step, args=(images, labels))

    def _replica_train_step(self, images, labels):
        with tf.GradientTape() as tape:
            prediction = self.model(images, training=self.dropout)
            per_example_loss = self.loss_object(labels, prediction)
            loss = tf.nn.compute_average_loss(
                per_example_loss, global_batch_size=self.global_batch_size
            )
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
        self.train_loss.update_state(per_example_loss)
        self.train_accuracy.update_state(labels, prediction)

    def test_step(self, images, labels):
        self.strategy.run(self._replica_test_step, args=(images, labels))

    def _replica_test_step(self, images, labels):
        prediction = self.model(images, training=False)
        self.test_loss.update_state(self.loss_object(labels, prediction))
        self.test_accuracy.update_state(labels, prediction)

    def batch_examples(self, labels):
        return sum(tf.shape(t)[0] for t in self.strategy.experimental_local_results(labels))

    def train_epoch(self, dataset, bar: Optional[keras.utils.Progbar] = None, summaries=None) -> int:
        """In groups of steps_per_call, one step per call included: `summaries`
        takes no step scalars here (reading the metrics is a collective, and
        only the chief writes them)."""
        return step_groups.train_epoch(self, dataset, bar)

    def test_epoch(self, dataset, summaries=None) -> None:
        """Hands `summaries` no predictions: the misclassified digits come
        from their own inference on the chief."""
        step_groups.test_epoch(self, dataset)


def train(
    strategy: tf.distribute.Strategy,
    model: keras.Model,
    train_ds: tf.data.Dataset,
    eval_ds: tf.data.Dataset,
    config: TrainConfig,
    summaries: Optional[train_loop.Summaries] = None,
) -> train_loop.History:
    """The custom loop under `strategy`; `model` was built in its scope.
    `summaries`: epoch scalars and misclassified digits (from the chief's
    undistributed eval data), no step scalars."""
    steps = ReplicatedSteps(
        model, train_loop.learning_rate_for(config, train_ds), strategy,
        config.batch_size, config.train_dropout, config.steps_per_call,
    )
    history = train_loop.run_epochs(
        steps, distribute(strategy, train_ds), distribute(strategy, eval_ds), config.epochs,
        summaries, eval_ds,
    )
    where = describe(strategy)
    print(
        f"{where.get('task', 'local')}{' (chief)' if where['chief'] else ''}, one of "
        f"{where['workers']} worker(s), {where['replicas_in_sync']} replica(s) in sync: "
        f"trained on {steps.examples_seen} examples here in {config.epochs} epoch(s)",
        flush=True,
    )
    return history


@contextlib.contextmanager
def export_dir(strategy: Strategy, serving_model_dir: str) -> Iterator[str]:
    """Where this worker saves the model: the chief into `serving_model_dir`,
    the others into a scratch directory, deleted afterwards. Every worker
    saves, as the tutorial does: saving may read variables collectively."""
    if is_chief(strategy):
        yield serving_model_dir
        return
    scratch = tempfile.mkdtemp(prefix="non_chief_model_")
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def wait_for_all_workers(strategy: tf.distribute.Strategy) -> None:
    """Returns once every replica has called it (an all-reduce).

    Called after the chief has written the model, so that no worker finishes
    before the model exists: TFX's Trainer executor checks, on every worker,
    that the serving model directory exists.
    """
    strategy.reduce(
        tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)), axis=None
    )
