// The export bookkeeping: fresh names, nodes, initializers, layout conversions, options.
#include "exporter.hpp"

#include <cctype>
#include <cstdlib>
#include <numeric>

#include <axon/error.hpp>

namespace axon::onnx::detail {

std::string who(const LayerInfo& layer) { return "onnx::export_model: " + layer.name + " (" + layer.op + ")"; }

std::string Exporter::fresh(const std::string& hint) {
  std::string name = hint;
  for (int k = 1; used_.count(name); ++k) name = hint + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

::onnx::NodeProto& Exporter::node(const std::string& op, const std::vector<std::string>& inputs,
                                  const std::vector<std::string>& outputs) {
  ::onnx::NodeProto& n = *graph_.add_node();
  n.set_op_type(op);
  n.set_name(fresh("node/" + (outputs.empty() ? op : outputs[0])));
  for (const auto& i : inputs) n.add_input(i);
  for (const auto& o : outputs) n.add_output(o);
  return n;
}

std::string Exporter::op(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                         const std::function<void(::onnx::NodeProto&)>& attrs) {
  const std::string out = fresh(hint);
  ::onnx::NodeProto& n = node(op, inputs, {out});
  if (attrs) attrs(n);
  return out;
}

std::string Exporter::initializer(const std::string& hint, const Tensor& t) {
  const std::string name = fresh(hint);
  ::onnx::TensorProto& p = *graph_.add_initializer();
  p.set_name(name);
  for (int64_t d : t.shape()) p.add_dims(d);
  Tensor host = t.to(Device::cpu());
  if (host.is_floating_point()) {
    p.set_data_type(::onnx::TensorProto::FLOAT);
    auto v = host.to(DType::f32).contiguous().to_vector<float>();
    p.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  } else {
    p.set_data_type(::onnx::TensorProto::INT64);
    auto v = host.to(DType::i64).contiguous().to_vector<int64_t>();
    p.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int64_t)));
  }
  return name;
}

std::string Exporter::const_i64(const std::vector<int64_t>& v, const std::string& hint) {
  const std::string name = fresh(hint);
  ::onnx::TensorProto& p = *graph_.add_initializer();
  p.set_name(name);
  p.add_dims(static_cast<int64_t>(v.size()));
  p.set_data_type(::onnx::TensorProto::INT64);
  for (int64_t x : v) p.add_int64_data(x);
  return name;
}

std::string Exporter::const_f32(float v, const std::string& hint) {
  const std::string name = fresh(hint);
  ::onnx::TensorProto& p = *graph_.add_initializer();
  p.set_name(name);
  p.set_data_type(::onnx::TensorProto::FLOAT);
  p.add_float_data(v);
  return name;
}

std::string Exporter::transpose(const std::string& x, const std::vector<int64_t>& perm, const std::string& hint) {
  return op("Transpose", {x}, hint, [&](::onnx::NodeProto& n) { attr(n, "perm", perm); });
}

std::vector<int64_t> to_channels_first(size_t rank) {
  std::vector<int64_t> p{0, static_cast<int64_t>(rank) - 1};
  for (int64_t i = 1; i + 1 < static_cast<int64_t>(rank); ++i) p.push_back(i);
  return p;
}
std::vector<int64_t> to_channels_last(size_t rank) {
  std::vector<int64_t> p{0};
  for (int64_t i = 2; i < static_cast<int64_t>(rank); ++i) p.push_back(i);
  p.push_back(1);
  return p;
}

std::string Exporter::input(const LayerInfo& layer, size_t i, Layout want) {
  AXON_CHECK(i < layer.inputs.size(), who(layer), "has {} inputs, input {} was asked for", layer.inputs.size(), i);
  const Value& v = value(layer.inputs[i]);
  if (v.layout == want || v.shape.size() < 3) return v.name;
  auto key = std::make_pair(layer.inputs[i], want);
  auto it = converted_.find(key);
  if (it != converted_.end()) return it->second;
  const bool first = want == Layout::channels_first;
  const std::string name = transpose(v.name, first ? to_channels_first(v.shape.size()) : to_channels_last(v.shape.size()),
                                     layer.inputs[i] + (first ? "_nchw" : "_nhwc"));
  converted_[key] = name;
  return name;
}

const Value& Exporter::value(const std::string& layer) const {
  auto it = values_.find(layer);
  AXON_CHECK(it != values_.end(), "onnx::export_model", "layer {} has no value yet (graph order)", layer);
  return it->second;
}

void Exporter::set_output(const LayerInfo& layer, const std::string& name, Layout layout) {
  values_[layer.name] = Value{name, layer.output_shape.size() < 3 ? Layout::same : layout, layer.output_shape};
}

Tensor Exporter::param(const LayerInfo& layer, const std::string& name) const {
  auto l = params_.find(layer.name);
  AXON_CHECK(l != params_.end(), who(layer), "params has no entry for layer {}", layer.name);
  auto p = l->second.find(name);
  AXON_CHECK(p != l->second.end(), who(layer), "params[\"{}\"] has no \"{}\"", layer.name, name);
  AXON_CHECK(p->second.defined(), who(layer), "params[\"{}\"][\"{}\"] is undefined", layer.name, name);
  // The model's shape, so that params made for another model fail here and not in a runtime.
  for (const auto& spec : layer.params)
    AXON_CHECK(spec.name != name || spec.shape == p->second.shape(), who(layer),
               "params[\"{}\"][\"{}\"] is {} but the model's {} is {}", layer.name, name, describe(p->second), name,
               to_string(spec.shape));
  return p->second.to(Device::cpu()).to(DType::f32).contiguous();
}

bool Exporter::has_param(const LayerInfo& layer, const std::string& name) const {
  for (const auto& p : layer.params)
    if (p.name == name) return true;
  return false;
}

std::string Exporter::option(const LayerInfo& layer, const std::string& key) const {
  for (const auto& [k, v] : layer.options)
    if (k == key) return v;
  return {};
}

std::string Exporter::word(const LayerInfo& layer, const std::string& key) const {
  std::string v = option(layer, key);
  const auto colon = v.rfind(':');
  if (colon != std::string::npos) v = v.substr(colon + 1);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

std::vector<int64_t> Exporter::option_list(const LayerInfo& layer, const std::string& key) const {
  const std::string s = option(layer, key);
  std::vector<int64_t> out;
  const char* p = s.c_str();
  while (*p) {
    if ((*p >= '0' && *p <= '9') || *p == '-') {
      char* end = nullptr;
      out.push_back(std::strtoll(p, &end, 10));
      p = end;
    } else {
      ++p;
    }
  }
  return out;
}

double Exporter::option_number(const LayerInfo& layer, const std::string& key, double fallback) const {
  const std::string s = option(layer, key);
  return s.empty() ? fallback : std::strtod(s.c_str(), nullptr);
}

void attr(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INT);
  a.set_i(v);
}
void attr(::onnx::NodeProto& n, const std::string& name, float v) {
  auto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::FLOAT);
  a.set_f(v);
}
void attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
}
void attr(::onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::STRING);
  a.set_s(v);
}
void attr(::onnx::NodeProto& n, const std::string& name, const std::vector<std::string>& v) {
  auto& a = *n.add_attribute();
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::STRINGS);
  for (const auto& x : v) a.add_strings(x);
}

}  // namespace axon::onnx::detail
