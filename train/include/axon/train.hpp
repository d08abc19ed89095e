#pragma once
// The training API (Axon.Loop's design): #include <axon/train.hpp>, namespace axon::training, and the
// data readers, namespace axon::data. Both only group: everything in them is also reachable as
// axon::name (the using-directives at the end), so axon::tensor_dataset and
// axon::training::tensor_dataset are the same function (the README's namespace rule).
//   step_state.hpp  StepState: the flat, saveable map of tensors a step carries
//   data.hpp        Batch, Dataset, tensor_dataset (in-memory, shuffled, batched on the device)
//   loop.hpp        Loop, LoopState, events, filters, metrics
//   handlers.hpp    log, validate, monitor, early_stop, reduce_lr_on_plateau, stop_on_nan
//   progress.hpp    the progress report trainer prints (epoch k/N, batch i/total, ETA, samples/s)
//   loggers.hpp     csv_logger, tensorboard (event files), EventWriter
//   checkpoint.hpp  checkpoint handler, save_state / load_state (safetensors), resume
//   trainer.hpp     train_step, eval_step, trainer, evaluator, train() for models
//   loss_scale.hpp  loss scaling for mixed precision (identity / static / dynamic)
// Tensor files themselves (safetensors, Params) are <axon/io.hpp>; datasets in IDX files
// <axon/data/idx.hpp>, and Fashion-MNIST ready to train on <axon/data/fashion_mnist.hpp>.
#include <axon/data/fashion_mnist.hpp>
#include <axon/data/idx.hpp>
#include <axon/io.hpp>
#include <axon/train/checkpoint.hpp>
#include <axon/train/data.hpp>
#include <axon/train/handlers.hpp>
#include <axon/train/loggers.hpp>
#include <axon/train/loop.hpp>
#include <axon/train/loss_scale.hpp>
#include <axon/train/progress.hpp>
#include <axon/train/step_state.hpp>
#include <axon/train/trainer.hpp>

namespace axon {
using namespace training;
using namespace data;
}  // namespace axon
