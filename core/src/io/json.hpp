#pragma once
// A minimal JSON reader and string quoting, enough for tensor-file headers (safetensors). Private
// to core: numbers are kept as their text so that 64-bit offsets survive exactly.
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace axon::json {

struct Member;

struct Value {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;  // a string's decoded value, or a number's literal text
  std::vector<Value> array;
  // In document order. Not pair<string, Value>: libstdc++'s pair needs Value complete here, which
  // clang (the fuzz build) enforces.
  std::vector<Member> object;

  const Value* find(std::string_view key) const;  // an object's member, or null
};

struct Member {
  std::string key;
  Value value;
};

// Thrown with the byte offset of the problem; callers add the file name.
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// An object with two members of one name (which other readers resolve differently).
struct DuplicateKeyError : ParseError {
  DuplicateKeyError(std::string k, const std::string& what) : ParseError(what), key(std::move(k)) {}
  std::string key;
};

// Strings must be UTF-8 (as RFC 8259 demands; \u escapes are decoded to UTF-8) and no object may
// repeat a key.
Value parse(std::string_view text);
// The length of the well-formed UTF-8 sequence s starts with (no overlongs, surrogates or code
// points past U+10FFFF), or 0.
size_t utf8_sequence_length(std::string_view s);
bool valid_utf8(std::string_view s);
// A JSON string literal for s (UTF-8 passed through; quotes, backslashes and controls escaped).
std::string quote(std::string_view s);
const char* kind_name(Value::Kind k);

}  // namespace axon::json
