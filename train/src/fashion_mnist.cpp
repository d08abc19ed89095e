#include <filesystem>

#include <axon/data/fashion_mnist.hpp>
#include <axon/data/idx.hpp>
#include <axon/ops.hpp>

namespace axon::data {
namespace {

Tensor images(const std::string& path, const FashionMnistOptions& o) {
  Tensor raw = read_idx(path);
  AXON_CHECK(raw.dim() == 3, "load_fashion_mnist", "{}: expected images [N, rows, cols], got {}", path,
             describe(raw));
  Shape shape = o.flatten ? Shape{raw.size(0), raw.size(1) * raw.size(2)} : Shape{raw.size(0), raw.size(1), raw.size(2), 1};
  return div(cast(raw.reshape(shape), DType::f32), 255.0).to(o.device);
}

Tensor labels(const std::string& path, const FashionMnistOptions& o) {
  Tensor raw = read_idx(path);
  AXON_CHECK(raw.dim() == 1, "load_fashion_mnist", "{}: expected labels [N], got {}", path, describe(raw));
  return cast(raw, DType::i64).to(o.device);
}

}  // namespace

ImageSet load_fashion_mnist(const std::string& dir, FashionMnistOptions o) {
  ImageSet s;
  auto read = [&](const char* prefix, Tensor& x, Tensor& y) {
    x = images(dir + "/" + prefix + "-images-idx3-ubyte.gz", o);
    y = labels(dir + "/" + prefix + "-labels-idx1-ubyte.gz", o);
    AXON_CHECK(x.size(0) == y.size(0), "load_fashion_mnist", "{}: {} image and label counts disagree: {} / {}", dir,
               prefix, x.size(0), y.size(0));
  };
  if (o.split != Split::test) read("train", s.train_images, s.train_labels);
  if (o.split != Split::train) read("t10k", s.test_images, s.test_labels);
  return s;
}

std::string find_fashion_mnist(const std::string& dir) {
  if (!dir.empty()) return dir;
  for (const char* d : {"data/fashion-mnist", "/usr/share/datasets/fashion-mnist"})
    if (std::filesystem::exists(std::string(d) + "/train-images-idx3-ubyte.gz")) return d;
  AXON_FAIL("load_fashion_mnist",
            "no Fashion-MNIST in data/fashion-mnist or /usr/share/datasets/fashion-mnist (install Debian's "
            "dataset-fashion-mnist, or name the folder)");
}

}  // namespace axon::data
