#pragma once
// Everything: #include <axon/axon.hpp>

// The tensor core (core/include): tensors, ops, autograd, random numbers, compiled (CUDA graph) functions.
#include <axon/autograd.hpp>
#include <axon/device.hpp>
#include <axon/dtype.hpp>
#include <axon/error.hpp>
#include <axon/graph.hpp>
#include <axon/io.hpp>
#include <axon/ops.hpp>
#include <axon/out.hpp>
#include <axon/random.hpp>
#include <axon/shape.hpp>
#include <axon/storage.hpp>
#include <axon/tensor.hpp>
// Fused neural-network core ops: activations and cross-entropy, convolution, normalization,
// pooling, multi-tensor optimizer updates.
#include <axon/conv.hpp>
#include <axon/fused_optim.hpp>
#include <axon/nn_ops.hpp>
#include <axon/norm_ops.hpp>
#include <axon/pool_ops.hpp>

// The functional API (layers/include): axon::activations, initializers, losses, metrics, and the
// functional layers in axon::layers.
#include <axon/activations.hpp>
#include <axon/initializers.hpp>
#include <axon/layers/attention.hpp>
#include <axon/layers/conv.hpp>
#include <axon/layers/dropout.hpp>
#include <axon/layers/linear.hpp>
#include <axon/layers/normalization.hpp>
#include <axon/layers/pooling.hpp>
#include <axon/layers/recurrent.hpp>
#include <axon/layers/shape.hpp>
#include <axon/losses.hpp>
#include <axon/metrics.hpp>

// The model-creation API (layers/include): Model graphs, builders, init / apply / predict, summary.
#include <axon/mixed_precision.hpp>
#include <axon/model.hpp>

// The optimization API (optim/include): gradient transformations, optimizers, schedules.
#include <axon/optim.hpp>

// The training API (train/include): loops, handlers, checkpoints, train_step / trainer / train.
#include <axon/train.hpp>
