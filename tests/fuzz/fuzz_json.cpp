// The JSON reader of tensor-file headers: a document parses or throws ParseError; what parses holds
// only UTF-8 strings and unique keys, and written back (quote) parses to the same tree.
#include "fuzz_common.hpp"
#include "json.hpp"

using namespace axon;

namespace {

std::string dump(const json::Value& v) {
  switch (v.kind) {
    case json::Value::Kind::null: return "null";
    case json::Value::Kind::boolean: return v.boolean ? "true" : "false";
    case json::Value::Kind::number: return v.text;
    case json::Value::Kind::string: return json::quote(v.text);
    case json::Value::Kind::array: {
      std::string s = "[";
      for (size_t i = 0; i < v.array.size(); ++i) s += (i ? "," : "") + dump(v.array[i]);
      return s + "]";
    }
    case json::Value::Kind::object: {
      std::string s = "{";
      for (size_t i = 0; i < v.object.size(); ++i)
        s += (i ? "," : "") + json::quote(v.object[i].key) + ":" + dump(v.object[i].value);
      return s + "}";
    }
  }
  return "";
}

bool same(const json::Value& a, const json::Value& b) {
  if (a.kind != b.kind || a.boolean != b.boolean || a.text != b.text || a.array.size() != b.array.size() ||
      a.object.size() != b.object.size())
    return false;
  for (size_t i = 0; i < a.array.size(); ++i)
    if (!same(a.array[i], b.array[i])) return false;
  for (size_t i = 0; i < a.object.size(); ++i)
    if (a.object[i].key != b.object[i].key || !same(a.object[i].value, b.object[i].value)) return false;
  return true;
}

void check_utf8(const json::Value& v) {
  if (!json::valid_utf8(v.text) && v.kind == json::Value::Kind::string) fuzz::invariant_failed("a string is not UTF-8");
  for (const auto& e : v.array) check_utf8(e);
  for (const auto& m : v.object) {
    if (!json::valid_utf8(m.key)) fuzz::invariant_failed("a key is not UTF-8");
    check_utf8(m.value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzz::seed_mode(argc, argv, [](const std::string& dir) {
    // Our writer's headers, and the value kinds it never writes.
    std::string file = to_safetensors(fuzz::sample_tensors(), fuzz::sample_metadata());
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = header_len << 8 | uint8_t(file[size_t(i)]);
    fuzz::write_file(dir + "/header.json", file.substr(8, header_len));
    fuzz::write_file(dir + "/kinds.json", R"({"a":[true,false,null,-1.5e+3,0],"b":{"\u00e9\ud83d\ude00":"\n\t\\\/"}})");
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  json::Value v;
  try {
    v = json::parse(text);
  } catch (const json::ParseError&) {
    return 0;
  }
  check_utf8(v);
  json::Value back;
  try {
    back = json::parse(dump(v));
  } catch (const json::ParseError&) {
    fuzz::invariant_failed("a parsed document, written back, does not parse");
  }
  if (!same(v, back)) fuzz::invariant_failed("a parsed document, written back, parses differently");
  return 0;
}
