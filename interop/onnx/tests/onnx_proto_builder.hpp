#pragma once
// Hand-built ONNX models for the import tests: a graph written node by node with the ONNX protobuf
// classes, saved to a temporary file.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <axon/axon.hpp>

namespace axon::test {

class OnnxGraph {
 public:
  explicit OnnxGraph(int64_t opset = 17) {
    m_.set_ir_version(8);
    m_.set_producer_name("axon-tests");
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    g_ = m_.mutable_graph();
    g_->set_name("test");
  }
  OnnxGraph(const OnnxGraph& o) : m_(o.m_), g_(m_.mutable_graph()) {}
  OnnxGraph& operator=(const OnnxGraph&) = delete;
  // dims: -1 is the symbolic dim "batch".
  OnnxGraph& input(const std::string& name, const std::vector<int64_t>& dims,
                   int32_t type = ::onnx::TensorProto::FLOAT) {
    value_info(g_->add_input(), name, dims, type);
    return *this;
  }
  OnnxGraph& output(const std::string& name) {
    value_info(g_->add_output(), name, {}, ::onnx::TensorProto::FLOAT);
    return *this;
  }
  OnnxGraph& init(const std::string& name, const std::vector<float>& v, const std::vector<int64_t>& dims) {
    auto* t = g_->add_initializer();
    fill(t, name, dims);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    return *this;
  }
  OnnxGraph& init_i64(const std::string& name, const std::vector<int64_t>& v, const std::vector<int64_t>& dims) {
    auto* t = g_->add_initializer();
    fill(t, name, dims);
    t->set_data_type(::onnx::TensorProto::INT64);
    for (int64_t x : v) t->add_int64_data(x);
    return *this;
  }
  ::onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(g_->node_size()) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  ::onnx::ModelProto& proto() { return m_; }
  // Writes the model to a temporary file named after `tag` and returns its path.
  std::string save(const std::string& tag) const {
    const std::string path = "/tmp/axon_onnx_import_" + tag + "_" + std::to_string(::getpid()) + ".onnx";
    std::ofstream f(path, std::ios::binary);
    m_.SerializeToOstream(&f);
    return path;
  }

 private:
  static void fill(::onnx::TensorProto* t, const std::string& name, const std::vector<int64_t>& dims) {
    t->set_name(name);
    for (int64_t d : dims) t->add_dims(d);
  }
  static void value_info(::onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims,
                         int32_t type) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = shape->add_dim();
      if (d < 0)
        dim->set_dim_param("batch");
      else
        dim->set_dim_value(d);
    }
  }
  ::onnx::ModelProto m_;
  ::onnx::GraphProto* g_;
};

inline void set_attr(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void set_attr(::onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void set_attr(::onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}
inline void set_attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

}  // namespace axon::test
