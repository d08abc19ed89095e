#pragma once
// Fashion-MNIST (and MNIST, same files) as the workloads use it: images scaled to [0, 1] in f32,
// labels as i64 class ids, all on one device so batches are gathered there.
#include <string>

#include <axon/tensor.hpp>

namespace axon::data {

struct ImageSet {
  Tensor train_images, train_labels, test_images, test_labels;
};

enum class Split { all, train, test };

struct FashionMnistOptions {
  Device device = default_device();  // cuda:0 when a GPU is visible, else the CPU (<axon/device.hpp>)
  bool flatten = false;  // images [N, 784] instead of [N, 28, 28, 1] (channels last)
  Split split = Split::all;  // which files are read; the other split's tensors stay undefined
};

// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from `dir` (only the split's two files when
// options.split asks for one). Errors name the file at fault
// (missing, truncated, not IDX) and a disagreement between an image file and its label file.
ImageSet load_fashion_mnist(const std::string& dir, FashionMnistOptions options = {});

// The folder holding the files: `dir` when given, else data/fashion-mnist (a copy next to the
// working directory, as GPU runs carry it), else Debian's /usr/share/datasets/fashion-mnist. Throws
// saying where it looked when none has them.
std::string find_fashion_mnist(const std::string& dir = {});

}  // namespace axon::data
