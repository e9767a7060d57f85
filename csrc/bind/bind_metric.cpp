// MetricSpec (a compiled metric and Keras's arguments) and the kernels behind the metric objects
// of fusednet.metrics: a batch's state (the same CPU kernels as the net's metrics, plus sample
// weights) and the results from summed states (the net's own function).
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bind/util.h"
#include "kernels/cpu.h"
#include "net/spec.h"

namespace fusednet {

namespace {

void bind_metric_spec(py::module_& m) {
  py::class_<MetricSpec> c(m, "MetricSpec",
                           "A compiled metric: its kind and Keras's arguments (net/spec.h).");
  c.def(py::init<>()).def(py::init<MetricKind>(), py::arg("kind"));
  c.def_readwrite("kind", &MetricSpec::kind)
      .def_readwrite("k", &MetricSpec::k)
      .def_readwrite("thresholds", &MetricSpec::thresholds)
      .def_readwrite("evenly", &MetricSpec::evenly)
      .def_readwrite("with_epsilon", &MetricSpec::with_epsilon)
      .def_readwrite("top_k", &MetricSpec::top_k)
      .def_readwrite("class_id", &MetricSpec::class_id)
      .def_readwrite("curve", &MetricSpec::curve)
      .def_readwrite("summation", &MetricSpec::summation)
      .def_readwrite("multi_label", &MetricSpec::multi_label)
      .def_readwrite("label_weights", &MetricSpec::label_weights)
      .def_readwrite("from_logits", &MetricSpec::from_logits)
      .def_readwrite("average", &MetricSpec::average)
      .def_readwrite("beta", &MetricSpec::beta)
      .def_readwrite("has_threshold", &MetricSpec::has_threshold)
      .def_readwrite("threshold", &MetricSpec::threshold)
      .def_readwrite("class_aggregation", &MetricSpec::class_aggregation)
      .def_readwrite("num_regressors", &MetricSpec::num_regressors);
  py::implicitly_convertible<MetricKind, MetricSpec>();
}

bool sparse_labels(MetricKind k) {
  return k == MetricKind::SparseAccuracy || k == MetricKind::SparseTopK;
}

}  // namespace

void bind_metric(py::module_& m) {
  bind_metric_spec(m);
  m.def("metric_state_width", &metric_state_width, py::arg("spec"), py::arg("cols"));
  m.def("metric_result_width", &metric_result_width, py::arg("spec"), py::arg("cols"));
  m.def(
      "metric_state",
      [](const MetricSpec& spec, const py::handle& y_true, const py::handle& y_pred,
         const py::object& sample_weight, float threshold) {
        F32View p = f32_view(y_pred, "y_pred");
        require_ndim(p, 2, "y_pred");
        require_contiguous(p, "y_pred");
        const index_t n = p.dim(0), cols = p.dim(1);
        const std::int64_t* labels = nullptr;
        const float* targets = nullptr;
        if (sparse_labels(spec.kind)) {
          auto a = py::reinterpret_borrow<py::array>(y_true);
          if (!py::isinstance<py::array>(y_true) || !a.dtype().is(py::dtype::of<std::int64_t>()) ||
              a.ndim() != 1 || !(a.flags() & py::array::c_style))
            throw py::type_error("y_true: expected a contiguous int64 (n,) label array");
          if (a.shape(0) != n)
            throw py::value_error("y_true: expected " + std::to_string(n) + " labels, got " +
                                  std::to_string(a.shape(0)));
          labels = static_cast<const std::int64_t*>(a.data());
        } else {
          F32View t = f32_view(y_true, "y_true");
          require_contiguous(t, "y_true");
          require_shape(t, {n, cols}, "y_true");
          targets = t.data;
        }
        const float* w = nullptr;
        if (!sample_weight.is_none()) {
          F32View v = f32_view(sample_weight, "sample_weight");
          require_contiguous(v, "sample_weight");
          require_shape(v, {n}, "sample_weight");
          w = v.data;
        }
        FN_CHECK(spec.k >= 1, "k: expected >= 1, got ", spec.k);
        const index_t width = metric_state_width(spec, cols);
        py::array_t<double> out(static_cast<py::ssize_t>(width));
        double* o = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          if (metric_is_row_sum(spec.kind)) {
            o[0] = metric_sum_cpu(static_cast<int>(spec.kind), p.data, threshold, labels, targets,
                                  w, n, cols, spec.k);
          } else {
            metricmath::MetricParams mp;
            mp.kind = static_cast<int>(spec.kind);
            mp.top_k = spec.top_k;
            mp.class_id = spec.class_id;
            mp.num_thresholds = static_cast<int>(spec.thresholds.size());
            mp.thresholds = spec.thresholds.data();
            mp.evenly = spec.evenly;
            mp.with_epsilon = spec.with_epsilon;
            mp.multi_label = spec.multi_label;
            mp.from_logits = spec.from_logits;
            mp.has_threshold = spec.has_threshold;
            mp.threshold = spec.threshold;
            metric_state_cpu(mp, p.data, targets, w, n, cols, o, width);
          }
        }
        return out;
      },
      py::arg("spec"), py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight"),
      py::arg("threshold") = 0.5f,
      "One batch's state of a metric (metric_state_width doubles), rows weighted by "
      "sample_weight (None: 1). threshold: binary accuracy's.");
  m.def(
      "metric_results",
      [](const std::vector<MetricSpec>& specs, const py::handle& state, double count,
         index_t cols) {
        py::array_t<double, py::array::c_style | py::array::forcecast> s =
            py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(state);
        if (!s || s.ndim() != 1) throw py::type_error("state: expected a 1-D float64 array");
        index_t width = 0;
        for (const MetricSpec& sp : specs) width += metric_state_width(sp, cols);
        if (s.shape(0) != width)
          throw py::value_error("state: expected " + std::to_string(width) + " values, got " +
                                std::to_string(s.shape(0)));
        return metric_results(specs, s.data(), count, cols);
      },
      py::arg("specs"), py::arg("state"), py::arg("count"), py::arg("cols"),
      "The metrics' results (concatenated, metric_result_width each) from their states summed "
      "over `count` rows (or summed sample weights).");
}

}  // namespace fusednet
