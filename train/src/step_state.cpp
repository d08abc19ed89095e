#include <axon/io.hpp>
#include <axon/train/step_state.hpp>

namespace axon::training {
namespace {
// The keys under "<prefix>/" form the range [prefix + '/', prefix + '0') ('0' follows '/').
std::pair<std::map<std::string, Tensor>::const_iterator, std::map<std::string, Tensor>::const_iterator> range(
    const std::map<std::string, Tensor>& m, const std::string& prefix) {
  return {m.lower_bound(prefix + "/"), m.lower_bound(prefix + "0")};
}
}  // namespace

const Tensor& StepState::at(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end()) {
    std::string keys;
    for (const auto& [k, v] : tensors) {
      if (keys.size() > 200) { keys += ", ..."; break; }
      keys += (keys.empty() ? "" : ", ") + k;
    }
    AXON_FAIL("step_state", "no entry '{}' (the state holds: {})", key, keys.empty() ? "nothing" : keys);
  }
  return it->second;
}

bool StepState::has_prefix(const std::string& prefix) const {
  auto [b, e] = range(tensors, prefix);
  return b != e;
}

std::map<std::string, Tensor> StepState::sub(const std::string& prefix) const {
  std::map<std::string, Tensor> out;
  auto [b, e] = range(tensors, prefix);
  for (auto it = b; it != e; ++it) out.emplace_hint(out.end(), it->first.substr(prefix.size() + 1), it->second);
  return out;
}

void StepState::erase_prefix(const std::string& prefix) {
  tensors.erase(tensors.lower_bound(prefix + "/"), tensors.lower_bound(prefix + "0"));
}

void StepState::set_sub(const std::string& prefix, const std::map<std::string, Tensor>& values) {
  erase_prefix(prefix);
  for (const auto& [k, v] : values) tensors[prefix + "/" + k] = v;
}

Params StepState::params(const std::string& prefix) const { return unflatten_params(tensors, prefix); }

void StepState::set_params(const std::string& prefix, const Params& params) {
  erase_prefix(prefix);
  for (auto& [k, v] : flatten_params(params, prefix)) tensors[k] = std::move(v);
}

}  // namespace axon::training
