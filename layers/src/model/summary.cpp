// summary(): a table of the layers drawn with a full grid, one space of padding, left-aligned cells
// as wide as their widest line and the title centred, then the parameter counts split as Keras
// splits them (trainable, non-trainable = state, total) with their memory.
#include "graph.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace axon {

namespace {

using Cell = std::vector<std::string>;  // one string per line
using Row = std::vector<Cell>;

std::string memory(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

// 101770 -> "101,770"
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

class Table {
 public:
  explicit Table(Row header) : header_(std::move(header)), widths_(header_.size(), 0) { fit(header_); }
  void add(Row row) {
    fit(row);
    rows_.push_back(std::move(row));
  }
  std::string render(const std::string& title) const {
    size_t inner = widths_.size() - 1;
    for (size_t w : widths_) inner += w + 2;
    std::ostringstream os;
    os << '+' << std::string(inner, '-') << "+\n";
    const size_t left = (inner - std::min(inner, title.size())) / 2;
    os << '|' << std::string(left, ' ') << title << std::string(inner - left - title.size(), ' ') << "|\n";
    os << rule('=') << line_rows(header_) << rule('=');
    for (const auto& r : rows_) os << line_rows(r) << rule('-');
    return os.str();
  }

 private:
  void fit(const Row& row) {
    for (size_t c = 0; c < row.size(); ++c)
      for (const auto& l : row[c]) widths_[c] = std::max(widths_[c], l.size());
  }
  std::string rule(char ch) const {
    std::string s = "+";
    for (size_t w : widths_) s += std::string(w + 2, ch) + "+";
    return s + "\n";
  }
  std::string line_rows(const Row& row) const {
    size_t height = 1;
    for (const auto& cell : row) height = std::max(height, cell.size());
    std::string s;
    for (size_t l = 0; l < height; ++l) {
      s += "|";
      for (size_t c = 0; c < widths_.size(); ++c) {
        const std::string text = l < row[c].size() ? row[c][l] : "";
        s += " " + text + std::string(widths_[c] - text.size(), ' ') + " |";
      }
      s += "\n";
    }
    return s;
  }
  Row header_;
  std::vector<Row> rows_;
  std::vector<size_t> widths_;
};

}  // namespace

std::string summary(const Model& model, DType dtype) {
  const auto& g = detail::graph_of(model, "summary");
  Table table({{"Layer"}, {"Inputs"}, {"Output Shape"}, {"Options"}, {"Parameters"}});
  int64_t count[2] = {0, 0}, bytes[2] = {0, 0};  // [trainable, non-trainable (state)]
  std::vector<DType> out_dtype(g.nodes.size(), dtype);  // each layer's output, under its policy
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& node = *g.nodes[i];
    const DType param_dtype = detail::param_dtype(node, dtype);
    Cell inputs, options, params;
    for (const auto& in : node.inputs) inputs.push_back(g.name_of(in.get()));
    for (const auto& [k, v] : node.options) options.push_back(k + "=" + v);
    const bool first = g.by_name.at(g.names[i]) == i;  // a block's parameters count once
    for (const auto& p : node.params) {
      params.push_back(p.name + ": " + detail::show_typed(p.shape, param_dtype));
      if (!first) continue;
      const int64_t n = numel(p.shape);
      int64_t b = 0;
      AXON_CHECK(!__builtin_mul_overflow(n, static_cast<int64_t>(itemsize(param_dtype)), &b) &&
                     !__builtin_add_overflow(count[p.state], n, &count[p.state]) &&
                     !__builtin_add_overflow(bytes[p.state], b, &bytes[p.state]),
                 "summary", "the parameter count of layer \"{}\" overflows 64 bits", g.names[i]);
    }
    // Without a cast the first input's dtype flows on.
    DType flow = node.inputs.empty() ? dtype : out_dtype[g.position.at(node.inputs[0].get())];
    if (node.precision && node.precision->f32) {
      if (flow == DType::bf16 || flow == DType::f16) flow = DType::f32;
    } else if (node.precision) {
      const Policy& pol = node.precision->policy;
      flow = pol.output ? *pol.output : pol.compute ? *pol.compute : flow;
    }
    out_dtype[i] = flow;
    table.add({{fmt::format("{} ({})", g.names[i], node.op)}, inputs, {detail::show_typed(node.shape, out_dtype[i])},
               options, params});
  }
  const auto line = [](const char* what, int64_t n, int64_t b) {
    return fmt::format("{}: {} ({})\n", what, grouped(n), memory(b));
  };
  int64_t total = 0, total_bytes = 0;
  AXON_CHECK(!__builtin_add_overflow(count[0], count[1], &total) &&
                 !__builtin_add_overflow(bytes[0], bytes[1], &total_bytes),
             "summary", "the parameter count overflows 64 bits");
  return table.render("Model") + line("Total params", total, total_bytes) +
         line("Trainable params", count[0], bytes[0]) + line("Non-trainable params", count[1], bytes[1]);
}

}  // namespace axon
