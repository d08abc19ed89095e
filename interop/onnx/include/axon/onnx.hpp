#pragma once
// ONNX interchange for model-API Models (library axon::onnx, built when the ONNX C++ library is
// found: -DAXON_ONNX=AUTO|ON|OFF).
//
// export_model writes an ONNX model (IR version 8, the default domain at `opset`, which must be 17)
// and runs onnx::checker on it. Every builder with an ONNX equivalent maps to it: dense (MatMul +
// Add), bilinear (Einsum), the conv family (Conv / ConvTranspose; depthwise and separable as grouped
// Conv; no input_dilation), window / adaptive / global pools and blur_pool, batch / instance norm
// (BatchNormalization on the running statistics), layer norm, group and rms norm (exact
// decompositions), every activation (native op or an exact decomposition: gelu by Erf, mish, silu,
// log_sigmoid), the dropouts (identity: the export is the inference graph), flatten / reshape /
// transpose / pad / resize (nearest, bilinear and bicubic; not antialiased downscaling) / split,
// concatenate / add / subtract / multiply, embedding (Gather), mask (Equal), lstm / gru (ONNX LSTM /
// GRU, gates reordered; not with a mask or hidden_state input), multi-head attention (MatMul /
// Softmax subgraph, causal and key-padding masks included). axon is channels last (NHWC); ONNX's
// conv, pool and norm ops are channels first, so the graph keeps channels-first tensors inside and
// Transposes only where a tensor enters or leaves that region (the graph's inputs and output, or a
// layer that needs axon's layout). The batch dim (-1 in the model) is the symbolic dim "batch"; graph
// inputs are named as the model's input layers and typed f32 (int64 when they feed an embedding),
// the output as the output layer. Parameters are written in f32 under "<layer>.<param>". A layer with
// no mapping (a custom layer, nx, an activation given as a function, a block, conv_lstm) is an
// axon::Error naming every such layer; so are params that do not fit the model.
//
// import_model reads such a file (or one written by torch.onnx.export) back into a Model and its
// Params; see its comment.
#include <string>

#include <axon/model.hpp>

namespace axon::onnx {

struct ExportOptions {
  int opset = 17;  // default-domain opset the graph is written for (13..17)
  std::string graph_name = "axon";
};
void export_model(const Model& model, const Params& params, const std::string& path, ExportOptions options = {});

struct Imported {
  Model model;
  Params params;
};
// Reads an ONNX model (default-domain opset >= 13; one graph output) into a Model of custom layers,
// one per node that depends on the graph's inputs, each running the ONNX op with axon's
// differentiable ops in the file's own layout (NCHW stays NCHW), and Params holding the float
// initializers under "<layer>" / "<initializer name>" (layer names are the node names without the
// leading '/', '/' -> '.'). An initializer several nodes read is owned by the first and tied in the
// others; BatchNormalization's mean and var are state entries, updated in train mode. Nodes that only
// compute constants (Constant, shape arithmetic on known dims) are folded at import, and a symbolic
// dim is -1 in the Model. Every operator the import does not map is named in one axon::Error; any
// malformed or hostile file is an axon::Error as well. Operators: the arithmetic, comparison and
// activation ops, MatMul, Gemm, Einsum, Conv, ConvTranspose, MaxPool, AveragePool, LpPool, the Global
// pools, BatchNormalization, LayerNormalization, InstanceNormalization, Softmax, LogSoftmax, the
// Reduce ops, LSTM, GRU (linear_before_reset = 1, as PyTorch's), Resize, Pad, Flatten, Reshape,
// Transpose, Concat, Split, Squeeze, Unsqueeze, Slice, Gather, Shape, Size, Constant,
// ConstantOfShape, Expand, Range, Tile, Trilu, Where, Cast, Identity, Dropout (identity).
Imported import_model(const std::string& path);

}  // namespace axon::onnx
