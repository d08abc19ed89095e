// summary(): Axon v0.8's Display.as_table (reference §2d), drawn as TableRex draws it: full grid,
// one space of padding, left-aligned cells as wide as their widest line, the title centred.
#include "graph.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace axon {

namespace {

using Cell = std::vector<std::string>;  // one string per line
using Row = std::vector<Cell>;

std::string memory(int64_t bytes) {
  if (bytes < 1000) return fmt::format("{} bytes", bytes);
  const char* units[] = {"kilobytes", "megabytes", "gigabytes"};
  double v = static_cast<double>(bytes) / 1000;
  int u = 0;
  while (v >= 1000 && u < 2) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
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
  Table table({{"Layer"}, {"Input Shape"}, {"Output Shape"}, {"Options"}, {"Parameters"}});
  int64_t total = 0, bytes = 0;
  std::vector<DType> out_dtype(g.nodes.size(), dtype);  // each layer's output, under its policy
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& node = *g.nodes[i];
    const DType param_dtype = detail::param_dtype(node, dtype);
    // Elixir prints a map's keys sorted, each once.
    std::map<std::string, std::string> parents;
    for (const auto& in : node.inputs) {
      const size_t p = g.position.at(in.get());
      parents[g.names[p]] = fmt::format("\"{}\"", detail::ex_typed(in->shape, out_dtype[p]));
    }
    std::vector<std::string> parts;
    for (const auto& [k, v] : parents) parts.push_back(fmt::format("\"{}\" => {}", k, v));
    Cell options, params;
    for (const auto& [k, v] : node.options) options.push_back(k + ": " + v);
    const bool first = g.by_name.at(g.names[i]) == i;  // a block's parameters count once
    for (const auto& p : node.params) {
      params.push_back(p.name + ": " + detail::ex_typed(p.shape, param_dtype));
      total += first ? numel(p.shape) : 0;
      bytes += first ? numel(p.shape) * static_cast<int64_t>(itemsize(param_dtype)) : 0;
    }
    // Without a cast the first input's dtype flows on (the others, Axon's templates, are alike).
    DType flow = node.inputs.empty() ? dtype : out_dtype[g.position.at(node.inputs[0].get())];
    if (node.precision && node.precision->f32) {
      if (flow == DType::bf16 || flow == DType::f16) flow = DType::f32;
    } else if (node.precision) {
      const Policy& pol = node.precision->policy;
      flow = pol.output ? *pol.output : pol.compute ? *pol.compute : flow;
    }
    out_dtype[i] = flow;
    table.add({{fmt::format("{} ( {} )", g.names[i], node.op)},
               {fmt::format("%{{{}}}", fmt::join(parts, ", "))},
               {detail::ex_typed(node.shape, out_dtype[i])},
               options,
               params});
  }
  return table.render("Model") +
         fmt::format("Total Parameters: {}\nTotal Parameters Memory: {}\n", total, memory(bytes));
}

}  // namespace axon
