#pragma once
#include <cstdint>
#include <string>

namespace axon {

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;  // "cpu", "cuda:0"
  friend bool operator==(const Device&, const Device&) = default;
};

// True when this build has the CUDA backend and at least one GPU is visible.
bool cuda_available();
int cuda_device_count();
bool built_with_cuda();

// The device examples, data loading (data::load_fashion_mnist) and trainer/train use unless told
// otherwise: cuda:0 when a GPU is visible, else the CPU, until set_default_device() changes it
// (process-wide). Setting a CUDA device that is not present is an axon::Error, so a program that
// runs on default_device() runs unchanged on a machine without a GPU.
Device default_device();
void set_default_device(Device device);

}  // namespace axon
