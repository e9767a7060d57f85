"""
fusednet private extension: CPU and CUDA kernels
"""
from __future__ import annotations
import collections.abc
import enum
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Activation', 'CudaArray', 'DLPackArray', 'DenseSpec', 'Device', 'LayerKind', 'LossKind', 'LossSpec', 'MetricKind', 'MetricSpec', 'Net', 'OptimKind', 'OptimSpec', 'PairLoss', 'Reduction', 'activation_backward', 'activation_backward_from_output', 'activation_forward', 'adam_step', 'all_finite', 'argmax_rows', 'bias_grad', 'binary_cross_entropy', 'cpu_bf16_kernel', 'cpu_has_avx512_bf16', 'cpu_isa', 'cpu_isa_detected', 'cpu_matmul_precision', 'cuda_bench_adam', 'cuda_bench_copy', 'cuda_bench_gemm', 'cuda_info', 'cuda_memory_info', 'cuda_peak_bandwidth', 'cuda_synchronize', 'fp32_peak_gflops', 'gemm', 'gemm_blocking', 'gemm_ex', 'gemm_ref', 'get_float32_matmul_precision', 'get_num_threads', 'linear', 'metric_result_width', 'metric_results', 'metric_state', 'metric_state_width', 'mse', 'optim_rule_step', 'pair_loss', 'set_cpu_isa', 'set_float32_matmul_precision', 'set_num_threads', 'sgd_step', 'softmax_backward', 'softmax_cross_entropy', 'softmax_cross_entropy_soft', 'softmax_forward', 'sum_squares']
class Device(enum.Enum):
    """
    Where arrays live and kernels run.
    """
    cpu: typing.ClassVar[Device]
    cuda: typing.ClassVar[Device]
    @classmethod
    def __new__(cls, value):
        ...
class Activation(enum.Enum):
    """
    Activation codes; softmax is row-wise (a Net layer's activation only).
    """
    elu: typing.ClassVar[Activation]
    exponential: typing.ClassVar[Activation]
    gelu: typing.ClassVar[Activation]
    gelu_tanh: typing.ClassVar[Activation]
    hard_sigmoid: typing.ClassVar[Activation]
    hard_silu: typing.ClassVar[Activation]
    leaky_relu: typing.ClassVar[Activation]
    linear: typing.ClassVar[Activation]
    mish: typing.ClassVar[Activation]
    relu: typing.ClassVar[Activation]
    relu6: typing.ClassVar[Activation]
    selu: typing.ClassVar[Activation]
    sigmoid: typing.ClassVar[Activation]
    silu: typing.ClassVar[Activation]
    softmax: typing.ClassVar[Activation]
    softplus: typing.ClassVar[Activation]
    softsign: typing.ClassVar[Activation]
    tanh: typing.ClassVar[Activation]
    @classmethod
    def __new__(cls, value):
        ...
class Reduction(enum.Enum):
    """
    How a loss reduces its per-sample values.
    """
    mean: typing.ClassVar[Reduction]
    sum: typing.ClassVar[Reduction]
    @classmethod
    def __new__(cls, value):
        ...
class LossKind(enum.Enum):
    """
    The losses a Net computes.
    """
    binary_crossentropy: typing.ClassVar[LossKind]
    categorical_crossentropy: typing.ClassVar[LossKind]
    categorical_hinge: typing.ClassVar[LossKind]
    cosine_similarity: typing.ClassVar[LossKind]
    hinge: typing.ClassVar[LossKind]
    huber: typing.ClassVar[LossKind]
    kl_divergence: typing.ClassVar[LossKind]
    log_cosh: typing.ClassVar[LossKind]
    mean_absolute_error: typing.ClassVar[LossKind]
    mean_absolute_percentage_error: typing.ClassVar[LossKind]
    mean_squared_error: typing.ClassVar[LossKind]
    mean_squared_logarithmic_error: typing.ClassVar[LossKind]
    poisson: typing.ClassVar[LossKind]
    sparse_categorical_crossentropy: typing.ClassVar[LossKind]
    squared_hinge: typing.ClassVar[LossKind]
    @classmethod
    def __new__(cls, value):
        ...
class PairLoss(enum.Enum):
    """
    The losses of the pair-loss kernel (kernels/math/loss.h).
    """
    binary_crossentropy_probs: typing.ClassVar[PairLoss]
    categorical_hinge: typing.ClassVar[PairLoss]
    cosine_similarity: typing.ClassVar[PairLoss]
    hinge: typing.ClassVar[PairLoss]
    huber: typing.ClassVar[PairLoss]
    kl_divergence: typing.ClassVar[PairLoss]
    log_cosh: typing.ClassVar[PairLoss]
    mean_absolute_error: typing.ClassVar[PairLoss]
    mean_absolute_percentage_error: typing.ClassVar[PairLoss]
    mean_squared_logarithmic_error: typing.ClassVar[PairLoss]
    poisson: typing.ClassVar[PairLoss]
    squared_hinge: typing.ClassVar[PairLoss]
    @classmethod
    def __new__(cls, value):
        ...
class MetricKind(enum.Enum):
    """
    The metrics a Net computes.
    """
    auc: typing.ClassVar[MetricKind]
    binary_accuracy: typing.ClassVar[MetricKind]
    categorical_accuracy: typing.ClassVar[MetricKind]
    f1_score: typing.ClassVar[MetricKind]
    mean_absolute_error: typing.ClassVar[MetricKind]
    mean_absolute_percentage_error: typing.ClassVar[MetricKind]
    mean_squared_error: typing.ClassVar[MetricKind]
    precision: typing.ClassVar[MetricKind]
    r2_score: typing.ClassVar[MetricKind]
    recall: typing.ClassVar[MetricKind]
    root_mean_squared_error: typing.ClassVar[MetricKind]
    sparse_categorical_accuracy: typing.ClassVar[MetricKind]
    sparse_top_k_categorical_accuracy: typing.ClassVar[MetricKind]
    top_k_categorical_accuracy: typing.ClassVar[MetricKind]
    @classmethod
    def __new__(cls, value):
        ...
class OptimKind(enum.Enum):
    """
    The optimizers a Net steps.
    """
    adadelta: typing.ClassVar[OptimKind]
    adagrad: typing.ClassVar[OptimKind]
    adam: typing.ClassVar[OptimKind]
    adamax: typing.ClassVar[OptimKind]
    adamw: typing.ClassVar[OptimKind]
    lion: typing.ClassVar[OptimKind]
    nadam: typing.ClassVar[OptimKind]
    rmsprop: typing.ClassVar[OptimKind]
    sgd: typing.ClassVar[OptimKind]
    @classmethod
    def __new__(cls, value):
        ...
class DLPackArray:
    """
    A CUDA array's DLPack export held for one call (ops, device='cuda').
    """
    def __init__(self, obj: typing.Any, name: str = 'array') -> None:
        ...
    @property
    def device_id(self) -> int:
        ...
    @property
    def read_only(self) -> bool:
        ...
    @property
    def shape(self) -> tuple:
        ...
class CudaArray:
    """
    A float32 C-contiguous device buffer exported through DLPack (tests).
    """
    def __dlpack__(self, *, stream: typing.Any = None, max_version: typing.Any = None, dl_device: typing.Any = None, copy: typing.Any = None) -> typing.Any:
        ...
    def __dlpack_device__(self) -> tuple[int, int]:
        ...
    def __init__(self, shape: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], read_only: bool = False) -> None:
        ...
    def copy_from(self, host: typing.Any) -> None:
        """
        Copies a C-contiguous float32 host array of this shape in.
        """
    def numpy(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A host copy.
        """
    @property
    def shape(self) -> tuple:
        ...
class MetricSpec:
    """
    A compiled metric: its kind and Keras's arguments (net/spec.h).
    """
    evenly: bool
    from_logits: bool
    has_threshold: bool
    kind: MetricKind
    multi_label: bool
    with_epsilon: bool
    @typing.overload
    def __init__(self) -> None:
        ...
    @typing.overload
    def __init__(self, kind: MetricKind) -> None:
        ...
    @property
    def average(self) -> int:
        ...
    @average.setter
    def average(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def beta(self) -> float:
        ...
    @beta.setter
    def beta(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def class_aggregation(self) -> int:
        ...
    @class_aggregation.setter
    def class_aggregation(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def class_id(self) -> int:
        ...
    @class_id.setter
    def class_id(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def curve(self) -> int:
        ...
    @curve.setter
    def curve(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def k(self) -> int:
        ...
    @k.setter
    def k(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def label_weights(self) -> list[float]:
        ...
    @label_weights.setter
    def label_weights(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def num_regressors(self) -> int:
        ...
    @num_regressors.setter
    def num_regressors(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def summation(self) -> int:
        ...
    @summation.setter
    def summation(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold(self) -> float:
        ...
    @threshold.setter
    def threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def thresholds(self) -> list[float]:
        ...
    @thresholds.setter
    def thresholds(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def top_k(self) -> int:
        ...
    @top_k.setter
    def top_k(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class LayerKind:
    """
    The kinds of layer a Net holds (net/spec.h).
    
    Members:
    
      dense
    
      activation
    
      batch_norm
    
      layer_norm
    
      normalization
    """
    __members__: typing.ClassVar[dict[str, LayerKind]]
    activation: typing.ClassVar[LayerKind]
    batch_norm: typing.ClassVar[LayerKind]
    dense: typing.ClassVar[LayerKind]
    layer_norm: typing.ClassVar[LayerKind]
    normalization: typing.ClassVar[LayerKind]
    @typing.overload
    def __eq__(self, other: LayerKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: LayerKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class DenseSpec:
    """
    One layer of a Net (and the Dropout after it): Dense by default, or another LayerKind (units == in_width for all but Dense).
    """
    activation: Activation
    center: bool
    kind: LayerKind
    scale: bool
    use_bias: bool
    def __init__(self, in_width: typing.SupportsInt | typing.SupportsIndex, units: typing.SupportsInt | typing.SupportsIndex, activation: Activation = Activation.linear, activation_param: typing.SupportsFloat | typing.SupportsIndex = 0.0, use_bias: bool = True, dropout_after: typing.SupportsFloat | typing.SupportsIndex = 0.0, kind: LayerKind = ..., epsilon: typing.SupportsFloat | typing.SupportsIndex = 0.0010000000474974513, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.9900000095367432, scale: bool = True, center: bool = True) -> None:
        ...
    @property
    def activation_param(self) -> float:
        ...
    @activation_param.setter
    def activation_param(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def dropout_after(self) -> float:
        ...
    @dropout_after.setter
    def dropout_after(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def epsilon(self) -> float:
        ...
    @epsilon.setter
    def epsilon(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def in_width(self) -> int:
        ...
    @in_width.setter
    def in_width(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float:
        ...
    @momentum.setter
    def momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def units(self) -> int:
        ...
    @units.setter
    def units(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class LossSpec:
    """
    A Net's loss: its kind, whether outputs are logits, huber's delta, the batch reduction.
    """
    from_logits: bool
    kind: LossKind
    reduction: Reduction
    def __init__(self, kind: LossKind, from_logits: bool = False, param: typing.SupportsFloat | typing.SupportsIndex = 0.0, reduction: Reduction = Reduction.mean) -> None:
        ...
    @property
    def param(self) -> float:
        ...
    @param.setter
    def param(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class OptimSpec:
    """
    A Net's optimizer and its hyperparameters.
    """
    amsgrad: bool
    centered: bool
    kind: OptimKind
    nesterov: bool
    use_ema: bool
    def __init__(self, kind: OptimKind, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, nesterov: bool = False, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.9, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.999, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-07) -> None:
        ...
    @property
    def activity_regularizers(self) -> list[float]:
        ...
    @activity_regularizers.setter
    def activity_regularizers(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def beta1(self) -> float:
        ...
    @beta1.setter
    def beta1(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta2(self) -> float:
        ...
    @beta2.setter
    def beta2(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clipnorm(self) -> float:
        ...
    @clipnorm.setter
    def clipnorm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clipvalue(self) -> float:
        ...
    @clipvalue.setter
    def clipvalue(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def constraints(self) -> list[float]:
        ...
    @constraints.setter
    def constraints(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def ema_momentum(self) -> float:
        ...
    @ema_momentum.setter
    def ema_momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def ema_overwrite_frequency(self) -> int:
        ...
    @ema_overwrite_frequency.setter
    def ema_overwrite_frequency(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def eps(self) -> float:
        ...
    @eps.setter
    def eps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def global_clipnorm(self) -> float:
        ...
    @global_clipnorm.setter
    def global_clipnorm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def initial_accumulator(self) -> float:
        ...
    @initial_accumulator.setter
    def initial_accumulator(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float:
        ...
    @momentum.setter
    def momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def regularizers(self) -> list[float]:
        ...
    @regularizers.setter
    def regularizers(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def rho(self) -> float:
        ...
    @rho.setter
    def rho(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def variables(self) -> list[int]:
        ...
    @variables.setter
    def variables(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def weight_decay(self) -> float:
        ...
    @weight_decay.setter
    def weight_decay(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Net:
    """
    A compiled MLP whose epochs run in C++ on one device (see csrc/net/net.h).
    """
    def __init__(self, layers: collections.abc.Sequence[DenseSpec], input_dropout: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, device: Device = Device.cpu) -> None:
        ...
    def apply_update(self, lr: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def backward(self, spec: LossSpec = None) -> None:
        ...
    def bias_offset(self, layer: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def clear_data_parallel(self) -> None:
        ...
    def compile(self, loss: LossSpec, metrics: collections.abc.Sequence[MetricSpec]) -> None:
        """
        The loss and metrics (MetricSpec, or MetricKind for the defaults) of train_epoch, evaluate and fit.
        """
    def evaluate(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex) -> tuple:
        """
        (loss, metrics, batches) over a data set.
        """
    def fit(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, epochs: typing.SupportsInt | typing.SupportsIndex, shuffle: bool, lrs: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, val_x: typing.Any = None, val_y: typing.Any = None, val_sample_weight: typing.Any = None, val_batch_size: typing.Any = None, nan_watch: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
        """
        Several epochs in one call (no callbacks): one row per epoch of [loss, metrics..., (val_loss, val_metrics...)], a metric taking metric_result_width columns; nan_watch as train_epoch's (a stop ends the fit after that epoch's validation).
        """
    def forward(self, x: typing.Any, training: bool) -> None:
        ...
    def forward_output(self, x: typing.Any, training: bool) -> numpy.typing.NDArray[numpy.float32]:
        """
        forward, then a copy of its output, in one call: no other thread's forward comes between them.
        """
    def fused(self, spec: LossSpec = None) -> bool:
        ...
    def get_grads(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A host copy of the gradient arena.
        """
    def get_optimizer_state(self, i: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def get_output_grad(self) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def get_params(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A host copy of the parameter arena.
        """
    def get_stats(self) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def hold_data(self, hold: bool) -> None:
        """
        While held, the data sets of train_epoch/evaluate stay on the device between calls (recognised by their host arrays, which must not change meanwhile).
        """
    def kernel_offset(self, layer: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def last_metric_state(self) -> tuple[numpy.typing.NDArray[numpy.float64], int]:
        """
        (state, rows) of this thread's last train_epoch / evaluate: the metrics' states summed over its batches (metric_results turns sums of them into metrics).
        """
    def loss(self, y: typing.Any, sample_weight: typing.Any = None, spec: LossSpec = None) -> float:
        """
        Loss of the last forward (spec None: the compiled loss); writes the output delta.
        """
    def optimizer_state(self, i: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def output(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A copy of the last forward's output (after the output activation).
        """
    def output_grad(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        The output delta of the last loss (a writable view into the workspace).
        """
    def predict(self, x: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, out: typing.Any) -> None:
        """
        Outputs of x into out. Runs on a workspace of its own: several threads may predict and evaluate at once; training and updates wait for them (and they for those).
        """
    def set_data_parallel(self, rank: typing.SupportsInt | typing.SupportsIndex, overlap: bool, plan: typing.Any, reduce: typing.Any, wait: typing.Any, sum: typing.Any, any_stop: typing.Any = None) -> None:
        """
        Passes (train_epoch, evaluate, fit) run data-parallel until clear_data_parallel(): plan(n, batch_size) -> (start, rows, global_rows, first) per step; reduce(floats, offset, scale) starts summing gradients over the ranks, in place by wait(); sum(doubles) in place; any_stop(stop) -> bool after every training batch (None: nobody stops mid-epoch).
        """
    def set_grads(self, grads: typing.Any) -> None:
        ...
    def set_optimizer(self, spec: OptimSpec) -> None:
        ...
    def set_optimizer_state(self, i: typing.SupportsInt | typing.SupportsIndex, state: typing.Any) -> None:
        ...
    def set_output_grad(self, dout: typing.Any) -> None:
        ...
    def set_params(self, params: typing.Any) -> None:
        ...
    def set_stats(self, stats: typing.Any) -> None:
        ...
    def stats_offset(self, layer: typing.SupportsInt | typing.SupportsIndex) -> int:
        """
        Layer i's offset in the statistics (-1: none): mean, then variance right after.
        """
    def train_epoch(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, shuffle: bool, lrs: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, hook: typing.Any = None, hook_interval: typing.SupportsFloat | typing.SupportsIndex = 0.0, nan_watch: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
        """
        One epoch: (loss, metrics, batches). hook(batch, loss, metrics) after batches; falsy stops the epoch. nan_watch: 0 off, 1 stop after the batch whose loss is not finite, 2 stop before its update, keeping the last finite weights.
        """
    @property
    def compiled(self) -> bool:
        ...
    @property
    def device(self) -> Device:
        ...
    @property
    def epochs_shuffled(self) -> int:
        ...
    @epochs_shuffled.setter
    def epochs_shuffled(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def grads(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        The gradient arena as a writable float32 view (host-memory nets).
        """
    @property
    def has_optimizer(self) -> bool:
        ...
    @property
    def host_memory(self) -> bool:
        """
        True when the arenas are host memory (params/grads views exist).
        """
    @property
    def input_width(self) -> int:
        ...
    @property
    def last_rows(self) -> int:
        ...
    @property
    def max_resident_bytes(self) -> int:
        """
        Largest data set kept on a device (-1: from free memory; 0: always stream batches from the host). Host-memory nets read data in place.
        """
    @max_resident_bytes.setter
    def max_resident_bytes(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def num_optimizer_states(self) -> int:
        ...
    @property
    def num_params(self) -> int:
        ...
    @property
    def num_stats(self) -> int:
        ...
    @property
    def output_width(self) -> int:
        ...
    @property
    def params(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        The parameter arena as a writable float32 view (host-memory nets).
        """
    @property
    def seed(self) -> int:
        """
        Shuffles and dropout masks follow it (the initial weights were drawn from it).
        """
    @seed.setter
    def seed(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def stats(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        The non-trainable statistics (BatchNormalization's moving mean / variance, Normalization's) as a writable float32 view (host-memory nets).
        """
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def stream_chunk_bytes(self) -> int:
        """
        Host bytes per copy of a streamed data set (whole batches, at least one).
        """
    @stream_chunk_bytes.setter
    def stream_chunk_bytes(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def train_forwards(self) -> int:
        ...
    @train_forwards.setter
    def train_forwards(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
def _batch_norm(x: typing.Any, y: typing.Any, gamma: typing.Any, beta: typing.Any, mean: typing.Any, invstd: typing.Any, moving_mean: typing.Any, moving_variance: typing.Any, mode: typing.SupportsInt | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, device: Device = Device.cpu) -> None:
    """
    Batch normalization (fusednet.ops.batch_norm).
    """
def _batch_norm_backward(dy: typing.Any, x: typing.Any, dx: typing.Any, gamma: typing.Any, mean: typing.Any, invstd: typing.Any, dgamma: typing.Any, dbeta: typing.Any, mode: typing.SupportsInt | typing.SupportsIndex, device: Device = Device.cpu) -> None:
    """
    Batch normalization's backward (fusednet.ops.batch_norm_backward).
    """
def _batch_norm_sums(x: typing.Any, dy: typing.Any, sum: typing.Any, count: typing.SupportsFloat | typing.SupportsIndex, mean: typing.Any, invstd: typing.Any, device: Device = Device.cpu) -> numpy.typing.NDArray[numpy.float64]:
    """
    Synchronized batch norm's float64 column sums: of x, of (x - sum / count)^2, or of dy and dy * xhat (the data-parallel Net's pieces).
    """
def _bf16_dot2(acc: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], a: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], b: typing.Annotated[numpy.typing.ArrayLike, numpy.uint32], hardware: bool) -> numpy.typing.NDArray[numpy.float32]:
    """
    One vdpbf16ps lane per element: acc + a.hi b.hi + a.lo b.lo (pairs of bf16 in uint32), emulated or on the CPU.
    """
def _bf16_round(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], hardware: bool) -> numpy.typing.NDArray[numpy.uint16]:
    """
    float32 -> bf16 bits (uint16) by vcvtne2ps2bf16's rounding, emulated or on the CPU.
    """
def _cuda_count_correct(logits: typing.Any, labels: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> float:
    """
    Rows whose first argmax equals the label, summed on the device (tests).
    """
def _cuda_gather_rows(src: typing.Any, index: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], out: typing.Any) -> None:
    """
    out[i] = src[index[i]] on the device (tests).
    """
def _cuda_gemm_raw(a: typing.Any, off_a: typing.SupportsInt | typing.SupportsIndex, rs_a: typing.SupportsInt | typing.SupportsIndex, cs_a: typing.SupportsInt | typing.SupportsIndex, b: typing.Any, off_b: typing.SupportsInt | typing.SupportsIndex, rs_b: typing.SupportsInt | typing.SupportsIndex, cs_b: typing.SupportsInt | typing.SupportsIndex, c: typing.Any, off_c: typing.SupportsInt | typing.SupportsIndex, rs_c: typing.SupportsInt | typing.SupportsIndex, cs_c: typing.SupportsInt | typing.SupportsIndex, M: typing.SupportsInt | typing.SupportsIndex, N: typing.SupportsInt | typing.SupportsIndex, K: typing.SupportsInt | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, bias: typing.Any, act: Activation, act_param: typing.SupportsFloat | typing.SupportsIndex, allow_tf32: bool) -> numpy.typing.NDArray[numpy.float32]:
    """
    gemm_cuda on 1-D buffers with offsets and strides (tests); returns the C buffer.
    """
def _cuda_try_alloc(nbytes: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Allocates and frees nbytes on the device (tests: the out-of-memory message).
    """
def _dense_grad_narrow(x: typing.Any, dz: typing.Any, w: typing.Any, act: Activation, act_param: typing.SupportsFloat | typing.SupportsIndex, with_dx: bool, reference: bool = False) -> typing.Any:
    """
    A narrow Dense layer's (dw, dx or None) in one pass (kernels/cpu.h dense_grad_narrow_cpu), or None where it declines; reference=True: the arithmetic written out (tests).
    """
def _dist_barrier(flags: numpy.typing.NDArray[numpy.int64], rank: typing.SupportsInt | typing.SupportsIndex, generation: typing.SupportsInt | typing.SupportsIndex, timeout_s: typing.SupportsFloat | typing.SupportsIndex) -> int:
    """
    shared-memory barrier: 0 when every rank arrived, r + 1 when rank r failed, -1 on timeout
    """
def _dist_ordered_sum(src: numpy.ndarray, out: numpy.ndarray) -> None:
    """
    out[i] <- sum of src[j, i] over j in rank order, in float64, rounded once
    """
def _gemm_cuda_split_k(enabled: typing.SupportsInt | typing.SupportsIndex = -1) -> int:
    """
    Whether exact-FP32 gemm_cuda may split K on small grids: 1 on (default), 0 off; -1 keeps it. Returns the previous value.
    """
def _gemm_cuda_tf32_kernel(kernel: typing.SupportsInt | typing.SupportsIndex = -1) -> int:
    """
    TF32 kernel of gemm_cuda: 0 auto (v2 when both operands are 16-byte aligned with a unit stride), 1 v1, 2 v2 128x128, 3 v2 128x256; -1 keeps it. Returns the previous value.
    """
def _gemm_small_plan(M: typing.SupportsInt | typing.SupportsIndex, N: typing.SupportsInt | typing.SupportsIndex, K: typing.SupportsInt | typing.SupportsIndex, rs_a: typing.SupportsInt | typing.SupportsIndex, cs_a: typing.SupportsInt | typing.SupportsIndex, rs_b: typing.SupportsInt | typing.SupportsIndex, cs_b: typing.SupportsInt | typing.SupportsIndex, rs_c: typing.SupportsInt | typing.SupportsIndex, cs_c: typing.SupportsInt | typing.SupportsIndex, bias: bool, isa: typing.Any = None) -> int:
    """
    Element strides of op(A), op(B), C -> the small-kernel orientation gemm takes: -1 none (blocked path), 0 C, 1 C^T.
    """
def _gemm_split_n(mode: typing.SupportsInt | typing.SupportsIndex = -1) -> int:
    """
    How threads share a gemm: 0 automatic, 1 one-panel N chunks (the most tasks and stealing), 2 as 1 without waiting for panels others pack; negative keeps it. Returns the previous mode.
    """
def _gemm_tuning(parallel_min_work: typing.SupportsFloat | typing.SupportsIndex = -1.0, pack_a_min_n: typing.SupportsInt | typing.SupportsIndex = -1, direct_b_max_m: typing.SupportsInt | typing.SupportsIndex = -1, small_max_work: typing.SupportsFloat | typing.SupportsIndex = -1.0, sup_max_work: typing.SupportsFloat | typing.SupportsIndex = -1.0) -> tuple[float, int, int, float, float]:
    """
    Sets the gemm path thresholds (negative keeps one); returns the previous ones.
    """
def _layer_norm(x: typing.Any, y: typing.Any, gamma: typing.Any, beta: typing.Any, mean: typing.Any, rstd: typing.Any, epsilon: typing.SupportsFloat | typing.SupportsIndex, device: Device = Device.cpu) -> None:
    """
    Layer normalization (fusednet.ops.layer_norm).
    """
def _layer_norm_backward(dy: typing.Any, x: typing.Any, dx: typing.Any, gamma: typing.Any, mean: typing.Any, rstd: typing.Any, dgamma: typing.Any, dbeta: typing.Any, device: Device = Device.cpu) -> None:
    """
    Layer normalization's backward (fusednet.ops.layer_norm_backward).
    """
def _matmul_fast(a, b, out, trans_a, trans_b, alpha, beta):
    """
    ops.matmul on plain float32 NumPy arrays in one C call; NotImplemented for anything else (the general path).
    """
def _pool_check(n: typing.SupportsInt | typing.SupportsIndex, grain: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex, throw_at: typing.SupportsInt | typing.SupportsIndex = -1) -> list[int]:
    """
    Runs parallel_for over [0, n) and returns how many times each index ran (tests); throw_at makes that index throw.
    """
def _pool_threads_started() -> int:
    """
    Worker threads the CPU thread pool has started so far (tests).
    """
def _set_backward_side_by_side(mode: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    When backward computes the Dense layers' parameter gradients on a second thread beside the deltas: 0 never, 1 when faster (default), 2 always on the CPU. Returns the previous mode; results never depend on it.
    """
def _set_cpu_bf16_emulation(on: bool) -> bool:
    """
    Tests: under 'medium', run the bf16 gemm's emulated kernel (same packing and tiles, the instruction's arithmetic in portable C++) on any CPU. Returns the previous setting.
    """
def _set_forward_side_by_side(mode: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    When the forward of a small step runs as two halves of the rows side by side: 0 never, 1 when the backward lanes run (default), 2 always where the layers allow it. Returns the previous mode; results never depend on it.
    """
def _set_narrow_dense_grads(mode: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    How narrow Dense layers take their gradients: 0 by gemm, 1 dW in one pass, 2 (default) also the input's delta in that pass (same bits as 1). Returns the previous mode.
    """
def activation_backward(dy: typing.Any, x: typing.Any, out: typing.Any, act: Activation, param: typing.SupportsFloat | typing.SupportsIndex = 0.0, device: Device = Device.cpu, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out = dy * act'(x), x the forward input (out may be dy).
    """
def activation_backward_from_output(dy: typing.Any, y: typing.Any, out: typing.Any, act: Activation, param: typing.SupportsFloat | typing.SupportsIndex = 0.0, device: Device = Device.cpu, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out = dy * act'(x) computed from the forward output y (not for the gelus).
    """
def activation_forward(x: typing.Any, out: typing.Any, act: Activation, param: typing.SupportsFloat | typing.SupportsIndex = 0.0, device: Device = Device.cpu, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    out = act(x) elementwise; contiguous float32 arrays of equal size (out may be x).
    """
def adam_step(param: typing.Any, grad: typing.Any, m: typing.Any, v: typing.Any, step: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.9, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.999, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-07, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, decoupled: bool = False, device: Device = Device.cpu, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    In-place Adam / AdamW step (paper form) over contiguous float32 arrays.
    """
def all_finite(x: typing.Any) -> bool:
    """
    True when a C-contiguous float32 array holds no NaN or inf.
    """
def argmax_rows(x: numpy.ndarray, device: Device = Device.cpu) -> numpy.typing.NDArray[numpy.int64]:
    """
    Index of the first maximum of each row (a NaN counts as the maximum).
    """
def bias_grad(dy: typing.Any, out: typing.Any, device: Device = Device.cpu) -> None:
    """
    out[j] = sum_i dy[i, j] in double: 32 row groups (rows g, g + 32, ...), then the groups.
    """
def binary_cross_entropy(logits: typing.Any, targets: typing.Any, sample_weight: typing.Any = None, reduction: Reduction = Reduction.mean, device: Device = Device.cpu) -> tuple:
    """
    (loss, dlogits) of BCE from logits, 2-D contiguous float32.
    """
def cpu_bf16_kernel() -> str:
    """
    The bf16 gemm kernel in use: 'avx512_bf16', 'emulated' (tests) or 'none'.
    """
def cpu_has_avx512_bf16() -> bool:
    """
    Whether this CPU executes vdpbf16ps (cpuid AVX512_BF16).
    """
def cpu_isa() -> str:
    """
    The CPU ISA the kernels use now.
    """
def cpu_isa_detected() -> str:
    """
    The widest CPU ISA this processor supports.
    """
def cpu_matmul_precision() -> str:
    """
    What the CPU gemm computes with now: 'bf16' (inputs rounded to bf16, FP32 sums) under the 'medium' precision on a CPU with AVX512-BF16 (or the test emulation), else 'fp32'.
    """
def cuda_bench_adam(n: typing.SupportsInt | typing.SupportsIndex, iters: typing.SupportsInt | typing.SupportsIndex) -> float:
    """
    Milliseconds per Adam step over n parameters resident on the device (CUDA events).
    """
def cuda_bench_copy(nbytes: typing.SupportsInt | typing.SupportsIndex, iters: typing.SupportsInt | typing.SupportsIndex) -> float:
    """
    Milliseconds per device-to-device copy of nbytes (CUDA events).
    """
def cuda_bench_gemm(a: typing.Any, b: typing.Any, iters: typing.SupportsInt | typing.SupportsIndex, tf32: bool) -> tuple:
    """
    (ms per call, C) of C = a @ b with the data on the device, timed by CUDA events.
    """
def cuda_info() -> dict:
    """
    CUDA backend status; queries the driver on first call.
    """
def cuda_memory_info() -> tuple:
    """
    (free, total) bytes of the current device.
    """
def cuda_peak_bandwidth() -> float:
    """
    Peak DRAM bandwidth of the device in GB/s (memory clock x bus width; 0 if unknown).
    """
def cuda_synchronize() -> None:
    """
    Waits for every queued kernel on the default stream.
    """
def fp32_peak_gflops(threads: typing.SupportsInt | typing.SupportsIndex, isa: typing.Any = None) -> float:
    """
    FP32 peak in GFLOP/s, measured: `threads` threads each run independent FMA chains on the ISA's vector registers for 5 chunks of ~10 ms; the best chunk's rate is returned.
    """
def gemm(a: typing.Any, b: typing.Any, out: typing.Any, trans_a: bool, trans_b: bool, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, device: Device = Device.cpu) -> typing.Any:
    """
    out = alpha op(a) @ op(b) + beta out; out=None allocates (then beta must be 0). Any layout; on CUDA the operands are copied in and out.
    """
def gemm_blocking(isa: typing.Any = None) -> dict:
    """
    Register tile and cache blocks of the ISA's gemm kernel.
    """
def gemm_ex(a: typing.Any, b: typing.Any, out: typing.Any, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, act: Activation = Activation.linear, act_param: typing.SupportsFloat | typing.SupportsIndex = 0.0, device: Device = Device.cpu) -> typing.Any:
    """
    The full gemm: act(alpha op(a) @ op(b) + beta out + bias).
    """
def gemm_ref(a: typing.Any, b: typing.Any, out: typing.Any, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, act: Activation = Activation.linear, act_param: typing.SupportsFloat | typing.SupportsIndex = 0.0, device: Device = Device.cpu) -> typing.Any:
    """
    The naive double-accumulating reference, for tests.
    """
def get_float32_matmul_precision() -> str:
    ...
def get_num_threads() -> int:
    ...
def linear(x: typing.Any, w: typing.Any, b: typing.Any, out: typing.Any, act: Activation, act_param: typing.SupportsFloat | typing.SupportsIndex, device: Device = Device.cpu) -> typing.Any:
    """
    act(x @ w + b) with the epilogue fused into the gemm.
    """
def metric_result_width(spec: MetricSpec, cols: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def metric_results(specs: collections.abc.Sequence[MetricSpec], state: typing.Any, count: typing.SupportsFloat | typing.SupportsIndex, cols: typing.SupportsInt | typing.SupportsIndex) -> list[float]:
    """
    The metrics' results (concatenated, metric_result_width each) from their states summed over `count` rows (or summed sample weights).
    """
def metric_state(spec: MetricSpec, y_true: typing.Any, y_pred: typing.Any, sample_weight: typing.Any, threshold: typing.SupportsFloat | typing.SupportsIndex = 0.5) -> numpy.typing.NDArray[numpy.float64]:
    """
    One batch's state of a metric (metric_state_width doubles), rows weighted by sample_weight (None: 1). threshold: binary accuracy's.
    """
def metric_state_width(spec: MetricSpec, cols: typing.SupportsInt | typing.SupportsIndex) -> int:
    ...
def mse(pred: typing.Any, target: typing.Any, sample_weight: typing.Any = None, reduction: Reduction = Reduction.mean, device: Device = Device.cpu) -> tuple:
    """
    (loss, dpred) for 2-D contiguous float32 pred/target; mean over columns per row.
    """
def optim_rule_step(rule: typing.SupportsInt | typing.SupportsIndex, param: typing.Any, grad: typing.Any, s0: typing.Any, s1: typing.Any, s2: typing.Any, step: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.9, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.999, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, eps: typing.SupportsFloat | typing.SupportsIndex = 1e-07, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, decoupled: bool = True, clip_value: typing.SupportsFloat | typing.SupportsIndex = ..., device: Device = Device.cpu, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    In-place step of one optimizer rule (Keras's RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Adam with AMSGrad) over contiguous float32 arrays.
    """
def pair_loss(kind: PairLoss, pred: typing.Any, target: typing.Any, sample_weight: typing.Any = None, param: typing.SupportsFloat | typing.SupportsIndex = 0.0, reduction: Reduction = Reduction.mean, device: Device = Device.cpu) -> tuple:
    """
    (loss, dpred) of a PairLoss (param: huber's delta), 2-D contiguous float32 of one shape.
    """
def set_cpu_isa(isa: str) -> None:
    ...
def set_float32_matmul_precision(precision: str) -> None:
    """
    'highest' (exact FP32), 'high' (the CUDA gemm may use TF32 tensor cores; the CPU gemm stays FP32) or 'medium' (also: the CPU gemm takes bf16-rounded inputs with FP32 sums where the CPU has AVX512-BF16; cpu_matmul_precision() says).
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def sgd_step(param: typing.Any, grad: typing.Any, velocity: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, nesterov: bool = False, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, device: Device = Device.cpu, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    In-place SGD step (PyTorch form) over contiguous float32 arrays.
    """
def softmax_backward(dy: typing.Any, x: typing.Any, out: typing.Any, log: bool = False, device: Device = Device.cpu) -> None:
    """
    Gradient of row-wise softmax / log_softmax from dy and the forward input x.
    """
def softmax_cross_entropy(logits: typing.Any, labels: typing.Any, sample_weight: typing.Any = None, reduction: Reduction = Reduction.mean, device: Device = Device.cpu) -> tuple:
    """
    (loss, dlogits) of softmax cross-entropy with int64 labels in [0, cols).
    """
def softmax_cross_entropy_soft(logits: typing.Any, labels: typing.Any, sample_weight: typing.Any = None, reduction: Reduction = Reduction.mean, device: Device = Device.cpu) -> tuple:
    """
    (loss, dlogits) of softmax cross-entropy with probability targets (2-D, logits' shape).
    """
def softmax_forward(x: typing.Any, out: typing.Any, log: bool = False, device: Device = Device.cpu) -> None:
    """
    Row-wise (last axis) softmax or log_softmax of a contiguous array into out.
    """
def sum_squares(x: typing.Any, device: Device = Device.cpu) -> float:
    """
    sum(x**2) in double, in a fixed order (the clip norms' reduction).
    """
