/* axon from C (axon_c.h): load a model file, evaluate it on the caller's arrays in place, get the
 * gradient of the outputs' sum with respect to the inputs, fine-tune it a few steps. Checks the
 * numbers against what the C++ API computed on the same file (example_embed_model writes both):
 *   example_embed_model model.safetensors expected.txt && example_embed_c model.safetensors expected.txt */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <axon_c.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != AXON_OK) {                                               \
      fprintf(stderr, "%s failed: %s\n", #call, axon_last_error());        \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

enum { MAX = 64 };

static int read_values(FILE* f, double* v, int n) {
  for (int i = 0; i < n; ++i)
    if (fscanf(f, "%lf", &v[i]) != 1) return 0;
  return 1;
}

static int compare(const char* what, const double* got, const double* want, int n) {
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    double err = fabs(got[i] - want[i]) / (1.0 + fabs(want[i]));
    if (err > worst) worst = err;
  }
  printf("%-9s max relative difference to the C++ API: %.3g\n", what, worst);
  return worst <= 1e-12;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL_FILE EXPECTED_TXT\n", argv[0]);
    return 2;
  }
  long long batch, features, outputs;
  double x[MAX], y_want[MAX], g_want[MAX];
  FILE* f = fopen(argv[2], "r");
  if (!f || fscanf(f, "%lld %lld %lld", &batch, &features, &outputs) != 3 || batch * features > MAX ||
      batch * outputs > MAX || !read_values(f, x, (int)(batch * features)) ||
      !read_values(f, y_want, (int)(batch * outputs)) || !read_values(f, g_want, (int)(batch * features))) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  fclose(f);
  if (axon_abi_version() != AXON_C_ABI_VERSION) {
    fprintf(stderr, "libaxon speaks C ABI %d, this program was built for %d\n", axon_abi_version(), AXON_C_ABI_VERSION);
    return 1;
  }
  printf("axon %s\n", axon_version());

  /* snippet-begin: embed */
  double y[MAX], g[MAX]; /* the caller's arrays: row-major [batch][features] and [batch][outputs] */
  int64_t x_shape[2] = {batch, features}, y_shape[2] = {batch, outputs};
  axon_model model;
  axon_tensor tx, ty, tg;
  CHECK(axon_model_load(argv[1], AXON_CPU, 0, &model));
  CHECK(axon_tensor_from_data(x, 2, x_shape, NULL, AXON_F64, AXON_CPU, 0, NULL, NULL, &tx)); /* no copy */
  CHECK(axon_tensor_from_data(y, 2, y_shape, NULL, AXON_F64, AXON_CPU, 0, NULL, NULL, &ty));
  CHECK(axon_tensor_from_data(g, 2, x_shape, NULL, AXON_F64, AXON_CPU, 0, NULL, NULL, &tg));
  CHECK(axon_model_predict_into(model, 1, &tx, ty));                  /* y = model(x), written into y */
  CHECK(axon_model_input_gradients(model, 1, &tx, NULL, NULL, &tg));  /* g = d sum(model(x)) / dx */
  /* snippet-end: embed */
  int ok = compare("outputs", y, y_want, (int)(batch * outputs));
  ok &= compare("gradient", g, g_want, (int)(batch * features));

  /* Online fine-tuning: 20 Adam steps towards zero outputs; the loss must fall. */
  double target[MAX] = {0}, first = 0, loss = 0;
  axon_tensor tt;
  axon_optimizer opt;
  CHECK(axon_tensor_from_data(target, 2, y_shape, NULL, AXON_F64, AXON_CPU, 0, NULL, NULL, &tt));
  CHECK(axon_optimizer_create(model, "adam", 1e-2, "mean_squared_error", 0, &opt));
  for (int step = 0; step < 20; ++step) {
    CHECK(axon_train_step(opt, tx, tt, &loss));
    if (step == 0) first = loss;
  }
  printf("fine-tuning: loss %.6f -> %.6f\n", first, loss);
  ok &= loss < 0.5 * first;

  /* Errors come back as a status and a message, never as a crash. */
  int64_t bad_shape[2] = {batch, features + 1};
  axon_tensor bad;
  CHECK(axon_tensor_from_data(x, 2, bad_shape, NULL, AXON_F64, AXON_CPU, 0, NULL, NULL, &bad));
  if (axon_model_predict_into(model, 1, &bad, ty) == AXON_OK) ok = 0;
  printf("a wrong input shape: %s\n", axon_last_error());

  axon_tensor_destroy(bad);
  axon_tensor_destroy(tt);
  axon_optimizer_destroy(opt);
  axon_tensor_destroy(tx);
  axon_tensor_destroy(ty);
  axon_tensor_destroy(tg);
  axon_model_destroy(model);
  printf(ok ? "C example: OK\n" : "C example: FAILED\n");
  return ok ? 0 : 1;
}
