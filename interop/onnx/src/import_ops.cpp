// The operator table of onnx::import_model and the helpers its op files share.
#include "import_ops.hpp"

#include <axon/error.hpp>

namespace axon::onnx::detail {

const OpFactory* find_op(const std::string& op_type) {
  static const std::map<std::string, OpFactory> ops = [] {
    std::map<std::string, OpFactory> m;
    add_math_ops(m);
    add_shape_ops(m);
    add_nn_ops(m);
    add_recurrent_ops(m);
    add_resize_ops(m);
    add_einsum_ops(m);
    return m;
  }();
  auto it = ops.find(op_type);
  return it == ops.end() ? nullptr : &it->second;
}

const Tensor& input(const std::vector<Tensor>& in, size_t slot, const std::string& who, const char* what) {
  AXON_CHECK(slot < in.size() && in[slot].defined(), kImport, "{}: input {} ({}) is missing", who, slot, what);
  return in[slot];
}

Tensor optional_input(const std::vector<Tensor>& in, size_t slot) { return slot < in.size() ? in[slot] : Tensor(); }

int64_t norm_axis(int64_t axis, int64_t rank, const std::string& who) {
  AXON_CHECK(axis >= -rank && axis < rank, kImport, "{}: axis {} is out of range for rank {}", who, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Shape checked_shape(const std::vector<int64_t>& dims, const std::string& who) {
  int64_t n = 1;
  for (int64_t d : dims) {
    AXON_CHECK(d >= 0, kImport, "{}: the shape {} has a negative dim", who, to_string(dims));
    AXON_CHECK(d == 0 || n <= kMaxElements / d, kImport, "{}: the shape {} has too many elements", who, to_string(dims));
    n *= d;
  }
  return dims;
}

}  // namespace axon::onnx::detail
