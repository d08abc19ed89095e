// The data pipeline: .npy/.npz (bytes NumPy itself wrote), CSV, sources, map/shuffle/batch/prefetch,
// augmentations, and reading one Fashion-MNIST split.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <axon/data/fashion_mnist.hpp>
#include <axon/data/npy.hpp>
#include <axon/data/pipeline.hpp>

#include "harness.hpp"
#include "npy_fixtures.hpp"

using namespace axon;
using axon::test::check_equal;
namespace fs = std::filesystem;

namespace {

std::string write_bytes(const std::string& name, const std::string& bytes) {
  fs::path p = test::temp_path(name);
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return p.string();
}

std::vector<double> values(const Tensor& t) {
  Tensor d = cast(t, DType::f64).contiguous();
  return std::vector<double>(d.data<double>(), d.data<double>() + d.numel());
}

data::Source counting_source(int64_t n, std::atomic<int64_t>* gets = nullptr) {
  return data::Source(n, [n, gets](int64_t i) {
    if (gets) ++*gets;
    return data::Example{full({2}, double(i)), full({}, double(i % 3), DType::i64)};
  });
}

}  // namespace

TEST_CASE("read_npy reads what NumPy wrote", "[data][npy]") {
  Tensor a = data::read_npy(write_bytes("f32.npy", kNpyF32));
  CHECK(a.dtype() == DType::f32);
  check_equal(a, {0, 0.5, 1, 1.5, 2, 2.5}, {2, 3});
  // int16 in Fortran order: widened to i32 exactly, returned in C order.
  Tensor b = data::read_npy(write_bytes("i16f.npy", kNpyI16Fortran));
  CHECK(b.dtype() == DType::i32);
  check_equal(b, {-1, 2, 3, 4, -5, 30000}, {2, 3});
  Tensor c = data::read_npy(write_bytes("bool.npy", kNpyBool));
  CHECK(c.dtype() == DType::boolean);
  check_equal(c, {1, 0, 1}, {3});
}

TEST_CASE("read_npz reads stored and deflated archives", "[data][npy]") {
  auto s = data::read_npz(write_bytes("stored.npz", kNpzStored));
  REQUIRE(s.size() == 2);
  check_equal(s.at("x"), {0, 1, 2, 3, 4, 5, 6, 7}, {4, 2});
  CHECK(s.at("x").dtype() == DType::f64);
  check_equal(s.at("y"), {0, 1, 2, 1}, {4});
  auto d = data::read_npz(write_bytes("deflated.npz", kNpzDeflated));
  std::vector<double> lin;
  for (int i = 0; i < 12; ++i) lin.push_back(double(float(i) / 11.0f));
  test::check_close(d.at("x"), lin, {4, 3}, {1e-7, 1e-7});
  check_equal(d.at("y"), {3, 2, 1, 0}, {4});
  CHECK(d.at("y").dtype() == DType::i32);
}

TEST_CASE("write_npy round-trips through read_npy", "[data][npy]") {
  Tensor x = test::random_tensor({3, 5, 2}, DType::f32, -2, 2, 7);
  std::string p = test::temp_path("rt.npy");
  data::write_npy(p, x);
  Tensor y = data::read_npy(p);
  REQUIRE(y.shape() == x.shape());
  CHECK(values(y) == values(x));
  Tensor ids = from_vector(std::vector<int64_t>{5, -7, 1ll << 40}, {3});
  data::write_npy(p, ids);
  check_equal(data::read_npy(p), {5, -7, double(1ll << 40)}, {3});
  data::write_npy(p, full({}, 3.25));  // rank 0
  check_equal(data::read_npy(p), {3.25}, {});
  // NumPy requires the data to start on a 64-byte boundary.
  CHECK(fs::file_size(p) % 64 == 4);
}

TEST_CASE("hostile .npy and .npz files are errors naming the file", "[data][npy][hostile]") {
  std::string good = kNpyF32;
  AXON_REQUIRE_THROWS_WITH(data::read_npy(write_bytes("short.npy", good.substr(0, good.size() - 3))),
                           "the file holds");
  AXON_REQUIRE_THROWS_WITH(data::read_npy(write_bytes("magic.npy", "PK" + good)), "bad magic");
  std::string big = good;
  big.replace(big.find("(2, 3)"), 6, "(9, 3)");
  AXON_REQUIRE_THROWS_WITH(data::read_npy(write_bytes("big.npy", big)), "header declares");
  std::string huge = good;
  huge.replace(huge.find("(2, 3)"), 6, "(1<<62");
  AXON_REQUIRE_THROWS_WITH(data::read_npy(write_bytes("huge.npy", huge)), "bad header");
  std::string overflow = good;
  overflow.replace(overflow.find("'shape': (2, 3)"), 15, "'shape': (4611686018427387904, 4611686018427387904)");
  // the header length field no longer matches: still an error, never an allocation
  CHECK_THROWS_AS(data::read_npy(write_bytes("overflow.npy", overflow)), Error);
  std::string be = good;
  be.replace(be.find("<f4"), 3, ">f4");
  AXON_REQUIRE_THROWS_WITH(data::read_npy(write_bytes("be.npy", be)), "not little-endian");
  std::string obj = good;
  obj.replace(obj.find("<f4"), 3, "|O8");
  AXON_REQUIRE_THROWS_WITH(data::read_npy(write_bytes("obj.npy", obj)), "unsupported dtype");
  AXON_REQUIRE_THROWS_WITH(data::read_npy(test::temp_path("missing.npy")), "cannot open");
  // A flipped data byte in a stored archive: the CRC catches it.
  std::string z = kNpzStored;
  size_t at = z.find("\x93NUMPY");
  z[at + 128 + 3] ^= 0x40;
  AXON_REQUIRE_THROWS_WITH(data::read_npz(write_bytes("crc.npz", z)), "CRC-32 mismatch");
  std::string zd = kNpzDeflated;
  AXON_REQUIRE_THROWS_WITH(data::read_npz(write_bytes("trunc.npz", zd.substr(0, zd.size() - 30))),
                           "end-of-central-directory");
  AXON_REQUIRE_THROWS_WITH(data::read_npz(write_bytes("notzip.npz", good)), "not a zip archive");
  // Every truncation and every single-byte corruption: an axon::Error or a correct read, never a crash.
  for (size_t n = 0; n < zd.size(); n += 7) CHECK_THROWS_AS(data::read_npz(write_bytes("t.npz", zd.substr(0, n))), Error);
  for (size_t i = 0; i < zd.size(); i += 3) {
    std::string c = zd;
    c[i] ^= 0x5a;
    try {
      data::read_npz(write_bytes("c.npz", c));
    } catch (const Error&) {
    }
  }
}

TEST_CASE("from_csv reads features and labels, errors name line and column", "[data][csv]") {
  std::string p = write_bytes("d.csv", "a,b,label,c\n1,2,0,3\n4.5,-5,2,6e1\r\n\n");
  data::Source s = data::from_csv(p, {.label_column = "label"});
  REQUIRE(s.size() == 2);
  check_equal(s.get(1).x, {4.5, -5, 60}, {3});
  check_equal(s.get(1).y, {2}, {});
  data::Source r = data::from_csv(write_bytes("r.csv", "1;2;0.5\n3;4;1.5\n"),
                                  {.delimiter = ';', .header = false, .label_dtype = DType::f32});
  check_equal(r.get(0).x, {1, 2}, {2});
  check_equal(r.get(1).y, {1.5}, {});
  AXON_REQUIRE_THROWS_WITH(data::from_csv(write_bytes("bad.csv", "a,b\n1,2\n3,x\n")), "bad.csv:3: column 2: 'x'");
  AXON_REQUIRE_THROWS_WITH(data::from_csv(write_bytes("ragged.csv", "a,b\n1,2\n3\n")), "1 columns, expected 2");
  AXON_REQUIRE_THROWS_WITH(data::from_csv(write_bytes("frac.csv", "a,b\n1,2.5\n")), "not an integer class id");
  AXON_REQUIRE_THROWS_WITH(data::from_csv(p, {.label_column = "nope"}), "no column named 'nope'");
}

TEST_CASE("Pipeline batches in order, shuffles reproducibly, drops the last batch when asked", "[data][pipeline]") {
  Tensor x = arange(0, 10, 1, DType::f32).reshape({5, 2});
  Tensor y = from_vector(std::vector<int64_t>{0, 1, 2, 3, 4}, {5});
  data::Pipeline p(data::from_tensors(x, y));
  training::Dataset plain = p.batch(2).dataset();
  REQUIRE(plain.num_batches() == 3);
  check_equal(plain.batch(0, 1).x, {4, 5, 6, 7}, {2, 2});
  check_equal(plain.batch(0, 2).y, {4}, {1});
  training::Dataset dropped = p.batch(2, true).dataset();
  CHECK(dropped.num_batches() == 2);
  training::Dataset shuffled = p.shuffle(11).batch(5).dataset();
  auto perm = training::permutation(5, 11, 3);
  check_equal(shuffled.batch(3, 0).y, std::vector<double>(perm.begin(), perm.end()), {5});
  CHECK(values(shuffled.batch(3, 0).y) == values(p.shuffle(11).batch(5).dataset().batch(3, 0).y));
  AXON_REQUIRE_THROWS_WITH(plain.batch(0, 3), "the dataset has 3 batches");
  AXON_REQUIRE_THROWS_WITH(p.batch(0), "batch_size 0 must be > 0");
}

TEST_CASE("transforms see per-sample random numbers: prefetch threads give the same batches", "[data][pipeline]") {
  auto noisy = [](data::Example e, data::SampleRng& rng) {
    e.x = add(e.x, rng.uniform());
    return e;
  };
  data::Pipeline base = data::Pipeline(counting_source(23)).map(noisy).shuffle(5).batch(4);
  training::Dataset serial = base.dataset();
  training::Dataset threaded = base.prefetch(3, 3).dataset();
  for (int64_t epoch = 0; epoch < 2; ++epoch)
    for (int64_t i = 0; i < serial.num_batches(); ++i) {
      training::Batch a = serial.batch(epoch, i), b = threaded.batch(epoch, i);
      CHECK(values(a.x) == values(b.x));
      CHECK(values(a.y) == values(b.y));
    }
  // A different epoch draws different numbers for the same sample.
  CHECK(values(serial.batch(0, 0).x) != values(serial.batch(1, 0).x));
  // Random access after prefetching ahead (a resume) still gives the same batch.
  CHECK(values(threaded.batch(0, 2).x) == values(serial.batch(0, 2).x));
}

TEST_CASE("prefetch assembles the next batches while the caller holds the current one", "[data][pipeline]") {
  std::atomic<int64_t> gets{0};
  training::Dataset d = data::Pipeline(counting_source(40, &gets))
                            .map([](data::Example e, data::SampleRng&) { return e; })
                            .batch(4)
                            .prefetch(3, 2)
                            .dataset();
  d.batch(0, 0);
  // Without asking for more, the workers build batches 1..3 (12 more samples).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (gets.load() < 16 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(gets.load() == 16);
  // Taking batch 1 schedules batch 4; nothing is built twice.
  d.batch(0, 1);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (gets.load() < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(gets.load() == 20);
}

TEST_CASE("a failing transform fails the batch request with its error", "[data][pipeline]") {
  auto bad = [](data::Example e, data::SampleRng&) {
    AXON_CHECK(e.x.data<float>()[0] != 6.0f, "my_transform", "sample 6 is bad");
    return e;
  };
  training::Dataset d = data::Pipeline(counting_source(8)).map(bad).batch(4).prefetch(2).dataset();
  CHECK_NOTHROW(d.batch(0, 0));
  AXON_REQUIRE_THROWS_WITH(d.batch(0, 1), "sample 6 is bad");
  auto reshape_some = [](data::Example e, data::SampleRng&) {
    if (e.x.data<float>()[0] == 2.0f) e.x = zeros({3});
    return e;
  };
  AXON_REQUIRE_THROWS_WITH(data::Pipeline(counting_source(4)).map(reshape_some).batch(4).dataset().batch(0, 0),
                           "transforms must give one shape");
}

TEST_CASE("augmentations: crop with padding, flip, normalize", "[data][augment]") {
  // A 3x4 single-channel image with values 1..12.
  Tensor img = add(arange(0, 12, 1, DType::f32), 1.0).reshape({3, 4, 1});
  data::Example e{img, Tensor()};
  data::SampleRng rng(1);
  check_equal(data::random_crop(3, 4, 0)(e, rng).x, values(img), {3, 4, 1});  // the only window
  // Every window of a padded crop is a shifted copy of the image with zeros outside.
  for (uint64_t k = 0; k < 20; ++k) {
    data::SampleRng r(k);
    std::vector<double> c = values(data::random_crop(3, 4, 1)(e, r).x);
    int64_t nonzero = 0;
    for (double v : c) nonzero += v != 0;
    CHECK(nonzero >= 6);  // at most one row and one column shifted out
    for (double v : c) CHECK((v >= 0 && v <= 12 && v == std::floor(v)));
  }
  data::SampleRng r1(3);
  check_equal(data::random_flip(1.0)(e, r1).x, {4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9}, {3, 4, 1});
  check_equal(data::random_flip(0.0)(e, r1).x, values(img), {3, 4, 1});
  Tensor rgb = full({1, 2, 3}, 1.0);
  test::check_close(data::normalize({0.5, 1.0, 0.0}, {0.5, 2.0, 4.0})(data::Example{rgb, {}}, r1).x,
                    {1, 0, 0.25, 1, 0, 0.25}, {1, 2, 3}, {1e-7, 1e-7});
  AXON_REQUIRE_THROWS_WITH(data::normalize({0.5, 1.0}, {1, 1})(data::Example{rgb, {}}, r1), "2 means");
  AXON_REQUIRE_THROWS_WITH(data::random_crop(9, 9, 1)(e, r1), "does not fit");
  AXON_REQUIRE_THROWS_WITH(data::random_flip(0.5)(data::Example{zeros({4}), {}}, r1), "[H, W, C]");
}

TEST_CASE("from_npy/from_npz/from_idx sources feed a pipeline", "[data][pipeline]") {
  data::Source z = data::from_npz(write_bytes("src.npz", kNpzStored));
  CHECK(z.size() == 4);
  check_equal(z.get(2).x, {4, 5}, {2});
  AXON_REQUIRE_THROWS_WITH(data::from_npz(write_bytes("src2.npz", kNpzStored), "images"), "it holds: x, y");
  std::string xp = test::temp_path("x.npy"), yp = test::temp_path("y.npy");
  data::write_npy(xp, zeros({6, 2, 2, 1}));
  data::write_npy(yp, zeros({5}, DType::i64));
  AXON_REQUIRE_THROWS_WITH(data::from_npy(xp, yp), "row counts disagree");
  data::write_npy(yp, arange(0, 6, 1, DType::i64));
  training::Dataset d = data::Pipeline(data::from_npy(xp, yp)).map(data::random_flip()).batch(3).dataset();
  CHECK(d.batch(0, 1).x.shape() == Shape{3, 2, 2, 1});
  check_equal(d.batch(0, 1).y, {3, 4, 5}, {3});
}

TEST_CASE("load_fashion_mnist reads only the split asked for", "[data][fashion]") {
  std::string dir;
  try {
    dir = data::find_fashion_mnist();
  } catch (const Error&) {
    AXON_SKIP("Fashion-MNIST is not installed");
  }
  // A folder holding only the test files: split = test must not look for the training files.
  fs::path only = test::temp_path("fm_test_only");
  fs::create_directories(only);
  for (const char* f : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    fs::copy_file(fs::path(dir) / f, only / f, fs::copy_options::overwrite_existing);
  auto s = data::load_fashion_mnist(only.string(), {.split = data::Split::test});
  CHECK(!s.train_images.defined());
  CHECK(s.test_images.shape() == Shape{10000, 28, 28, 1});
  CHECK(s.test_labels.shape() == Shape{10000});
  AXON_REQUIRE_THROWS_WITH(data::load_fashion_mnist(only.string(), {.split = data::Split::train}),
                           "train-images-idx3-ubyte.gz");
}

TEST_CASE("pin_memory and non-blocking copies", "[data][pinned]") {
  Tensor x = test::random_tensor({4, 3}, DType::f32, -1, 1, 3);
  Tensor p = x.slice(0, 1, 3).pin_memory();
  CHECK(p.is_contiguous());
  CHECK(values(p) == values(x.slice(0, 1, 3)));
  CHECK(p.is_pinned() == test::has_cuda());
  CHECK(values(p.to(Device::cpu(), true)) == values(p));
  AXON_REQUIRE_THROWS_WITH(Tensor().pin_memory(), "pin_memory");
  if (!test::has_cuda()) return;
  // The copy is queued, not waited for; reading it back on the device's stream sees the data.
  Tensor d = p.to(Device::cuda(), true);
  CHECK(d.is_cuda());
  CHECK(values(d.to(Device::cpu())) == values(p));
  // A pipeline delivering on the GPU gives the CPU pipeline's batches.
  data::Pipeline base = data::Pipeline(counting_source(10)).map(data::normalize({0.5}, {2.0})).shuffle(1).batch(4).prefetch(2);
  training::Dataset cpu = base.dataset(), gpu = base.to(Device::cuda()).dataset();
  for (int64_t i = 0; i < 3; ++i) CHECK(values(gpu.batch(0, i).x.to(Device::cpu())) == values(cpu.batch(0, i).x));
}

TEST_CASE("built-in augmentations batch on raw memory exactly as on tensors", "[data][augment][pipeline]") {
  // Wrapping a built-in transform in a lambda hides it from the raw-memory batching: the tensor path.
  auto on_tensors = [](data::MapFn f) {
    return [f](data::Example e, data::SampleRng& r) { return f(std::move(e), r); };
  };
  Tensor x = test::random_tensor({37, 6, 5, 3}, DType::f32, -1, 1, 9);
  Tensor y = arange(0, 37, 1, DType::i64);
  // The same images from a source without a batch gather: samples taken one by one.
  data::Source table = data::from_tensors(x, y);
  data::Source one_by_one(37, [table](int64_t i) { return table.get(i); });
  for (const data::Source& src : {table, one_by_one}) {
    data::Pipeline raw = data::Pipeline(src)
                             .map(data::random_crop(5, 4, 2))
                             .map(data::random_flip())
                             .map(data::normalize({0.1, -0.2, 0.3}, {0.5, 2.0, 1.5}))
                             .shuffle(7)
                             .batch(8);
    data::Pipeline tensors = data::Pipeline(src)
                                 .map(on_tensors(data::random_crop(5, 4, 2)))
                                 .map(on_tensors(data::random_flip()))
                                 .map(on_tensors(data::normalize({0.1, -0.2, 0.3}, {0.5, 2.0, 1.5})))
                                 .shuffle(7)
                                 .batch(8);
    training::Dataset a = raw.prefetch(2, 2).dataset(), b = tensors.dataset();
    for (int64_t epoch = 0; epoch < 2; ++epoch)
      for (int64_t i = 0; i < a.num_batches(); ++i) {
        training::Batch p = a.batch(epoch, i), q = b.batch(epoch, i);
        REQUIRE(p.x.shape() == q.x.shape());
        CHECK(p.x.shape()[1] == 5);
        CHECK(values(p.x) == values(q.x));
        CHECK(values(p.y) == values(q.y));
      }
  }
  // A sample the transform does not take is the same error either way.
  data::Pipeline small = data::Pipeline(data::from_tensors(zeros({4, 2, 2, 1}))).map(data::random_crop(9, 9)).batch(2);
  AXON_REQUIRE_THROWS_WITH(small.dataset().batch(0, 0), "does not fit");
}
