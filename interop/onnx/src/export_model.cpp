// onnx::export_model: walks the model's layers in topological order, writes each through its mapping
// (map_*.cpp), names the graph's inputs and output as the model's layers, checks and writes the file.
#include <onnx/checker.h>

#include <axon/error.hpp>
#include <fstream>
#include <set>

#include "exporter.hpp"

namespace axon::onnx {

using detail::Exporter;
using detail::Layout;

namespace {

constexpr int kIrVersion = 8;
constexpr const char* kOp = "onnx::export_model";

const detail::Mappings& mappings() {
  static const detail::Mappings m = [] {
    detail::Mappings m;
    detail::add_linear_mappings(m);
    detail::add_conv_mappings(m);
    detail::add_norm_mappings(m);
    detail::add_shape_mappings(m);
    detail::add_recurrent_mappings(m);
    detail::add_attention_mappings(m);
    return m;
  }();
  return m;
}

// A graph input or output: element type and axon's shape, -1 dims symbolic ("batch" for axis 0).
void set_type(::onnx::ValueInfoProto& v, const std::string& name, const Shape& shape, int elem_type) {
  v.set_name(name);
  auto& t = *v.mutable_type()->mutable_tensor_type();
  t.set_elem_type(elem_type);
  auto& s = *t.mutable_shape();
  for (size_t i = 0; i < shape.size(); ++i) {
    auto& d = *s.add_dim();
    if (shape[i] >= 0)
      d.set_dim_value(shape[i]);
    else
      d.set_dim_param(i == 0 ? "batch" : name + "_dim" + std::to_string(i));
  }
}

}  // namespace

void export_model(const Model& model, const Params& params, const std::string& path, ExportOptions options) {
  AXON_CHECK(model.defined(), kOp, "the model is empty (a default-constructed Model)");
  AXON_CHECK(options.opset == 17, kOp,
             "opset {} is not supported: the export writes opset 17 (LayerNormalization, HardSwish, "
             "Reshape's allowzero)",
             options.opset);
  const std::vector<LayerInfo> layers = model.layers();

  // Every layer without a mapping, in one error.
  std::vector<std::string> unmapped;
  for (const auto& l : layers)
    if (l.op != "input" && !mappings().count(l.op)) unmapped.push_back(l.name + " (" + l.op + ")");
  AXON_CHECK(unmapped.empty(), kOp, "no ONNX mapping for layer{} {} (writing {})", unmapped.size() > 1 ? "s" : "",
             fmt::join(unmapped, ", "), path);

  ::onnx::ModelProto m;
  m.set_ir_version(kIrVersion);
  m.set_producer_name("axon");
  m.set_producer_version(AXON_ONNX_VERSION);
  auto& opset = *m.add_opset_import();
  opset.set_domain("");
  opset.set_version(options.opset);
  ::onnx::GraphProto& g = *m.mutable_graph();
  g.set_name(options.graph_name);

  // Integer inputs: those that feed an embedding (ids).
  std::set<std::string> ids;
  for (const auto& l : layers)
    if (l.op == "embedding") ids.insert(l.inputs.begin(), l.inputs.end());

  Exporter ex(g, params, options.opset);
  for (const auto& l : layers) {
    if (l.op == "input") {
      const std::string name = ex.fresh(l.name);
      set_type(*g.add_input(), name, l.output_shape,
               ids.count(l.name) ? ::onnx::TensorProto::INT64 : ::onnx::TensorProto::FLOAT);
      ex.set_output(l, name, Layout::same);
      continue;
    }
    mappings().at(l.op)(ex, l);
  }

  // The output in axon's layout, named as the output layer. A channels-first value that took the
  // name is renamed, so that the Transpose back can give it.
  const LayerInfo& last = layers.back();
  const detail::Value& v = ex.value(last.name);
  const std::string out = last.name;
  if (v.layout != Layout::same) {
    std::string nchw = v.name;
    if (v.name == out) {
      nchw = ex.fresh(out + "_nchw");
      for (auto& n : *g.mutable_node())
        for (auto& o : *n.mutable_output())
          if (o == out) o = nchw;
    }
    auto& t = ex.node("Transpose", {nchw}, {out});
    detail::attr(t, "perm", detail::to_channels_last(v.shape.size()));
  } else if (v.name != out) {
    ex.node("Identity", {v.name}, {out});
  }
  set_type(*g.add_output(), out, last.output_shape, ::onnx::TensorProto::FLOAT);

  try {
    ::onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    AXON_FAIL(kOp, "the ONNX checker rejected the exported graph of {}: {}", model.name(), e.what());
  }
  std::ofstream f(path, std::ios::binary);
  AXON_CHECK(f.good(), kOp, "cannot open {} for writing", path);
  AXON_CHECK(m.SerializeToOstream(&f), kOp, "writing {} failed", path);
  f.close();
  AXON_CHECK(f.good(), kOp, "writing {} failed", path);
}

}  // namespace axon::onnx
