#pragma once
// Internal to axon::onnx export: the graph being written and the layer -> ONNX value bookkeeping the
// per-layer mappings (map_*.cpp) share.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <axon/model.hpp>
#include <axon/onnx.hpp>

namespace axon::onnx::detail {

// How the ONNX value of a layer's output relates to axon's tensor. axon is channels last; ONNX's conv,
// pool and norm ops are channels first, so a run of such layers keeps `channels_first` values
// (axon's last axis moved to axis 1) and converts only where a layer needs axon's own layout.
enum class Layout { same, channels_first };

struct Value {
  std::string name;  // ONNX value name
  Layout layout = Layout::same;
  Shape shape;       // axon's shape of the layer's output (-1 unknown)
};

class Exporter {
 public:
  Exporter(::onnx::GraphProto& graph, const Params& params, int opset)
      : graph_(graph), params_(params), opset_(opset) {}

  int opset() const { return opset_; }

  // ---- writing the graph
  std::string fresh(const std::string& hint);  // an unused value name
  ::onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs);
  // One-output node; returns its output's name (fresh from `hint`).
  std::string op(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                 const std::function<void(::onnx::NodeProto&)>& attrs = {});
  std::string initializer(const std::string& hint, const Tensor& t);  // f32 (floats) or i64 (integers)
  std::string const_i64(const std::vector<int64_t>& v, const std::string& hint);
  std::string const_f32(float v, const std::string& hint);  // scalar
  std::string transpose(const std::string& x, const std::vector<int64_t>& perm, const std::string& hint);

  // ---- layers' values
  // The ONNX value of input i of `layer`, in the layout asked for (a Transpose is added, once).
  std::string input(const LayerInfo& layer, size_t i, Layout want);
  const Value& value(const std::string& layer) const;
  void set_output(const LayerInfo& layer, const std::string& name, Layout layout);

  // ---- the layer's parameters and options
  Tensor param(const LayerInfo& layer, const std::string& name) const;  // host, contiguous f32
  bool has_param(const LayerInfo& layer, const std::string& name) const;
  std::string option(const LayerInfo& layer, const std::string& key) const;  // "" when absent
  // An enum-like option as a bare word: ":same", "same" and "PaddingMode::same" all give "same" (the
  // options are the summary's strings, whose spelling is not fixed).
  std::string word(const LayerInfo& layer, const std::string& key) const;
  std::vector<int64_t> option_list(const LayerInfo& layer, const std::string& key) const;  // "[1, 2]"
  double option_number(const LayerInfo& layer, const std::string& key, double fallback) const;

 private:
  ::onnx::GraphProto& graph_;
  const Params& params_;
  int opset_;
  std::set<std::string> used_;
  std::map<std::string, Value> values_;
  std::map<std::pair<std::string, Layout>, std::string> converted_;
};

// "name (op)" as errors name a layer.
std::string who(const LayerInfo& layer);

// Attribute setters.
void attr(::onnx::NodeProto& n, const std::string& name, int64_t v);
void attr(::onnx::NodeProto& n, const std::string& name, float v);
void attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
void attr(::onnx::NodeProto& n, const std::string& name, const std::string& v);
void attr(::onnx::NodeProto& n, const std::string& name, const std::vector<std::string>& v);

// Permutations between axon's layout and channels first for a rank-r tensor.
std::vector<int64_t> to_channels_first(size_t rank);
std::vector<int64_t> to_channels_last(size_t rank);

// One mapping per axon op: writes the layer's nodes and calls set_output.
using Mapping = std::function<void(Exporter&, const LayerInfo&)>;
using Mappings = std::map<std::string, Mapping>;
void add_linear_mappings(Mappings& m);     // dense, bias, embedding, activations, dropout
void add_conv_mappings(Mappings& m);       // conv family, pools
void add_norm_mappings(Mappings& m);       // batch / instance / layer / group / rms norm
void add_shape_mappings(Mappings& m);      // flatten, reshape, transpose, pad, resize, combinators
void add_recurrent_mappings(Mappings& m);  // lstm, gru
void add_attention_mappings(Mappings& m);  // multi_head_attention

}  // namespace axon::onnx::detail
