// The non-template parts of spec.hpp: numbers, initializers and paddings as JSON, and the reader's
// type checks.
#include "spec.hpp"

#include <charconv>
#include <cmath>

namespace axon::detail {

void SpecWriter::put_double(double v) {
  // JSON has no infinities (pad's value may be -inf); fmt's "{}" is the shortest round-trip form.
  if (std::isnan(v)) out_ += "\"nan\"";
  else if (std::isinf(v)) out_ += v > 0 ? "\"inf\"" : "\"-inf\"";
  else out_ += fmt::format("{}", v);
}

void SpecWriter::put_special(const Initializer& i) {
  // A function cannot be saved: its label is, and the loaded initializer says so when called.
  if (i.fn) out_ += fmt::format("{{\"function\": {}}}", json::quote(i.name));
  else out_ += json::quote(i.name);
}

void SpecWriter::put_special(const Padding& p) {
  if (p.mode == PaddingMode::valid) out_ += "\"valid\"";
  else if (p.mode == PaddingMode::same) out_ += "\"same\"";
  else put(p.pads);
}

void SpecWriter::put_special(const Activation& a) { out_ += json::quote(a.label()); }

SpecReader::SpecReader(const json::Value& spec, std::vector<Model> inputs, std::string who)
    : spec_(spec), inputs_(std::move(inputs)), who_(std::move(who)) {
  AXON_CHECK(spec.kind == json::Value::Kind::object, who_, "its arguments (\"spec\") must be a JSON object, got {}",
             json::kind_name(spec.kind));
}

Model SpecReader::input() {
  failed_ = next_ >= inputs_.size();
  AXON_CHECK(next_ < inputs_.size(), who_, "its arguments need more than the {} input(s) it lists", inputs_.size());
  return inputs_[next_++];
}

std::vector<Model> SpecReader::rest() {
  std::vector<Model> out(inputs_.begin() + static_cast<std::ptrdiff_t>(next_), inputs_.end());
  next_ = inputs_.size();
  return out;
}

void SpecReader::finish() const {
  check_keys();
  AXON_CHECK(next_ == inputs_.size(), who_, "it lists {} input(s) but its arguments use {}", inputs_.size(), next_);
}

void SpecReader::check_keys() const {
  for (const auto& m : spec_.object) {
    bool known = false;
    for (const auto& k : read_) known = known || k == m.key;
    AXON_CHECK(known, who_, "unknown argument \"{}\" (written by a newer axon, or not an axon file)", m.key);
  }
}

void SpecReader::bad(const char* key, const std::string& why) {
  failed_ = true;
  AXON_FAIL(who_, "argument \"{}\": {}", key, why);
}

void SpecReader::expect(const json::Value& x, json::Value::Kind kind, const char* key) {
  if (x.kind != kind) bad(key, fmt::format("expected {}, got {}", json::kind_name(kind), json::kind_name(x.kind)));
}

int64_t SpecReader::integer(const json::Value& x, const char* key, bool is_unsigned) {
  expect(x, json::Value::Kind::number, key);
  const char* end = x.text.data() + x.text.size();
  if (is_unsigned) {
    uint64_t u = 0;
    auto r = std::from_chars(x.text.data(), end, u);
    if (r.ec != std::errc() || r.ptr != end) bad(key, fmt::format("expected an unsigned 64-bit integer, got {}", x.text));
    return static_cast<int64_t>(u);
  }
  int64_t i = 0;
  auto r = std::from_chars(x.text.data(), end, i);
  if (r.ec != std::errc() || r.ptr != end) bad(key, fmt::format("expected a 64-bit integer, got {}", x.text));
  // Sizes, counts and axes: bounded so that the builders' shape arithmetic cannot overflow.
  if (i >= (int64_t{1} << 31) || i <= -(int64_t{1} << 31)) bad(key, fmt::format("{} is out of range (|value| < 2^31)", i));
  return i;
}

double SpecReader::number(const json::Value& x, const char* key) {
  if (x.kind == json::Value::Kind::string) {
    if (x.text == "inf") return INFINITY;
    if (x.text == "-inf") return -INFINITY;
    if (x.text == "nan") return NAN;
  }
  expect(x, json::Value::Kind::number, key);
  double d = 0;
  const char* end = x.text.data() + x.text.size();
  auto r = std::from_chars(x.text.data(), end, d);
  if (r.ec != std::errc() || r.ptr != end) bad(key, fmt::format("expected a number, got {}", x.text));
  return d;
}

void SpecReader::get_special(const json::Value& x, Initializer& v, const char* key) {
  if (x.kind == json::Value::Kind::object) {
    const json::Value* label = x.find("function");
    if (!label || label->kind != json::Value::Kind::string) bad(key, "expected {\"function\": \"<label>\"}");
    const std::string who = who_, name = label->text;
    v = Initializer(
        [who, name, key = std::string(key)](const Shape&, DType, Device, Generator&) -> Tensor {
          AXON_FAIL(who, "{} was the C++ function \"{}\", which a model file cannot hold: load the parameters with "
                    "the model, or rebuild the layer in code to initialize it",
                    key, name);
        },
        name);
    return;
  }
  expect(x, json::Value::Kind::string, key);
  v = Initializer(x.text);
}

void SpecReader::get_special(const json::Value& x, Padding& v, const char* key) {
  if (x.kind == json::Value::Kind::string) {
    if (x.text == "valid") v = Padding::valid();
    else if (x.text == "same") v = Padding::same();
    else bad(key, fmt::format("\"{}\" is not a padding (valid, same or [[lo, hi], ...])", x.text));
    return;
  }
  std::vector<std::pair<int64_t, int64_t>> pads;
  get(x, pads, key);
  v = Padding(std::move(pads));
}

void SpecReader::get_special(const json::Value& x, Activation& v, const char* key) {
  expect(x, json::Value::Kind::string, key);
  if (x.text == "<function>")
    bad(key, "was a C++ function when the model was saved; a function cannot be stored in a model file (use an "
             "activation by name, or make the layer a custom layer and register its builder)");
  v = Activation(x.text);
}

}  // namespace axon::detail
