#pragma once
// PyTorch weights for model-API Models: a state_dict (saved with safetensors.torch.save_file and read
// with load_safetensors, <axon/io.hpp>) mapped onto the Params of an equivalent axon model.
//
//   Params p = from_torch_state_dict(model, load_safetensors("resnet18.safetensors"),
//                                    {{"conv_0", "conv1"}, {"batch_norm_0", "bn1"}, ..., {"dense_0", "fc"}});
//
// name_map: axon layer name -> PyTorch module name (the state_dict key without ".weight"). Every layer
// of the model with parameters must be in it, and every tensor under a mapped module must be used
// (num_batches_tracked aside): anything else is an axon::Error naming the layer or key. Shapes are
// checked against the model's; tensors are converted to f32 on the CPU.
//
// The mapping, per axon op (PyTorch module):
//   dense (Linear)                 kernel = weight^T ([out, in] -> [in, out]), bias = bias
//   conv, depthwise_conv (ConvNd,  kernel = weight OIHW [out, in/groups, k...] -> HWIO [k..., in/groups,
//     groups = in for depthwise)     out] (channels-last layers; channels-first ones keep OIHW), bias
//   conv_transpose                 kernel[k..., i, o] = weight[i, o, reversed k...] (axon convolves the
//     (ConvTransposeNd)            dilated input without reversing the window), bias
//   batch_norm, instance_norm      gamma = weight, beta = bias, mean = running_mean, var = running_var
//     (BatchNormNd, InstanceNormNd with track_running_stats)
//   layer_norm, group_norm         gamma = weight, beta = bias;  rms_norm (RMSNorm): gamma = weight
//   embedding (Embedding)          kernel = weight
//   lstm (LSTM, one layer)         PyTorch stacks gates i, f, g, o in weight_ih_l0 [4h, in], weight_hh_l0
//                                  [4h, h]: wii.. = rows^T, bi = bias_ih + bias_hh per gate; the
//                                  reverse direction (*_reverse) gives "backward.*"
//   gru (GRU, one layer)           gates r, z, n: wir.. = rows^T, br = bias_ih_r + bias_hh_r, bz
//                                  likewise, bin = bias_ih_n, bhn = bias_hh_n
//   multi_head_attention           wq, wk, wv = in_proj_weight's thirds^T, bq, bk, bv = in_proj_bias's,
//     (MultiheadAttention)         wo = out_proj.weight^T, bo = out_proj.bias
//   bias                           bias = bias
#include <map>
#include <string>

#include <axon/io.hpp>
#include <axon/model.hpp>

namespace axon {

Params from_torch_state_dict(const Model& model, const TensorMap& tensors,
                             const std::map<std::string, std::string>& name_map);

}  // namespace axon
