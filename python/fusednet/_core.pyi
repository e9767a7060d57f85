"""
fusednet private extension: CPU and CUDA kernels
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Net', 'NetCuda', 'activation_backward', 'activation_backward_from_output', 'activation_forward', 'adam_step', 'all_finite', 'argmax_rows', 'bias_grad', 'binary_cross_entropy', 'cpu_isa', 'cpu_isa_detected', 'cuda_activation_backward', 'cuda_activation_forward', 'cuda_adam', 'cuda_argmax', 'cuda_bench_adam', 'cuda_bench_copy', 'cuda_bench_gemm', 'cuda_bias_grad', 'cuda_count_correct', 'cuda_gather_rows', 'cuda_gemm', 'cuda_get_float32_matmul_precision', 'cuda_info', 'cuda_memory_info', 'cuda_pair_loss', 'cuda_peak_bandwidth', 'cuda_set_float32_matmul_precision', 'cuda_sgd', 'cuda_softmax_backward', 'cuda_softmax_ce', 'cuda_softmax_forward', 'cuda_synchronize', 'cuda_try_alloc', 'fp32_peak_gflops', 'gemm', 'gemm_blocking', 'gemm_ex', 'gemm_ref', 'get_num_threads', 'linear', 'mse', 'set_cpu_isa', 'set_num_threads', 'sgd_step', 'softmax_backward', 'softmax_cross_entropy', 'softmax_cross_entropy_soft', 'softmax_forward']
class Net:
    """
    A compiled MLP whose epochs run in C++ (see csrc/net.h).
    """
    def __init__(self, layers: collections.abc.Sequence[tuple], input_dropout: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def apply_update(self, lr: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def backward(self, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool) -> None:
        ...
    def bias_offset(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def evaluate(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool, metrics: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> tuple[float, list[float], int]:
        ...
    def fit(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, epochs: typing.SupportsInt | typing.SupportsIndex, shuffle: bool, lrs: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool, metrics: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], val_x: typing.Any, val_y: typing.Any, val_sample_weight: typing.Any, val_batch_size: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
        ...
    def forward(self, x: typing.Any, training: bool) -> None:
        ...
    def fused(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: bool) -> bool:
        ...
    def kernel_offset(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def loss(self, y: typing.Any, sample_weight: typing.Any, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool) -> float:
        ...
    def optimizer_state(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
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
        ...
    def set_optimizer(self, kind: typing.SupportsInt | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, weight_decay: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def train_epoch(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, shuffle: bool, lrs: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool, metrics: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], hook: typing.Any, hook_interval: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> tuple[float, list[float], int]:
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
        The gradient arena as a writable float32 view.
        """
    @property
    def has_optimizer(self) -> bool:
        ...
    @property
    def input_width(self) -> int:
        ...
    @property
    def num_optimizer_states(self) -> int:
        ...
    @property
    def num_params(self) -> int:
        ...
    @property
    def output_width(self) -> int:
        ...
    @property
    def params(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        The parameter arena as a writable float32 view.
        """
    @property
    def seed(self) -> int:
        ...
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def train_forwards(self) -> int:
        ...
    @train_forwards.setter
    def train_forwards(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class NetCuda:
    """
    A compiled MLP whose arenas, workspace and data live on the GPU (see csrc/net_cuda.h). Arenas are read/written as host copies.
    """
    def __init__(self, layers: collections.abc.Sequence[tuple], input_dropout: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def apply_update(self, lr: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def backward(self, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool) -> None:
        ...
    def bias_offset(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def evaluate(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool, metrics: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> tuple[float, list[float], int]:
        ...
    def fit(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, epochs: typing.SupportsInt | typing.SupportsIndex, shuffle: bool, lrs: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool, metrics: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], val_x: typing.Any, val_y: typing.Any, val_sample_weight: typing.Any, val_batch_size: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
        ...
    def forward(self, x: typing.Any, training: bool) -> None:
        ...
    def fused(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: bool) -> bool:
        ...
    def get_grads(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A host copy of the gradient arena.
        """
    def get_optimizer_state(self, i: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def get_output_grad(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A host copy of the output delta of the last loss.
        """
    def get_params(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A host copy of the parameter arena.
        """
    def hold_data(self, hold: bool) -> None:
        """
        While held, the data sets of train_epoch/evaluate stay on the device between calls (recognised by their host arrays, which must not change meanwhile).
        """
    def kernel_offset(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def loss(self, y: typing.Any, sample_weight: typing.Any, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool) -> float:
        ...
    def output(self) -> numpy.typing.NDArray[numpy.float32]:
        """
        A copy of the last forward's output (after the output activation).
        """
    def predict(self, x: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, out: typing.Any) -> None:
        ...
    def set_grads(self, grads: typing.Any) -> None:
        ...
    def set_optimizer(self, kind: typing.SupportsInt | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, weight_decay: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_optimizer_state(self, i: typing.SupportsInt | typing.SupportsIndex, state: typing.Any) -> None:
        ...
    def set_output_grad(self, dout: typing.Any) -> None:
        ...
    def set_params(self, params: typing.Any) -> None:
        ...
    def train_epoch(self, x: typing.Any, y: typing.Any, sample_weight: typing.Any, batch_size: typing.SupportsInt | typing.SupportsIndex, shuffle: bool, lrs: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, kind: typing.SupportsInt | typing.SupportsIndex, from_logits: bool, metrics: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], hook: typing.Any, hook_interval: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> tuple[float, list[float], int]:
        ...
    @property
    def epochs_shuffled(self) -> int:
        ...
    @epochs_shuffled.setter
    def epochs_shuffled(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def has_optimizer(self) -> bool:
        ...
    @property
    def input_width(self) -> int:
        ...
    @property
    def last_rows(self) -> int:
        ...
    @property
    def max_resident_bytes(self) -> int:
        """
        Largest data set kept on the device (-1: from free memory; 0: always stream batches from the host).
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
    def output_width(self) -> int:
        ...
    @property
    def seed(self) -> int:
        ...
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
def _cuda_gemm_raw(a: typing.Any, off_a: typing.SupportsInt | typing.SupportsIndex, rs_a: typing.SupportsInt | typing.SupportsIndex, cs_a: typing.SupportsInt | typing.SupportsIndex, b: typing.Any, off_b: typing.SupportsInt | typing.SupportsIndex, rs_b: typing.SupportsInt | typing.SupportsIndex, cs_b: typing.SupportsInt | typing.SupportsIndex, c: typing.Any, off_c: typing.SupportsInt | typing.SupportsIndex, rs_c: typing.SupportsInt | typing.SupportsIndex, cs_c: typing.SupportsInt | typing.SupportsIndex, M: typing.SupportsInt | typing.SupportsIndex, N: typing.SupportsInt | typing.SupportsIndex, K: typing.SupportsInt | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, bias: typing.Any, act: typing.SupportsInt | typing.SupportsIndex, act_param: typing.SupportsFloat | typing.SupportsIndex, allow_tf32: bool) -> numpy.typing.NDArray[numpy.float32]:
    ...
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
def _gemm_tuning(parallel_min_work: typing.SupportsFloat | typing.SupportsIndex = -1.0, pack_a_min_n: typing.SupportsInt | typing.SupportsIndex = -1, direct_b_max_m: typing.SupportsInt | typing.SupportsIndex = -1, small_max_work: typing.SupportsFloat | typing.SupportsIndex = -1.0) -> tuple[float, int, int, float]:
    """
    Sets the gemm path thresholds (negative keeps one); returns the previous ones.
    """
def _pool_check(n: typing.SupportsInt | typing.SupportsIndex, grain: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex, throw_at: typing.SupportsInt | typing.SupportsIndex = -1) -> list[int]:
    """
    Runs parallel_for over [0, n) and returns how many times each index ran (tests); throw_at makes that index throw.
    """
def _pool_threads_started() -> int:
    """
    Worker threads the CPU thread pool has started so far (tests).
    """
def activation_backward(dy: numpy.ndarray, x: numpy.ndarray, out: numpy.ndarray, act: typing.SupportsInt | typing.SupportsIndex, param: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    out = dy * act'(x), x the forward input (out may be dy).
    """
def activation_backward_from_output(dy: numpy.ndarray, y: numpy.ndarray, out: numpy.ndarray, act: typing.SupportsInt | typing.SupportsIndex, param: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    out = dy * act'(x) computed from the forward output y (not for the gelus).
    """
def activation_forward(x: numpy.ndarray, out: numpy.ndarray, act: typing.SupportsInt | typing.SupportsIndex, param: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    out = act(x) elementwise; contiguous float32 arrays of equal size (out may be x).
    """
def adam_step(param: typing.Any, grad: typing.Any, m: typing.Any, v: typing.Any, step: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex = 0.0010000000474974513, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.8999999761581421, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.9990000128746033, eps: typing.SupportsFloat | typing.SupportsIndex = 1.0000000116860974e-07, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, decoupled: bool = False) -> None:
    """
    In-place Adam / AdamW step (paper form) over contiguous float32 arrays.
    """
def all_finite(x: typing.Any) -> bool:
    """
    True when a C-contiguous float32 array holds no NaN or inf.
    """
def argmax_rows(x: numpy.ndarray) -> numpy.typing.NDArray[numpy.int64]:
    """
    Index of the first maximum of each row (a NaN counts as the maximum).
    """
def bias_grad(dy: numpy.ndarray, out: numpy.ndarray) -> None:
    """
    out[j] = sum_i dy[i, j], rows added in order.
    """
def binary_cross_entropy(logits: typing.Any, targets: typing.Any, sample_weight: typing.Any = None, reduction: str = 'mean') -> tuple:
    """
    (loss, dlogits) of BCE from logits, 2-D contiguous float32.
    """
def cpu_isa() -> str:
    """
    The CPU ISA the kernels use now.
    """
def cpu_isa_detected() -> str:
    """
    The widest CPU ISA this processor supports.
    """
def cuda_activation_backward(dy: typing.Any, x: typing.Any, out: typing.Any, act: typing.SupportsInt | typing.SupportsIndex, param: typing.SupportsFloat | typing.SupportsIndex, from_output: bool = False, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    ...
def cuda_activation_forward(x: typing.Any, out: typing.Any, act: typing.SupportsInt | typing.SupportsIndex, param: typing.SupportsFloat | typing.SupportsIndex, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    ...
def cuda_adam(param: typing.Any, grad: typing.Any, m: typing.Any, v: typing.Any, step: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, decoupled: bool, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    ...
def cuda_argmax(x: typing.Any, out: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> None:
    ...
def cuda_bench_adam(n: typing.SupportsInt | typing.SupportsIndex, iters: typing.SupportsInt | typing.SupportsIndex) -> float:
    ...
def cuda_bench_copy(nbytes: typing.SupportsInt | typing.SupportsIndex, iters: typing.SupportsInt | typing.SupportsIndex) -> float:
    ...
def cuda_bench_gemm(a: typing.Any, b: typing.Any, iters: typing.SupportsInt | typing.SupportsIndex, tf32: bool) -> tuple:
    ...
def cuda_bias_grad(dy: typing.Any, out: typing.Any) -> None:
    ...
def cuda_count_correct(logits: typing.Any, labels: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> float:
    ...
def cuda_gather_rows(src: typing.Any, index: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], out: typing.Any) -> None:
    ...
def cuda_gemm(a: typing.Any, b: typing.Any, out: typing.Any, trans_a: bool, trans_b: bool, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, bias: typing.Any, act: typing.SupportsInt | typing.SupportsIndex, act_param: typing.SupportsFloat | typing.SupportsIndex, allow_tf32: bool) -> None:
    ...
def cuda_get_float32_matmul_precision() -> str:
    ...
def cuda_info() -> dict:
    """
    CUDA backend status; queries the driver on first call.
    """
def cuda_memory_info() -> tuple:
    ...
def cuda_pair_loss(kind: typing.SupportsInt | typing.SupportsIndex, a: typing.Any, t: typing.Any, sample_weight: typing.Any, out: typing.Any, reduction: str) -> float:
    ...
def cuda_peak_bandwidth() -> float:
    ...
def cuda_set_float32_matmul_precision(precision: str) -> None:
    ...
def cuda_sgd(param: typing.Any, grad: typing.Any, velocity: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, weight_decay: typing.SupportsFloat | typing.SupportsIndex, misalign: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    ...
def cuda_softmax_backward(dy: typing.Any, x: typing.Any, out: typing.Any, log: bool) -> None:
    ...
def cuda_softmax_ce(logits: typing.Any, labels: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], sample_weight: typing.Any, out: typing.Any, reduction: str) -> float:
    ...
def cuda_softmax_forward(x: typing.Any, out: typing.Any, log: bool) -> None:
    ...
def cuda_synchronize() -> None:
    ...
def cuda_try_alloc(nbytes: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def fp32_peak_gflops(threads: typing.SupportsInt | typing.SupportsIndex, isa: typing.Any = None) -> float:
    """
    FP32 peak in GFLOP/s, measured: `threads` threads each run independent FMA chains on the ISA's vector registers for 5 chunks of ~10 ms; the best chunk's rate is returned.
    """
def gemm(a: typing.Any, b: typing.Any, out: typing.Any, trans_a: bool, trans_b: bool, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex) -> typing.Any:
    """
    C = alpha op(a) @ op(b) + beta out; out=None allocates (then beta must be 0).
    """
def gemm_blocking(isa: typing.Any = None) -> dict:
    """
    Register tile and cache blocks of the ISA's gemm kernel.
    """
def gemm_ex(a: typing.Any, b: typing.Any, out: typing.Any, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, act: typing.SupportsInt | typing.SupportsIndex = 0, act_param: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> typing.Any:
    """
    The full gemm_cpu: act(alpha op(a) op(b) + beta out + bias).
    """
def gemm_ref(a: typing.Any, b: typing.Any, out: typing.Any, trans_a: bool = False, trans_b: bool = False, alpha: typing.SupportsFloat | typing.SupportsIndex = 1.0, beta: typing.SupportsFloat | typing.SupportsIndex = 0.0, bias: typing.Any = None, act: typing.SupportsInt | typing.SupportsIndex = 0, act_param: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> typing.Any:
    """
    The naive double-accumulating reference, for tests.
    """
def get_num_threads() -> int:
    ...
def linear(x: typing.Any, w: typing.Any, b: typing.Any, out: typing.Any, act: typing.SupportsInt | typing.SupportsIndex, act_param: typing.SupportsFloat | typing.SupportsIndex) -> typing.Any:
    """
    act(x @ w + b) with the epilogue fused into the gemm.
    """
def mse(pred: typing.Any, target: typing.Any, sample_weight: typing.Any = None, reduction: str = 'mean') -> tuple:
    """
    (loss, dpred) for 2-D contiguous float32 pred/target; mean over columns per row.
    """
def set_cpu_isa(isa: str) -> None:
    ...
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def sgd_step(param: typing.Any, grad: typing.Any, velocity: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, nesterov: bool = False, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> None:
    """
    In-place SGD step (PyTorch form) over contiguous float32 arrays.
    """
def softmax_backward(dy: numpy.ndarray, x: numpy.ndarray, out: numpy.ndarray, log: bool = False) -> None:
    """
    Gradient of row-wise softmax / log_softmax from dy and the forward input x.
    """
def softmax_cross_entropy(logits: typing.Any, labels: typing.Any, sample_weight: typing.Any = None, reduction: str = 'mean') -> tuple[float, numpy.typing.NDArray[numpy.float32]]:
    """
    (loss, dlogits) of softmax cross-entropy with int64 labels in [0, cols).
    """
def softmax_cross_entropy_soft(logits: typing.Any, targets: typing.Any, sample_weight: typing.Any = None, reduction: str = 'mean') -> tuple:
    """
    (loss, dlogits) of softmax cross-entropy with probability targets (2-D, logits' shape).
    """
def softmax_forward(x: numpy.ndarray, out: numpy.ndarray, log: bool = False) -> None:
    """
    Row-wise (last axis) softmax or log_softmax of a contiguous array into out.
    """
