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
  s.train_images = images(dir + "/train-images-idx3-ubyte.gz", o);
  s.train_labels = labels(dir + "/train-labels-idx1-ubyte.gz", o);
  s.test_images = images(dir + "/t10k-images-idx3-ubyte.gz", o);
  s.test_labels = labels(dir + "/t10k-labels-idx1-ubyte.gz", o);
  AXON_CHECK(s.train_images.size(0) == s.train_labels.size(0) && s.test_images.size(0) == s.test_labels.size(0),
             "load_fashion_mnist", "{}: image and label counts disagree: train {} / {}, test {} / {}", dir,
             s.train_images.size(0), s.train_labels.size(0), s.test_images.size(0), s.test_labels.size(0));
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
