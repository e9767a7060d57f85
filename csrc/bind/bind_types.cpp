// The C++ enums as Python enum.Enum types (fusednet._core.Activation, ...), registered once before
// any binding that takes them, so Python names values instead of mirroring integer codes.
#include <pybind11/native_enum.h>

#include <initializer_list>
#include <utility>

#include "bind/util.h"
#include "kernels/types.h"
#include "net/spec.h"
#include "runtime/cuda_device.h"

namespace fusednet {

namespace {

template <typename E>
void add_enum(py::module_& m, const char* name, const char* doc,
              std::initializer_list<std::pair<const char*, E>> values) {
  py::native_enum<E> e(m, name, "enum.Enum", doc);
  for (const auto& [value_name, value] : values) e.value(value_name, value);
  e.finalize();
}

}  // namespace

void bind_types(py::module_& m) {
  add_enum<Device>(m, "Device", "Where arrays live and kernels run.",
                   {{"cpu", Device::Cpu}, {"cuda", Device::Cuda}});
  add_enum<Activation>(m, "Activation",
                       "Activation codes; softmax is row-wise (a Net layer's activation only).",
                       {{"linear", Activation::Linear},
                        {"relu", Activation::ReLU},
                        {"leaky_relu", Activation::LeakyReLU},
                        {"sigmoid", Activation::Sigmoid},
                        {"tanh", Activation::Tanh},
                        {"gelu", Activation::GELU},
                        {"gelu_tanh", Activation::GELUTanh},
                        {"softmax", Activation::Softmax},
                        {"elu", Activation::ELU},
                        {"selu", Activation::SELU},
                        {"silu", Activation::SiLU},
                        {"softplus", Activation::Softplus},
                        {"softsign", Activation::Softsign},
                        {"relu6", Activation::ReLU6},
                        {"mish", Activation::Mish},
                        {"hard_sigmoid", Activation::HardSigmoid},
                        {"hard_silu", Activation::HardSiLU},
                        {"exponential", Activation::Exponential}});
  add_enum<Reduction>(m, "Reduction", "How a loss reduces its per-sample values.",
                      {{"mean", Reduction::Mean}, {"sum", Reduction::Sum}});
  add_enum<LossKind>(m, "LossKind", "The losses a Net computes.",
                     {{"mean_squared_error", LossKind::MSE},
                      {"binary_crossentropy", LossKind::BCE},
                      {"sparse_categorical_crossentropy", LossKind::SparseCE},
                      {"categorical_crossentropy", LossKind::CategoricalCE},
                      {"mean_absolute_error", LossKind::MAE},
                      {"mean_absolute_percentage_error", LossKind::MAPE},
                      {"mean_squared_logarithmic_error", LossKind::MSLE},
                      {"huber", LossKind::Huber},
                      {"log_cosh", LossKind::LogCosh},
                      {"hinge", LossKind::Hinge},
                      {"squared_hinge", LossKind::SquaredHinge},
                      {"categorical_hinge", LossKind::CategoricalHinge},
                      {"kl_divergence", LossKind::KLD},
                      {"poisson", LossKind::Poisson},
                      {"cosine_similarity", LossKind::CosineSimilarity}});
  add_enum<PairLoss>(m, "PairLoss", "The losses of the pair-loss kernel (kernels/math/loss.h).",
                     {{"mean_absolute_error", PairLoss::MAE},
                      {"mean_absolute_percentage_error", PairLoss::MAPE},
                      {"mean_squared_logarithmic_error", PairLoss::MSLE},
                      {"huber", PairLoss::Huber},
                      {"log_cosh", PairLoss::LogCosh},
                      {"hinge", PairLoss::Hinge},
                      {"squared_hinge", PairLoss::SquaredHinge},
                      {"poisson", PairLoss::Poisson},
                      {"kl_divergence", PairLoss::KLD},
                      {"binary_crossentropy_probs", PairLoss::BCEProbs},
                      {"categorical_hinge", PairLoss::CategoricalHinge},
                      {"cosine_similarity", PairLoss::CosineSimilarity}});
  add_enum<MetricKind>(m, "MetricKind", "The metrics a Net computes.",
                       {{"binary_accuracy", MetricKind::BinaryAccuracy},
                        {"sparse_categorical_accuracy", MetricKind::SparseAccuracy},
                        {"categorical_accuracy", MetricKind::CategoricalAccuracy},
                        {"mean_absolute_error", MetricKind::MAE},
                        {"mean_squared_error", MetricKind::MSE},
                        {"top_k_categorical_accuracy", MetricKind::TopKCategorical},
                        {"sparse_top_k_categorical_accuracy", MetricKind::SparseTopK},
                        {"root_mean_squared_error", MetricKind::RMSE},
                        {"mean_absolute_percentage_error", MetricKind::MAPE},
                        {"auc", MetricKind::AUC},
                        {"precision", MetricKind::Precision},
                        {"recall", MetricKind::Recall},
                        {"f1_score", MetricKind::F1},
                        {"r2_score", MetricKind::R2}});
  add_enum<OptimKind>(m, "OptimKind", "The optimizers a Net steps.",
                      {{"sgd", OptimKind::SGD},
                       {"adam", OptimKind::Adam},
                       {"adamw", OptimKind::AdamW},
                       {"rmsprop", OptimKind::RMSprop},
                       {"adagrad", OptimKind::Adagrad},
                       {"adadelta", OptimKind::Adadelta},
                       {"adamax", OptimKind::Adamax},
                       {"nadam", OptimKind::Nadam},
                       {"lion", OptimKind::Lion}});
}

}  // namespace fusednet
