// ONNX Einsum for onnx::import_model (the export writes axon's bilinear as one): every operand is
// aligned to one axis per label, the operands multiplied pairwise with broadcasting, and each label
// summed out as soon as no later operand and not the output has it. Repeated labels within one
// operand (diagonals) are not supported.
#include <algorithm>
#include <cctype>

#include <axon/error.hpp>
#include <axon/ops.hpp>

#include "import_ops.hpp"

namespace axon::onnx::detail {

namespace {

using Outs = std::vector<Tensor>;

std::string strip_spaces(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

std::vector<std::string> split_terms(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == ',')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

// A term's labels with "..." replaced by the ellipsis labels '0'.. (digits are never einsum labels),
// right-aligned among `ellipsis` of them for a term whose ellipsis covers `covered` dims.
std::string expand_term(const std::string& term, int64_t covered, int64_t ellipsis, const std::string& who) {
  const size_t at = term.find("...");
  std::string labels = term;
  if (at != std::string::npos) {
    std::string e;
    for (int64_t k = ellipsis - covered; k < ellipsis; ++k) e += static_cast<char>('0' + k);
    labels = term.substr(0, at) + e + term.substr(at + 3);
  }
  for (char c : labels)
    AXON_CHECK(std::isalpha(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)), kImport,
               "{}: the term \"{}\" has an invalid label '{}'", who, term, c);
  return labels;
}

OpImpl make_einsum(const Attrs& a) {
  const std::string equation = strip_spaces(a.s("equation", ""));
  AXON_CHECK(!equation.empty(), kImport, "{}: equation is required", a.who());
  return {[=, who = a.who()](const Outs& in, OpRun&) -> Outs {
    const size_t arrow = equation.find("->");
    const std::vector<std::string> terms = split_terms(equation.substr(0, arrow));
    AXON_CHECK(terms.size() == in.size(), kImport, "{}: the equation has {} operands, the node {}", who, terms.size(),
               in.size());
    std::vector<int64_t> covered(in.size());
    int64_t ellipsis = 0;
    for (size_t k = 0; k < terms.size(); ++k) {
      AXON_CHECK(in[k].defined(), kImport, "{}: operand {} is missing", who, k);
      const bool has = terms[k].find("...") != std::string::npos;
      const int64_t letters = static_cast<int64_t>(terms[k].size()) - (has ? 3 : 0);
      covered[k] = has ? in[k].dim() - letters : 0;
      AXON_CHECK(covered[k] >= 0 && (has || letters == in[k].dim()), kImport, "{}: term \"{}\" does not fit operand {}",
                 who, terms[k], describe(in[k]));
      ellipsis = std::max(ellipsis, covered[k]);
    }
    AXON_CHECK(ellipsis <= 10, kImport, "{}: too many ellipsis dims", who);
    std::vector<std::string> labels;
    std::string all;  // every label, in order of first appearance
    for (size_t k = 0; k < terms.size(); ++k) {
      labels.push_back(expand_term(terms[k], covered[k], ellipsis, who));
      for (char c : labels.back()) {
        AXON_CHECK(std::count(labels.back().begin(), labels.back().end(), c) == 1, kImport,
                   "{}: a label repeated within one operand (a diagonal) is not supported", who);
        if (all.find(c) == std::string::npos) all += c;
      }
    }
    std::string out;
    if (arrow != std::string::npos) {
      out = expand_term(equation.substr(arrow + 2), ellipsis, ellipsis, who);
    } else {  // implicit: the ellipsis, then the labels used once, alphabetically
      std::string once;
      for (char c : all) {
        int uses = 0;
        for (const auto& l : labels) uses += static_cast<int>(std::count(l.begin(), l.end(), c));
        if (std::isdigit(static_cast<unsigned char>(c)))
          out += c;
        else if (uses == 1)
          once += c;
      }
      std::sort(once.begin(), once.end());
      out += once;
    }
    for (char c : out)
      AXON_CHECK(all.find(c) != std::string::npos, kImport, "{}: output label '{}' is no operand's", who, c);
    // Operand k with one axis per label of `all` (size 1 where it has none).
    auto aligned = [&](size_t k) {
      std::vector<int64_t> order;
      Shape shape;
      for (char c : all) {
        const size_t at = labels[k].find(c);
        if (at != std::string::npos) order.push_back(static_cast<int64_t>(at));
        shape.push_back(at == std::string::npos ? 1 : in[k].shape()[at]);
      }
      return reshape(permute(in[k], order), shape);
    };
    auto needed_after = [&](char c, size_t k) {
      if (out.find(c) != std::string::npos) return true;
      for (size_t j = k + 1; j < labels.size(); ++j)
        if (labels[j].find(c) != std::string::npos) return true;
      return false;
    };
    Tensor acc;
    std::string summed;
    for (size_t k = 0; k < labels.size(); ++k) {
      if (k > 0) {  // the broadcast product must stay within bounds
        const Tensor next = aligned(k);
        Shape both(all.size());
        for (size_t d = 0; d < all.size(); ++d) both[d] = std::max(acc.shape()[d], next.shape()[d]);
        checked_shape(both, who);
        acc = mul(acc, next);
      } else {
        acc = aligned(0);
      }
      Axes done;
      for (size_t d = 0; d < all.size(); ++d)
        if (summed.find(all[d]) == std::string::npos && !needed_after(all[d], k)) {
          done.push_back(static_cast<int64_t>(d));
          summed += all[d];
        }
      if (!done.empty()) acc = sum(acc, done, true);
    }
    Shape kept;
    std::string kept_labels;
    for (size_t d = 0; d < all.size(); ++d)
      if (summed.find(all[d]) == std::string::npos) {
        kept.push_back(acc.shape()[d]);
        kept_labels += all[d];
      }
    acc = reshape(acc, kept);
    std::vector<int64_t> order;
    for (char c : out) order.push_back(static_cast<int64_t>(kept_labels.find(c)));
    return {order.empty() ? acc : permute(acc, order)};
  }};
}

}  // namespace

void add_einsum_ops(std::map<std::string, OpFactory>& ops) { ops["Einsum"] = make_einsum; }

}  // namespace axon::onnx::detail
