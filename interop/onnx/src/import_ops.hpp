#pragma once
// Internal to onnx::import_model: the ONNX operators it maps, each a function of the node's input
// tensors (in ONNX layout: NCHW stays NCHW) written with axon's differentiable ops, so the imported
// model trains. import_model folds a node whose inputs are all constants by calling the same function
// once, and otherwise wraps it in a custom layer.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "import_proto.hpp"

namespace axon::onnx::detail {

struct OpRun {
  bool training = false;             // the model runs in train mode
  std::map<size_t, Tensor> new_state;  // input slot -> its updated value (BatchNormalization's running stats)
};

// `in` holds one tensor per input slot of the node, undefined for an omitted optional input; the
// result one per output (an output the op cannot give is undefined, and using it is an error).
using OpFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& in, OpRun& run)>;

struct OpImpl {
  OpFn fn;
  std::set<size_t> state_slots = {};  // inputs that are non-trainable state when they are initializers
};

// Reads and checks the node's attributes once, when the graph is imported.
using OpFactory = std::function<OpImpl(const Attrs& attrs)>;

// The factory for an op of the default domain, or null when it is not supported.
const OpFactory* find_op(const std::string& op_type);

// Registration from the op files (import_ops_*.cpp); called once by find_op.
void add_math_ops(std::map<std::string, OpFactory>& ops);
void add_shape_ops(std::map<std::string, OpFactory>& ops);
void add_nn_ops(std::map<std::string, OpFactory>& ops);
void add_recurrent_ops(std::map<std::string, OpFactory>& ops);
void add_resize_ops(std::map<std::string, OpFactory>& ops);
void add_einsum_ops(std::map<std::string, OpFactory>& ops);

// Helpers the op files share.
// in[slot], or an error naming the node and `what` when it is absent.
const Tensor& input(const std::vector<Tensor>& in, size_t slot, const std::string& who, const char* what);
// in[slot] when present, else undefined.
Tensor optional_input(const std::vector<Tensor>& in, size_t slot);
int64_t norm_axis(int64_t axis, int64_t rank, const std::string& who);
// The most elements an op may create from sizes a file gives (ConstantOfShape, Expand, Pad, Resize,
// ConvTranspose, Tile): more is an error rather than an allocation failure.
inline constexpr int64_t kMaxElements = int64_t{1} << 31;
// `dims` when every dim is >= 0 and the total stays within kMaxElements, else an error.
Shape checked_shape(const std::vector<int64_t>& dims, const std::string& who);

}  // namespace axon::onnx::detail
