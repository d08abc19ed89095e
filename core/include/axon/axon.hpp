#pragma once
// Everything: #include <axon/axon.hpp>
#include <axon/autograd.hpp>
#include <axon/device.hpp>
#include <axon/dtype.hpp>
#include <axon/error.hpp>
#include <axon/nn_ops.hpp>
#include <axon/ops.hpp>
#include <axon/random.hpp>
#include <axon/shape.hpp>
#include <axon/storage.hpp>
#include <axon/tensor.hpp>
// The functional API (layers/include): axon::activations, initializers, losses, metrics.
#include <axon/activations.hpp>
#include <axon/initializers.hpp>
#include <axon/losses.hpp>
#include <axon/metrics.hpp>
