// Loop states in safetensors files (layout in <axon/train/checkpoint.hpp>).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include <axon/io.hpp>
#include <axon/train/checkpoint.hpp>

#include "metric_value.hpp"

namespace axon::training {
namespace {

constexpr const char* kFormatKey = "axon.loop.format";

std::pair<TensorMap, Metadata> encode(const LoopState& at_event, const std::vector<std::string>& exclude) {
  LoopState s = resume_point(at_event);
  TensorMap t;
  for (const auto& [k, v] : s.step_state.tensors)
    if (std::find(exclude.begin(), exclude.end(), k) == exclude.end()) t.emplace("step_state/" + k, v);
  for (const auto& [k, v] : s.metrics) t.emplace("metrics/" + k, v);
  for (const auto& [e, m] : s.epoch_metrics)
    for (const auto& [k, v] : m) t.emplace("epoch_metrics/" + std::to_string(e) + "/" + k, v);
  Metadata md{{kFormatKey, "1"},
              {"epoch", std::to_string(s.epoch)},
              {"max_epoch", std::to_string(s.max_epoch)},
              {"iteration", std::to_string(s.iteration)},
              {"epoch_iteration", std::to_string(s.epoch_iteration)},
              {"max_iteration", std::to_string(s.max_iteration)}};
  for (const auto& [e, c] : s.event_counts)
    md[std::string("event_counts/") + event_name(e)] = std::to_string(c.total) + "," + std::to_string(c.epoch);
  // fmt's shortest round-trip form: the exact double comes back.
  for (const auto& [k, v] : s.handler_metadata) md["handler_metadata/" + k] = fmt::format("{}", v);
  for (const auto& [e, sec] : s.epoch_seconds) md["epoch_seconds/" + std::to_string(e)] = fmt::format("{}", sec);
  return {std::move(t), std::move(md)};
}

int64_t to_int(const std::string& text, const std::string& what, const std::string& file) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  AXON_FAIL("load_state", "{}: {} is not an integer ('{}')", file, what, text);
}
double to_double(const std::string& text, const std::string& what, const std::string& file) {
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  AXON_FAIL("load_state", "{}: {} is not a number ('{}')", file, what, text);
}
bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// Counters of a real run stay far below this (2^53 batches at a microsecond each take 285 years),
// and a run started from a state below it cannot overflow int64 by adding any epochs it could run.
constexpr int64_t kMaxCount = int64_t(1) << 53;

void check_count(int64_t v, int64_t lo, const std::string& what, const std::string& file) {
  AXON_CHECK(v >= lo && v <= kMaxCount, "load_state", "{}: {} is {}, outside [{}, 2^53]", file, what, v, lo);
}

// The fields a run reads to resume, checked so that a damaged or crafted file fails here, naming
// the field, rather than resuming into a run that does nothing or overflows its counters.
void validate(const LoopState& s, const std::string& file) {
  check_count(s.epoch, 0, "epoch", file);
  check_count(s.max_epoch, 0, "max_epoch", file);
  check_count(s.iteration, 0, "iteration", file);
  check_count(s.epoch_iteration, 0, "epoch_iteration", file);
  check_count(s.max_iteration, -1, "max_iteration", file);
  AXON_CHECK(s.epoch_iteration <= s.iteration, "load_state",
             "{}: epoch_iteration {} exceeds iteration {} (the batches of this epoch are part of the total)", file,
             s.epoch_iteration, s.iteration);
  for (const auto& [e, c] : s.event_counts) {
    const std::string what = std::string("event_counts/") + event_name(e);
    check_count(c.total, 0, what + " (total)", file);
    check_count(c.epoch, 0, what + " (this epoch)", file);
    AXON_CHECK(c.epoch <= c.total, "load_state", "{}: {} counts {} this epoch but {} in the whole run", file, what,
               c.epoch, c.total);
  }
  for (const auto& [e, m] : s.epoch_metrics)
    AXON_CHECK(e >= 0 && e <= s.epoch, "load_state", "{}: epoch_metrics/{} is not an epoch up to epoch {}", file, e,
               s.epoch);
  for (const auto& [e, sec] : s.epoch_seconds) {
    AXON_CHECK(e >= 0 && e <= s.epoch, "load_state", "{}: epoch_seconds/{} is not an epoch up to epoch {}", file, e,
               s.epoch);
    AXON_CHECK(std::isfinite(sec) && sec >= 0, "load_state", "{}: epoch_seconds/{} is {}, not a duration", file, e,
               sec);
  }
}

LoopState decode(TensorMap tensors, const Metadata& md, const std::string& file) {
  auto get = [&](const std::string& key) -> const std::string& {
    auto it = md.find(key);
    AXON_CHECK(it != md.end(), "load_state", "{}: the checkpoint lacks '{}'", file, key);
    return it->second;
  };
  AXON_CHECK(md.count(kFormatKey), "load_state", "{}: not an axon loop checkpoint (no '{}' in its metadata)", file,
             kFormatKey);
  AXON_CHECK(md.at(kFormatKey) == "1", "load_state", "{}: checkpoint format {} is not supported (1 is)", file,
             md.at(kFormatKey));
  LoopState s;
  s.epoch = to_int(get("epoch"), "epoch", file);
  s.max_epoch = to_int(get("max_epoch"), "max_epoch", file);
  s.iteration = to_int(get("iteration"), "iteration", file);
  s.epoch_iteration = to_int(get("epoch_iteration"), "epoch_iteration", file);
  s.max_iteration = to_int(get("max_iteration"), "max_iteration", file);
  for (const auto& [k, v] : md) {
    if (starts_with(k, "event_counts/")) {
      std::string name = k.substr(13);
      auto e = std::find_if(all_events().begin(), all_events().end(), [&](Event x) { return name == event_name(x); });
      AXON_CHECK(e != all_events().end(), "load_state", "{}: unknown event '{}'", file, name);
      auto comma = v.find(',');
      AXON_CHECK(comma != std::string::npos, "load_state", "{}: bad event count '{}' for {}", file, v, name);
      s.event_counts[*e] = {to_int(v.substr(0, comma), k, file), to_int(v.substr(comma + 1), k, file)};
    } else if (starts_with(k, "handler_metadata/")) {
      s.handler_metadata[k.substr(17)] = to_double(v, k, file);
    } else if (starts_with(k, "epoch_seconds/")) {
      s.epoch_seconds[to_int(k.substr(14), k, file)] = to_double(v, k, file);
    }
  }
  for (auto& [k, v] : tensors) {
    if (starts_with(k, "step_state/")) {
      s.step_state.tensors.emplace(k.substr(11), std::move(v));
    } else if (starts_with(k, "metrics/")) {
      s.metrics.emplace(k.substr(8), std::move(v));
    } else if (starts_with(k, "epoch_metrics/")) {
      std::string rest = k.substr(14);
      auto slash = rest.find('/');
      AXON_CHECK(slash != std::string::npos, "load_state", "{}: bad key '{}'", file, k);
      s.epoch_metrics[to_int(rest.substr(0, slash), k, file)].emplace(rest.substr(slash + 1), std::move(v));
    } else {
      AXON_FAIL("load_state", "{}: unexpected tensor '{}' in a loop checkpoint", file, k);
    }
  }
  validate(s, file);
  return s;
}

}  // namespace

LoopState resume_point(const LoopState& state) {
  LoopState r = state;
  switch (state.event) {
    case Event::iteration_completed:
      ++r.iteration;
      ++r.epoch_iteration;
      break;
    case Event::epoch_completed:
    case Event::epoch_halted:
      r.epoch_metrics[state.epoch] = state.metrics;
      r.metrics.clear();
      ++r.epoch;
      r.epoch_iteration = 0;
      break;
    default:
      break;
  }
  r.status = Status::running;
  return r;
}

void save_state(const std::string& path, const LoopState& state, const std::vector<std::string>& exclude) {
  auto [t, md] = encode(state, exclude);
  save_safetensors(path, t, md);
}

LoopState load_state(const std::string& path, Device device) {
  Metadata md;
  TensorMap t = load_safetensors(path, device, &md);
  return decode(std::move(t), md, path);
}

std::string serialize_state(const LoopState& state, const std::vector<std::string>& exclude) {
  auto [t, md] = encode(state, exclude);
  return to_safetensors(t, md);
}

LoopState deserialize_state(std::string_view bytes, Device device) {
  Metadata md;
  TensorMap t = from_safetensors(bytes, device, &md, "<serialized loop state>");
  return decode(std::move(t), md, "<serialized loop state>");
}

std::string default_checkpoint_file(const LoopState& state) {
  LoopState r = resume_point(state);
  if (r.epoch_iteration == 0) return "checkpoint_epoch_" + std::to_string(r.epoch) + ".safetensors";
  return "checkpoint_epoch_" + std::to_string(r.epoch + 1) + "_batch_" + std::to_string(r.epoch_iteration) +
         ".safetensors";
}

namespace {

// The point a default checkpoint name holds, as (epochs done, batches done in the next one), which
// orders them; nothing for other names.
std::optional<std::pair<int64_t, int64_t>> checkpoint_point(const std::string& name) {
  // A run of 1 to 15 digits at `at` (no overflow), moving past it.
  auto digits = [&](size_t& at) -> std::optional<int64_t> {
    size_t end = at;
    while (end < name.size() && end - at < 16 && name[end] >= '0' && name[end] <= '9') ++end;
    if (end == at || end - at > 15) return std::nullopt;
    int64_t v = std::stoll(name.substr(at, end - at));
    at = end;
    return v;
  };
  auto literal = [&](size_t& at, std::string_view text) {
    if (name.compare(at, text.size(), text) != 0) return false;
    at += text.size();
    return true;
  };
  size_t at = 0;
  if (!literal(at, "checkpoint_epoch_")) return std::nullopt;
  auto epoch = digits(at);
  if (!epoch) return std::nullopt;
  std::optional<int64_t> batch;
  if (literal(at, "_batch_") && !(batch = digits(at))) return std::nullopt;
  if (!literal(at, ".safetensors") || at != name.size()) return std::nullopt;
  if (!batch) return std::pair{*epoch, int64_t(0)};
  if (*epoch == 0) return std::nullopt;
  return std::pair{*epoch - 1, *batch};
}

// The default-named checkpoints of `dir`, oldest first.
std::vector<std::filesystem::path> checkpoints_in(const std::string& dir) {
  std::vector<std::pair<std::pair<int64_t, int64_t>, std::filesystem::path>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    if (auto p = checkpoint_point(entry.path().filename().string())) found.emplace_back(*p, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::filesystem::path> paths;
  for (auto& [p, path] : found) paths.push_back(std::move(path));
  return paths;
}

void remove_file(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::remove(file, ec);
  AXON_CHECK(!ec, "checkpoint", "keep_last: cannot delete {}: {}", file.string(), ec.message());
}

}  // namespace

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  auto all = checkpoints_in(dir);
  if (all.empty()) return std::nullopt;
  return all.back().string();
}

Loop& checkpoint(Loop& loop, CheckpointOptions o) {
  AXON_CHECK(o.keep_last >= 0, "checkpoint", "keep_last must be non-negative (0: keep all), got {}", o.keep_last);
  std::string key = o.criteria.empty() ? "" : loop.metadata_key("checkpoint/" + o.criteria);
  if (!o.criteria.empty()) loop.require_metric(o.criteria, "checkpoint", o.event);  // checked when run() starts
  auto written = std::make_shared<std::vector<std::filesystem::path>>();  // with a file_pattern, oldest first
  return loop.handle(
      o.event,
      [=](LoopState& s) {
        if (!o.criteria.empty()) {
          double v = detail::metric_value("checkpoint", s, o.criteria);
          auto best = s.handler_metadata.find(key + "/best");
          bool improved = best == s.handler_metadata.end() || (o.mode == MonitorMode::min ? v < best->second : v > best->second);
          if (!improved) return Action::continue_;
          s.handler_metadata[key + "/best"] = v;
        }
        std::error_code ec;
        std::filesystem::create_directories(o.path, ec);
        AXON_CHECK(!ec, "checkpoint", "cannot create directory {}: {}", o.path, ec.message());
        std::filesystem::path file = std::filesystem::path(o.path) / (o.file_pattern ? o.file_pattern(s) : default_checkpoint_file(s));
        save_state(file.string(), s, o.exclude);
        if (o.keep_last > 0) {
          std::vector<std::filesystem::path> kept;
          if (o.file_pattern) {
            std::erase(*written, file);
            written->push_back(file);
            kept = *written;
          } else {
            kept = checkpoints_in(o.path);
          }
          while (kept.size() > size_t(o.keep_last)) {
            remove_file(kept.front());
            kept.erase(kept.begin());
          }
          if (o.file_pattern) *written = kept;
        }
        return Action::continue_;
      },
      o.filter);
}

}  // namespace axon::training
