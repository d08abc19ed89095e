/* axon's C ABI: C99, no C++ type or exception crosses it. For C, Fortran (module axon,
 * fortran/axon.f90) and any language with a C FFI.
 *
 * Conventions
 * - Every function returns an axon_status: AXON_OK (0) or an error code; then axon_last_error()
 *   holds the message ("op: what went wrong", as the C++ API's axon::Error says it). Outputs are
 *   written only on success.
 * - Objects are opaque handles created by axon_*_create / _load / ... and released by the matching
 *   axon_*_destroy (which accepts NULL). A tensor handle keeps its memory alive: destroying a model
 *   or another tensor never invalidates it.
 * - Shapes are row-major (C order) and strides count elements, as in DLPack and NumPy/PyTorch
 *   (divided by the item size). A Fortran array x(n, m) is the C-order tensor of shape {m, n}.
 * - Devices: device_type AXON_CPU or AXON_CUDA with a device_index (0 for the CPU).
 *
 * Thread safety
 * - Every function may be called from any thread. Calls on different objects run concurrently
 *   (different models from different threads: tests/test_c_api.cpp checks it). One object must not
 *   be used by two threads at once when either call modifies it (axon_train_step, axon_*_copy into
 *   it, axon_*_destroy); concurrent reads of one model (predict, gradients) are allowed.
 * - axon_last_error() and the stream set by axon_set_stream() are per thread.
 * - Tested on the CPU. On a GPU, threads working on one device share its cuBLAS/cuDNN handles,
 *   whose stream binding is not yet guarded against concurrent use: until a GPU run has checked it,
 *   give each thread its own device or serialise CUDA calls on one device.
 */
#ifndef AXON_C_H
#define AXON_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version of this header: raised when a function's signature or meaning changes. A program
 * checks at run time that the library it loaded speaks it: axon_abi_version() == AXON_C_ABI_VERSION. */
#define AXON_C_ABI_VERSION 1

typedef int axon_status;
enum {
  AXON_OK = 0,
  AXON_ERROR_INVALID_ARGUMENT = 1, /* a NULL handle or pointer, a bad dtype/device/rank/size */
  AXON_ERROR = 2,                  /* anything axon::Error reports: shapes, files, devices, ... */
  AXON_ERROR_OUT_OF_MEMORY = 3,
  AXON_ERROR_UNKNOWN = 4           /* an unexpected C++ exception (a bug: please report it) */
};

/* Element types (the values of the C++ axon::DType). */
enum { AXON_F32 = 0, AXON_F64 = 1, AXON_BF16 = 2, AXON_F16 = 3, AXON_I32 = 4, AXON_I64 = 5, AXON_U8 = 6, AXON_BOOL = 7 };
/* Device types. */
enum { AXON_CPU = 0, AXON_CUDA = 1 };
/* Flags of axon_optimizer_create's loss. */
enum { AXON_LOSS_FROM_LOGITS = 1, AXON_LOSS_SPARSE = 2 };

typedef struct axon_tensor_t* axon_tensor;
typedef struct axon_model_t* axon_model;         /* a model graph with its parameters */
typedef struct axon_optimizer_t* axon_optimizer; /* a named optimizer, its loss and its state */

/* ---- library */
const char* axon_version(void);  /* "0.1.0": the library's version */
int axon_abi_version(void);      /* the library's AXON_C_ABI_VERSION */
/* The message of this thread's last failed call ("" if none). Valid until this thread's next failing call. */
const char* axon_last_error(void);
axon_status axon_cuda_device_count(int* count); /* 0 in a CPU-only build or without a GPU */

/* ---- streams
 * Work that this thread asks of CUDA device `device_index` runs on `stream` (a cudaStream_t the
 * caller owns, as void*) until this thread sets another one or NULL (axon's own stream again). Each
 * call orders itself after work already queued on axon's stream and leaves axon's stream ordered
 * after its own work, so tensors may pass between streams; results are ready when the caller's
 * stream reaches them (cudaStreamSynchronize(stream) before reading them on the host yourself).
 * A non-NULL stream in a build without CUDA is an error. */
axon_status axon_set_stream(int device_index, void* stream);

/* ---- tensors */
typedef void (*axon_deleter)(void* data, void* context);

/* A tensor over the caller's memory, without a copy: `data` (CPU or CUDA pointer) holds the element
 * at index 0; `strides` may be NULL (contiguous). `deleter(data, deleter_context)` runs when the last
 * tensor using the memory goes (NULL: the caller frees it after destroying every tensor over it).
 * Results written "into" such a tensor land in the caller's memory. */
axon_status axon_tensor_from_data(void* data, int ndim, const int64_t* shape, const int64_t* strides, int dtype,
                                  int device_type, int device_index, axon_deleter deleter, void* deleter_context,
                                  axon_tensor* out);
/* A new zero-filled tensor owned by axon. */
axon_status axon_tensor_zeros(int ndim, const int64_t* shape, int dtype, int device_type, int device_index,
                              axon_tensor* out);
axon_status axon_tensor_destroy(axon_tensor t);

axon_status axon_tensor_ndim(axon_tensor t, int* ndim);
axon_status axon_tensor_shape(axon_tensor t, int64_t* shape);     /* ndim entries */
axon_status axon_tensor_strides(axon_tensor t, int64_t* strides); /* ndim entries, in elements */
axon_status axon_tensor_numel(axon_tensor t, int64_t* numel);
axon_status axon_tensor_dtype(axon_tensor t, int* dtype);
axon_status axon_tensor_device(axon_tensor t, int* device_type, int* device_index);
axon_status axon_tensor_data(axon_tensor t, void** data); /* address of the element at index 0 */

/* Copies src into dst (same shape; any devices, layouts and dtypes: values are converted). */
axon_status axon_tensor_copy(axon_tensor src, axon_tensor dst);
/* Copies src into a contiguous host buffer of src's dtype, `nbytes` long (checked). Waits for the device. */
axon_status axon_tensor_copy_to_buffer(axon_tensor src, void* buffer, size_t nbytes);

/* DLPack (dlpack.h's DLManagedTensor, passed as void* so that this header needs no dlpack.h).
 * from: takes ownership of `managed` (zero copy; its deleter runs when the last tensor over it goes,
 * and also when the call fails). to: a new DLManagedTensor over t's memory (zero copy) that keeps it
 * alive until the consumer calls its deleter. Both fail with a message in a build without dlpack.h
 * (the caller then keeps ownership of `managed`). */
axon_status axon_tensor_from_dlpack(void* managed, axon_tensor* out);
axon_status axon_tensor_to_dlpack(axon_tensor t, void** managed);

/* ---- models */
/* Loads a model file (save_model's format) with its parameters, moved to the device. */
axon_status axon_model_load(const char* path, int device_type, int device_index, axon_model* out);
/* Writes the model and its current parameters (trained ones too) to a model file. */
axon_status axon_model_save(axon_model model, const char* path);
axon_status axon_model_destroy(axon_model model);
axon_status axon_model_num_inputs(axon_model model, int* n);
/* A tensor over the parameter params[layer][name] (shares its memory until a train step replaces it). */
axon_status axon_model_parameter(axon_model model, const char* layer, const char* name, axon_tensor* out);

/* Inference (no dropout, batch statistics from the state). `inputs` holds one tensor per model
 * input, in the model's input order. predict: a new tensor; predict_into: written into `output`
 * (same shape as the prediction; e.g. a tensor over the caller's array). */
axon_status axon_model_predict(axon_model model, int n_inputs, const axon_tensor* inputs, axon_tensor* output);
axon_status axon_model_predict_into(axon_model model, int n_inputs, const axon_tensor* inputs, axon_tensor output);

/* Gradients of a scalar function of the outputs with respect to the inputs (a vector-Jacobian
 * product): of sum(output * cotangent), or of sum(output) when `cotangent` is NULL. input_grads
 * holds n_inputs tensors that receive the gradients (each shaped as its input); `output`, if not
 * NULL, receives the prediction. */
axon_status axon_model_input_gradients(axon_model model, int n_inputs, const axon_tensor* inputs,
                                       axon_tensor cotangent, axon_tensor output, const axon_tensor* input_grads);

/* ---- training
 * An optimizer by name (adabelief, adagrad, adam, adamw, lamb, noisy_sgd, radam, rmsprop, sgd, yogi)
 * with `learning_rate` (<= 0: the optimizer's default) and a loss by name (mean_squared_error,
 * categorical_cross_entropy, ...; loss_flags: AXON_LOSS_FROM_LOGITS | AXON_LOSS_SPARSE), bound to
 * `model`, whose parameters it trains (the model must outlive the optimizer). Its state (moments,
 * step count) lives in the handle. */
axon_status axon_optimizer_create(axon_model model, const char* optimizer, double learning_rate, const char* loss,
                                  int loss_flags, axon_optimizer* out);
axon_status axon_optimizer_destroy(axon_optimizer opt);
/* One training step on the batch (x, y): the model's parameters are updated in place (tensors
 * from axon_model_parameter taken before the step keep the old values). `loss`, if not NULL,
 * receives the batch loss (waits for the device); NULL keeps the step asynchronous. */
axon_status axon_train_step(axon_optimizer opt, axon_tensor x, axon_tensor y, double* loss);

#ifdef __cplusplus
}
#endif
#endif /* AXON_C_H */
