// axon::onnx::export_model: the written file's structure (the numerics are checked against onnxruntime by
// .ci/onnx). Reads the file back with the ONNX library's protobuf classes.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <axon/onnx.hpp>

#include "catch.hpp"
#include "harness.hpp"
#include "reference_models.hpp"

using namespace axon;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("axon_test_onnx_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

::onnx::ModelProto exported(const Model& m, const std::string& name) {
  const std::string path = temp_path(name + ".onnx");
  axon::onnx::export_model(m, init(m, {.seed = 3}), path);
  ::onnx::ModelProto proto;
  std::ifstream f(path, std::ios::binary);
  REQUIRE(proto.ParseFromIstream(&f));
  std::filesystem::remove(path);
  return proto;
}

int count(const ::onnx::GraphProto& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.node()) n += node.op_type() == op;
  return n;
}

const ::onnx::TensorProto& initializer(const ::onnx::GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer())
    if (t.name() == name) return t;
  FAIL("no initializer " << name);
  throw;
}

std::vector<int64_t> dims(const ::onnx::TensorProto& t) { return {t.dims().begin(), t.dims().end()}; }

}  // namespace

TEST_CASE("onnx export: IR 8, opset 17, the model's input / output names, symbolic batch", "[onnx]") {
  const Model m = axon::onnx::reference::mlp();
  const auto p = exported(m, "mlp");
  CHECK(p.ir_version() == 8);
  REQUIRE(p.opset_import_size() == 1);
  CHECK(p.opset_import(0).version() == 17);
  CHECK(p.graph().name() == "axon");
  REQUIRE(p.graph().input_size() == 1);
  const auto& in = p.graph().input(0);
  CHECK(in.name() == "features");
  const auto& shape = in.type().tensor_type().shape();
  REQUIRE(shape.dim_size() == 2);
  CHECK(shape.dim(0).dim_param() == "batch");
  CHECK(shape.dim(1).dim_value() == 64);
  REQUIRE(p.graph().output_size() == 1);
  CHECK(p.graph().output(0).name() == m.name());
  CHECK(p.graph().output(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
  // dense -> MatMul + Add with the kernel as stored ([in, units]); dropout is the identity.
  CHECK(count(p.graph(), "MatMul") == 4);
  CHECK(count(p.graph(), "Identity") == 1);
  CHECK(dims(initializer(p.graph(), "dense_0.kernel")) == std::vector<int64_t>{64, 128});
  CHECK(count(p.graph(), "Erf") == 1);  // exact gelu
}

TEST_CASE("onnx export: a channels-last CNN is channels first inside, Transposes only at its edges", "[onnx]") {
  const auto resnet = exported(axon::onnx::reference::ResNet18().model, "resnet18");
  CHECK(count(resnet.graph(), "Conv") == 20);
  CHECK(count(resnet.graph(), "BatchNormalization") == 20);
  CHECK(count(resnet.graph(), "Transpose") == 1);  // the images, NHWC -> NCHW; pooled [N, C] needs none
  // HWIO [7, 7, 3, 64] -> OIHW.
  CHECK(dims(initializer(resnet.graph(), "conv1.kernel")) == std::vector<int64_t>{64, 3, 7, 7});

  const auto w2 = exported(axon::onnx::reference::w2_cnn(), "w2");
  CHECK(count(w2.graph(), "Transpose") == 2);  // in, and back to NHWC before flatten (axon's order)
  bool padded = false;
  for (const auto& n : w2.graph().node())
    if (n.op_type() == "Conv")
      for (const auto& a : n.attribute())
        if (a.name() == "pads") padded = std::vector<int64_t>(a.ints().begin(), a.ints().end()) == std::vector<int64_t>{1, 1, 1, 1};
  CHECK(padded);  // same padding of a 3x3 kernel
}

TEST_CASE("onnx export: lstm / gru as ONNX LSTM / GRU with gates reordered", "[onnx]") {
  const Model m = axon::onnx::reference::recurrent();
  const Params params = init(m, {.seed = 5});
  const std::string path = temp_path("rnn.onnx");
  axon::onnx::export_model(m, params, path);
  ::onnx::ModelProto p;
  std::ifstream f(path, std::ios::binary);
  REQUIRE(p.ParseFromIstream(&f));
  CHECK(count(p.graph(), "LSTM") == 1);
  CHECK(count(p.graph(), "GRU") == 1);
  const auto& w = initializer(p.graph(), "lstm_0.W");
  CHECK(dims(w) == std::vector<int64_t>{2, 4 * 32, 16});  // bidirectional
  // ONNX's gate order i, o, f, c: rows 32..63 of the forward direction are axon's wio^T.
  const Tensor wio = params.at("lstm_0").at("input_kernel.wio");
  std::vector<float> raw(w.raw_data().size() / sizeof(float));
  std::memcpy(raw.data(), w.raw_data().data(), w.raw_data().size());
  const auto expect = wio.to_vector<float>();  // [16, 32]
  for (int64_t unit : {0, 17, 31})
    for (int64_t in : {0, 9, 15})
      CHECK(raw[static_cast<size_t>((32 + unit) * 16 + in)] == expect[static_cast<size_t>(in * 32 + unit)]);
  std::filesystem::remove(path);
}

TEST_CASE("onnx export: a layer with no mapping is one error naming every such layer", "[onnx]") {
  Model x = input("x", {-1, 8});
  Model a = activation(x, [](const Tensor& t) { return mul(t, 2.0); });
  Model m = dense(nx(a, [](const Tensor& t) { return t; }), 3);
  const std::string path = temp_path("custom.onnx");
  AXON_REQUIRE_THROWS_WITH(axon::onnx::export_model(m, init(m), path), "activation_0 (activation), nx_0 (nx)");
  CHECK_FALSE(std::filesystem::exists(path));
  AXON_REQUIRE_THROWS_WITH(axon::onnx::export_model(x | dense(2), {}, path), "params has no entry for layer dense_0");
  AXON_REQUIRE_THROWS_WITH(axon::onnx::export_model(x | relu(), {}, path, {.opset = 13}), "opset 13 is not supported");
  Params other = init(x | dense(5));
  AXON_REQUIRE_THROWS_WITH(axon::onnx::export_model(x | dense(2), other, path),
                           "params[\"dense_0\"][\"kernel\"] is f32[8, 5] on cpu but the model's kernel is [8, 2]");
  Model dilated = input("img", {-1, 8, 8, 2}) | conv(4, {.kernel_size = {3}, .input_dilation = {2}});
  AXON_REQUIRE_THROWS_WITH(axon::onnx::export_model(dilated, init(dilated), path), "conv_0 (conv)");
}

TEST_CASE("onnx export: integer inputs of an embedding are int64", "[onnx]") {
  const auto p = exported(axon::onnx::reference::other_sequence_layers(), "seq");
  CHECK(p.graph().input(0).type().tensor_type().elem_type() == ::onnx::TensorProto::INT64);
  CHECK(count(p.graph(), "Gather") == 1);
  CHECK(count(p.graph(), "Trilu") == 1);  // the causal mask
  CHECK(count(p.graph(), "And") == 1);    // and the key padding mask from mask(ids, 0)
  CHECK(count(p.graph(), "Einsum") == 1);  // bilinear
}
