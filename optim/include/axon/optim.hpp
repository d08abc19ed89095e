#pragma once
// The optimization API: gradient transformations, combinators, optimizers and schedules.
//
//   auto opt = axon::optim::adamw(1e-3, {.decay = 1e-4});          // or chain({clip_by_global_norm(1), ...})
//   axon::optim::State state = opt.init(params);                   // params: axon::Params
//   auto [loss, grads] = axon::value_and_grad(loss_fn, params);
//   auto [updates, new_state] = opt.update(grads, state, params);
//   params = axon::optim::apply_updates(params, updates);
//   state = new_state;
//
// See transform.hpp for the State layout (a flat, saveable map of named tensors).
#include <axon/optim/optimizers.hpp>
#include <axon/optim/schedules.hpp>
#include <axon/optim/transform.hpp>
#include <axon/optim/updates.hpp>
