#pragma once
// Internal to the model API: a node's builder arguments as JSON (Node::spec), written by the builder
// and read back by load_model (model_file.cpp) to call the same builder again. One field list per
// options struct (fields() below) serves both directions, so writer and reader cannot drift apart.
// Options that are Models (mask, hidden_state) are inputs of the node: the spec records whether they
// are set, the reader takes them from the node's inputs in order.
#include "graph.hpp"

#include "../../../core/src/io/json.hpp"

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace axon::detail {

// ---- enum spellings (the same as the summary's option values)
template <class E>
struct EnumNames;
#define AXON_ENUM_NAMES(E, ...)                                           \
  template <>                                                             \
  struct EnumNames<E> {                                                   \
    static const std::vector<std::pair<E, const char*>>& get() {         \
      static const std::vector<std::pair<E, const char*>> v{__VA_ARGS__}; \
      return v;                                                           \
    }                                                                     \
  };
AXON_ENUM_NAMES(Channels, {Channels::last, "last"}, {Channels::first, "first"})
AXON_ENUM_NAMES(layers::MomentumConvention, {layers::MomentumConvention::pytorch, "pytorch"},
                {layers::MomentumConvention::axon, "axon"})
AXON_ENUM_NAMES(layers::RmsUpcast, {layers::RmsUpcast::normalization, "normalization"}, {layers::RmsUpcast::all, "all"})
AXON_ENUM_NAMES(layers::Unroll, {layers::Unroll::static_unroll, "static_unroll"},
                {layers::Unroll::dynamic_unroll, "dynamic_unroll"})
AXON_ENUM_NAMES(InitialState, {InitialState::zeros, "zeros"}, {InitialState::random, "random"})
AXON_ENUM_NAMES(layers::ResizeMethod, {layers::ResizeMethod::nearest, "nearest"},
                {layers::ResizeMethod::bilinear, "bilinear"}, {layers::ResizeMethod::bicubic, "bicubic"},
                {layers::ResizeMethod::lanczos3, "lanczos3"}, {layers::ResizeMethod::lanczos5, "lanczos5"})
#undef AXON_ENUM_NAMES

template <class E>
const char* enum_name(E e) {
  for (const auto& [v, n] : EnumNames<E>::get())
    if (v == e) return n;
  return "?";
}

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <>
struct IsVector<SpatialSizes> : std::true_type {};  // kernel_size and friends: a list in the file
template <class T>
struct IsPair : std::false_type {};
template <class A, class B>
struct IsPair<std::pair<A, B>> : std::true_type {};

// Builds one JSON object: SpecWriter()("units", 3).options(o).str().
class SpecWriter {
 public:
  template <class T>
  SpecWriter& operator()(const char* key, const T& v) {
    if (!out_.empty()) out_ += ", ";
    out_ += json::quote(key) + ": ";
    put(v);
    return *this;
  }
  template <class O>
  SpecWriter& options(const O& o) {
    O copy = o;  // fields() takes the struct by reference for the reader's sake
    fields(*this, copy);
    return *this;
  }
  // A value that is JSON text already (a nested spec or graph).
  SpecWriter& raw(const char* key, const std::string& json_text) {
    if (!out_.empty()) out_ += ", ";
    out_ += json::quote(key) + ": " + json_text;
    return *this;
  }
  std::string str() const { return "{" + out_ + "}"; }

 private:
  template <class T>
  void put(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      out_ += v ? "true" : "false";
    } else if constexpr (std::is_enum_v<T>) {
      out_ += json::quote(enum_name(v));
    } else if constexpr (std::is_integral_v<T>) {
      out_ += std::to_string(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      put_double(static_cast<double>(v));
    } else if constexpr (std::is_same_v<T, std::string>) {
      out_ += json::quote(v);
    } else if constexpr (std::is_same_v<T, std::vector<Model>>) {
      out_ += std::to_string(v.size());  // how many inputs it added
    } else if constexpr (std::is_same_v<T, Model>) {
      out_ += v.defined() ? "true" : "false";
    } else if constexpr (IsVector<T>::value) {
      out_ += "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out_ += ", ";
        put(v[i]);
      }
      out_ += "]";
    } else if constexpr (IsPair<T>::value) {
      out_ += "[";
      put(v.first);
      out_ += ", ";
      put(v.second);
      out_ += "]";
    } else {
      put_special(v);
    }
  }
  void put_double(double v);  // shortest round-trip digits; "inf", "-inf", "nan" as strings
  void put_special(const Initializer& i);
  void put_special(const Padding& p);
  void put_special(const Activation& a);  // a function is written as "<function>": refused on load
  std::string out_;
};

// Reads a spec back, checking every value's JSON type; errors start with `who` ("dense_0 (dense)").
class SpecReader {
 public:
  SpecReader(const json::Value& spec, std::vector<Model> inputs, std::string who);
  // The next input of the node, in the builder's order.
  Model input();
  std::vector<Model> rest();  // every input not taken yet
  // Missing keys keep the default (fields added later read older files).
  template <class T>
  SpecReader& operator()(const char* key, T& v) {
    const json::Value* x = spec_.find(key);
    if (!x) return *this;
    read_.push_back(key);
    get(*x, v, key);
    return *this;
  }
  template <class O>
  SpecReader& options(O& o) {
    fields(*this, o);
    return *this;
  }
  // Throws if the spec has keys no field read or inputs were left over.
  void finish() const;
  // Throws if the spec has keys no field read (so far).
  void check_keys() const;
  // Whether reading failed (a value of the wrong type, too few inputs), as opposed to the builder.
  bool failed() const { return failed_; }
  const std::string& who() const { return who_; }

 private:
  template <class T>
  void get(const json::Value& x, T& v, const char* key) {
    if constexpr (std::is_same_v<T, bool>) {
      expect(x, json::Value::Kind::boolean, key);
      v = x.boolean;
    } else if constexpr (std::is_enum_v<T>) {
      expect(x, json::Value::Kind::string, key);
      for (const auto& [e, n] : EnumNames<T>::get())
        if (x.text == n) {
          v = e;
          return;
        }
      bad(key, "\"" + x.text + "\" is not one of its values");
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      v = static_cast<uint64_t>(integer(x, key, true));
    } else if constexpr (std::is_integral_v<T>) {
      v = static_cast<T>(integer(x, key, false));
    } else if constexpr (std::is_floating_point_v<T>) {
      v = static_cast<T>(number(x, key));
    } else if constexpr (std::is_same_v<T, std::string>) {
      expect(x, json::Value::Kind::string, key);
      v = x.text;
    } else if constexpr (std::is_same_v<T, std::vector<Model>>) {
      const int64_t n = integer(x, key, false);
      if (n < 0 || n > 16) bad(key, "a count of inputs must be 0..16");
      v.clear();
      for (int64_t i = 0; i < n; ++i) v.push_back(input());
    } else if constexpr (std::is_same_v<T, Model>) {
      expect(x, json::Value::Kind::boolean, key);
      v = x.boolean ? input() : Model();
    } else if constexpr (IsVector<T>::value) {
      expect(x, json::Value::Kind::array, key);
      v.assign(x.array.size(), {});
      for (size_t i = 0; i < x.array.size(); ++i) get(x.array[i], v[i], key);
    } else if constexpr (IsPair<T>::value) {
      expect(x, json::Value::Kind::array, key);
      if (x.array.size() != 2) bad(key, "expected a pair [a, b]");
      get(x.array[0], v.first, key);
      get(x.array[1], v.second, key);
    } else {
      get_special(x, v, key);
    }
  }
  void get_special(const json::Value& x, Initializer& v, const char* key);
  void get_special(const json::Value& x, Padding& v, const char* key);
  void get_special(const json::Value& x, Activation& v, const char* key);
  int64_t integer(const json::Value& x, const char* key, bool is_unsigned);
  double number(const json::Value& x, const char* key);
  void expect(const json::Value& x, json::Value::Kind kind, const char* key);
  [[noreturn]] void bad(const char* key, const std::string& why);

  const json::Value& spec_;
  std::vector<Model> inputs_;
  size_t next_ = 0;
  std::vector<std::string> read_;  // the keys asked for
  bool failed_ = false;
  std::string who_;
};

// ---- the fields of each options struct, in declaration order. `name` is not among them (the node's
// own name is saved), nor an appended `activation` (that is a node of its own).
template <class V>
void fields(V& v, NameOptions&) {}
template <class V>
void fields(V& v, DenseOptions& o) {
  v("use_bias", o.use_bias)("kernel_initializer", o.kernel_initializer)("bias_initializer", o.bias_initializer);
}
template <class V>
void fields(V& v, EmbeddingOptions& o) {
  v("kernel_initializer", o.kernel_initializer);
}
template <class V>
void fields(V& v, BiasOptions& o) {
  v("bias_initializer", o.bias_initializer);
}
template <class V>
void fields(V& v, ConvLayerOptions& o) {
  v("kernel_size", o.kernel_size)("strides", o.strides)("padding", o.padding)("input_dilation", o.input_dilation);
  v("kernel_dilation", o.kernel_dilation)("feature_group_size", o.feature_group_size)("channels", o.channels);
  v("use_bias", o.use_bias)("kernel_initializer", o.kernel_initializer)("bias_initializer", o.bias_initializer);
}
template <class V>
void fields(V& v, DropoutLayerOptions& o) {
  v("rate", o.rate)("channels", o.channels)("axon_semantics", o.axon_semantics);
}
template <class V>
void fields(V& v, PoolLayerOptions& o) {
  v("kernel_size", o.kernel_size)("strides", o.strides)("padding", o.padding)("dilations", o.dilations);
  v("channels", o.channels)("norm", o.norm);
}
template <class V>
void fields(V& v, AdaptivePoolLayerOptions& o) {
  v("output_size", o.output_size)("channels", o.channels)("norm", o.norm);
}
template <class V>
void fields(V& v, GlobalPoolLayerOptions& o) {
  v("keep_axes", o.keep_axes)("channels", o.channels)("norm", o.norm);
}
template <class V>
void fields(V& v, BlurPoolOptions& o) {
  v("channels", o.channels);
}
template <class V>
void fields(V& v, BatchNormLayerOptions& o) {
  v("gamma_initializer", o.gamma_initializer)("beta_initializer", o.beta_initializer)("channel_index", o.channel_index);
  v("epsilon", o.epsilon)("momentum", o.momentum)("convention", o.convention);
}
template <class V>
void fields(V& v, LayerNormLayerOptions& o) {
  v("gamma_initializer", o.gamma_initializer)("beta_initializer", o.beta_initializer)("channel_index", o.channel_index);
  v("epsilon", o.epsilon);
}
template <class V>
void fields(V& v, RmsNormLayerOptions& o) {
  v("gamma_initializer", o.gamma_initializer)("channel_index", o.channel_index)("epsilon", o.epsilon);
  v("shift", o.shift)("upcast", o.upcast);
}
template <class V>
void fields(V& v, PadOptions& o) {
  v("value", o.value)("channels", o.channels);
}
template <class V>
void fields(V& v, ResizeLayerOptions& o) {
  v("method", o.method)("antialias", o.antialias)("channels", o.channels);
}
template <class V>
void fields(V& v, ConcatenateOptions& o) {
  v("axis", o.axis);
}
template <class V>
void fields(V& v, RecurrentLayerOptions& o) {
  v("activation", o.activation)("gate", o.gate)("unroll", o.unroll)("use_bias", o.use_bias);
  v("kernel_initializer", o.kernel_initializer)("hidden_kernel_initializer", o.hidden_kernel_initializer);
  v("bias_initializer", o.bias_initializer)("mask", o.mask)("hidden_state", o.hidden_state);
  v("initial_state", o.initial_state)("recurrent_initializer", o.recurrent_initializer)("seed", o.seed);
  v("return_sequences", o.return_sequences)("bidirectional", o.bidirectional);
}
template <class V>
void fields(V& v, ConvLstmLayerOptions& o) {
  v("kernel_size", o.kernel_size)("strides", o.strides)("padding", o.padding)("unroll", o.unroll);
  v("use_bias", o.use_bias)("kernel_initializer", o.kernel_initializer)("bias_initializer", o.bias_initializer);
  v("mask", o.mask)("hidden_state", o.hidden_state)("initial_state", o.initial_state);
  v("recurrent_initializer", o.recurrent_initializer)("seed", o.seed)("return_sequences", o.return_sequences);
}
template <class V>
void fields(V& v, MultiHeadAttentionLayerOptions& o) {
  v("num_heads", o.num_heads)("causal", o.causal)("mask", o.mask)("dropout_rate", o.dropout_rate);
  v("use_bias", o.use_bias)("kernel_initializer", o.kernel_initializer)("bias_initializer", o.bias_initializer);
}

}  // namespace axon::detail
