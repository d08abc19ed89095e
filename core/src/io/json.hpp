#pragma once
// A minimal JSON reader and string quoting, enough for tensor-file headers (safetensors). Private
// to core: numbers are kept as their text so that 64-bit offsets survive exactly.
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace axon::json {

struct Value {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;  // a string's decoded value, or a number's literal text
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in document order

  const Value* find(std::string_view key) const;  // an object's member, or null
};

// Thrown with the byte offset of the problem; callers add the file name.
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Value parse(std::string_view text);
// A JSON string literal for s (UTF-8 passed through; quotes, backslashes and controls escaped).
std::string quote(std::string_view s);
const char* kind_name(Value::Kind k);

}  // namespace axon::json
