#include <charconv>
#include <cmath>
#include <fstream>
#include <vector>

#include <axon/data/pipeline.hpp>

namespace axon::data {
namespace {

std::vector<std::string_view> split(std::string_view line, char delim) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = line.find(delim, start);
    std::string_view f = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t')) f.remove_suffix(1);
    if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
    out.push_back(f);
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

}  // namespace

Source from_csv(const std::string& path, CsvOptions o) {
  std::ifstream in(path);
  AXON_CHECK(in.good(), "from_csv", "{}: cannot open", path);
  std::string line;
  int64_t line_no = 0, columns = -1, label = -1;
  std::vector<float> features;
  std::vector<double> labels;
  auto next_line = [&]() -> bool {
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) return true;
    }
    return false;
  };
  if (o.header) {
    AXON_CHECK(next_line(), "from_csv", "{}: empty file (a header row was expected)", path);
    auto names = split(line, o.delimiter);
    columns = int64_t(names.size());
    if (o.has_label && !o.label_column.empty()) {
      for (size_t c = 0; c < names.size(); ++c)
        if (names[c] == o.label_column) label = int64_t(c);
      AXON_CHECK(label >= 0, "from_csv", "{}: no column named '{}' in the header", path, o.label_column);
    }
  } else {
    AXON_CHECK(o.label_column.empty(), "from_csv", "{}: label_column '{}' needs header = true", path, o.label_column);
  }
  int64_t rows = 0;
  while (next_line()) {
    auto fields = split(line, o.delimiter);
    if (columns < 0) columns = int64_t(fields.size());
    AXON_CHECK(int64_t(fields.size()) == columns, "from_csv", "{}:{}: {} columns, expected {}", path, line_no,
               fields.size(), columns);
    if (label < 0 && o.has_label) {
      label = o.label_index < 0 ? columns + o.label_index : o.label_index;
      AXON_CHECK(label >= 0 && label < columns, "from_csv", "{}: label_index {} outside the {} columns", path,
                 o.label_index, columns);
    }
    for (int64_t c = 0; c < columns; ++c) {
      std::string_view f = fields[size_t(c)];
      double v = 0;
      auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (ec != std::errc() || end != f.data() + f.size() || f.empty()) {
        // from_chars does not take "nan"/"inf" spellings with a sign prefix '+'; anything else is bad data.
        AXON_FAIL("from_csv", "{}:{}: column {}: '{}' is not a number", path, line_no, c + 1, std::string(f));
      }
      if (c == label) {
        AXON_CHECK(o.label_dtype != DType::i64 || (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15),
                   "from_csv", "{}:{}: label '{}' is not an integer class id", path, line_no, std::string(f));
        labels.push_back(v);
      } else {
        features.push_back(float(v));
      }
    }
    ++rows;
  }
  AXON_CHECK(rows > 0, "from_csv", "{}: no data rows", path);
  AXON_CHECK(o.label_dtype == DType::i64 || o.label_dtype == DType::f32, "from_csv",
             "{}: label_dtype must be i64 or f32, got {}", path, dtype_name(o.label_dtype));
  int64_t nf = o.has_label ? columns - 1 : columns;
  AXON_CHECK(nf > 0, "from_csv", "{}: no feature columns", path);
  Tensor x = from_vector(features, {rows, nf});
  Tensor y;
  if (o.has_label) {
    if (o.label_dtype == DType::i64) {
      std::vector<int64_t> ids(labels.begin(), labels.end());
      y = from_vector(ids, {rows});
    } else {
      y = from_vector(std::vector<float>(labels.begin(), labels.end()), {rows});
    }
  }
  return from_tensors(x, y);
}

}  // namespace axon::data
