// Inference convolution on oneDNN (conv_infer.hpp).
#include <axon/kernels/conv_infer.hpp>

#include "winograd_conv_select.hpp"

#ifdef AXON_HAS_DNNL
#include <algorithm>
#include <string>
#include <cstring>
#include <vector>

#include "dnnl_conv_desc.hpp"
#include "infer_parts.hpp"
#include <axon/kernels/seen_values.hpp>

namespace axon::kernels::cpu {

namespace {

using dnnl::memory;
using Args = std::unordered_map<int, memory>;

// Below this many flops a part does not repay waking a thread (~10 us of work).
constexpr double kConvFlopsPerPart = 1.5e6;

using onednn::conv_activation;
using onednn::mem;

// A part of the work: items [n0, n0 + n), output rows [r0, r1) of the first spatial dim.
struct Part {
  int64_t n0, n, r0, r1;
};

// Parts over the batch when it has at least `count` items, else over each item's output rows.
std::vector<Part> split(int64_t batch, int64_t out_rows, int count) {
  std::vector<Part> parts;
  if (batch >= count || out_rows < 2) {
    count = static_cast<int>(std::min<int64_t>(count, batch));
    for (int i = 0; i < count; ++i) {
      const int64_t b = batch * i / count, e = batch * (i + 1) / count;
      parts.push_back({b, e - b, 0, out_rows});
    }
    return parts;
  }
  const int64_t per_item = std::min<int64_t>(std::max<int64_t>(count / batch, 1), out_rows);
  for (int64_t item = 0; item < batch; ++item)
    for (int64_t i = 0; i < per_item; ++i)
      parts.push_back({item, 1, out_rows * i / per_item, out_rows * (i + 1) / per_item});
  return parts;
}

}  // namespace

class InferConvImpl {
 public:
  InferConvImpl(const ConvGeometry& g, bool bias, bool relu, int count) : g_(g), bias_(bias) {
    using namespace dnnl;
    onednn::OneOmpThread one;  // the primitives' thread split is fixed when they are created
    const int nd = g.nd;
    w_user_ = onednn::conv_kernel(g);
    const memory::desc w_any = onednn::any_layout(w_user_), b_md = onednn::conv_bias(g);
    auto [strides, dil, lo, hi] = onednn::conv_window(g);
    const primitive_attr attr = onednn::attr_relu(relu);
    const int64_t in_item = g.in_pixels() * g.channels, out_item = g.out_pixels() * g.out_channels;
    const int64_t in_row = in_item / g.in[0], out_row = out_item / g.out[0];
    const int64_t span = (g.kernel[0] - 1) * g.k_dil[0] + 1;
    for (const Part& p : split(g.batch, g.out[0], count)) {
      // The input rows the output rows read, and the padding that is left of them.
      const int64_t first = p.r0 * g.stride[0] - g.pad_lo[0], end = (p.r1 - 1) * g.stride[0] - g.pad_lo[0] + span;
      const int64_t in0 = std::max<int64_t>(first, 0);
      // Several items: all their rows, though the windows may stop short of the last (ResNet's 1x1
      // stride-2 shortcut reads 15 of 16), so that they lie one item apart; oneDNN's output size
      // rounds the spare rows away, as the conv's own does.
      const int64_t in1 = p.n > 1 ? g.in[0] : std::min<int64_t>(end, g.in[0]);
      lo[0] = in0 - first;
      hi[0] = std::max<int64_t>(end - in1, 0);
      Piece piece;
      piece.x_offset = p.n0 * in_item + in0 * in_row;
      piece.y_offset = p.n0 * out_item + p.r0 * out_row;
      piece.x = conv_activation(nd, g.in, in1 - in0, p.n, g.channels);
      piece.y = conv_activation(nd, g.out, p.r1 - p.r0, p.n, g.out_channels);
      const convolution_forward::primitive_desc pd(
          convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, piece.x, w_any,
                                    bias ? b_md : memory::desc(), piece.y, strides, dil, lo, hi),
          attr, onednn::engine());
      // oneDNN's reference kernel is 10-100x slower than the conv's own paths: leave the layer to them.
      if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) reference_ = true;
      piece.pd = pd;
      piece.prim = convolution_forward(pd);
      piece.w = pd.weights_desc();
      pieces_.push_back(std::move(piece));
    }
    // One buffer per distinct kernel layout; pieces of one shape share it.
    for (Piece& p : pieces_) {
      auto same = std::find_if(layouts_.begin(), layouts_.end(), [&](const Layout& l) { return l.md == p.w; });
      if (same == layouts_.end()) {
        Layout l{p.w, {}, {}, {}, p.w == w_user_};
        if (!l.plain) {
          l.buf.resize(p.w.get_size() / sizeof(float));
          l.reorder_pd = reorder::primitive_desc(onednn::engine(), w_user_, onednn::engine(), p.w, onednn::attr());
          l.reorder = reorder(l.reorder_pd);
        }
        layouts_.push_back(std::move(l));
        same = layouts_.end() - 1;
      }
      p.layout = static_cast<size_t>(same - layouts_.begin());
    }
    // Each piece's arguments made once (its own scratchpad: a piece may run on any pool thread);
    // a call only points them at its data.
    for (Piece& p : pieces_) {
      const Layout& l = layouts_[p.layout];
      p.scratch.resize(p.pd.scratchpad_desc().get_size());
      p.args = {{DNNL_ARG_SRC, mem(p.x, nullptr)},
                {DNNL_ARG_WEIGHTS, mem(l.md, l.plain ? nullptr : l.buf.data())},
                {DNNL_ARG_DST, mem(p.y, nullptr)},
                {DNNL_ARG_SCRATCHPAD, mem(p.pd.scratchpad_desc(), p.scratch.data())}};
      if (bias) p.args.insert({DNNL_ARG_BIAS, mem(b_md, nullptr)});
    }
  }

  bool ok() const { return !pieces_.empty() && !reference_; }
  int parts() const { return static_cast<int>(pieces_.size()); }

  // Where the Winograd kernel applies, it or the primitive, whichever WinogradChoice picks.
  std::unique_ptr<WinogradChoice> winograd;

  void run(const float* x, const float* w, const float* b, float* y) {
    if (!winograd) return run_primitive(x, w, b, y);
    winograd->run(x, w, b, y, [this](const float* x, const float* w, const float* b, float* y) { run_primitive(x, w, b, y); });
  }

  void run_primitive(const float* x, const float* w, const float* b, float* y) {
    // The kernel is reordered when its values differ from the last call's (plain layouts read it
    // where it is, and need no comparison).
    const size_t wn = static_cast<size_t>(g_.kernel_pixels() * g_.channels * g_.out_channels);
    const bool reordered = std::any_of(layouts_.begin(), layouts_.end(), [](const Layout& l) { return !l.plain; });
    const bool changed = reordered && seen_.changed(w, wn);
    for (Layout& l : layouts_) {
      if (l.plain || !changed) continue;
      Args args{{DNNL_ARG_FROM, mem(w_user_, w)}, {DNNL_ARG_TO, mem(l.md, l.buf.data())}};
      onednn::add_scratchpad(l.reorder_pd, args);
      onednn::execute(l.reorder, args);
    }
    parallel_for(static_cast<int64_t>(pieces_.size()), 1, [&](int64_t p0, int64_t p1) {
      for (int64_t i = p0; i < p1; ++i) {
        Piece& p = pieces_[static_cast<size_t>(i)];
        p.args.at(DNNL_ARG_SRC).set_data_handle(const_cast<float*>(x + p.x_offset));
        p.args.at(DNNL_ARG_DST).set_data_handle(y + p.y_offset);
        if (layouts_[p.layout].plain) p.args.at(DNNL_ARG_WEIGHTS).set_data_handle(const_cast<float*>(w));
        if (bias_) p.args.at(DNNL_ARG_BIAS).set_data_handle(const_cast<float*>(b));
        onednn::execute(p.prim, p.args);
      }
    });
  }

 private:
  struct Piece {
    int64_t x_offset = 0, y_offset = 0;
    memory::desc x, y, w;
    dnnl::convolution_forward::primitive_desc pd;
    dnnl::primitive prim;
    size_t layout = 0;
    std::vector<unsigned char> scratch;
    Args args;
  };
  struct Layout {
    memory::desc md;
    std::vector<float> buf;
    dnnl::reorder::primitive_desc reorder_pd;
    dnnl::reorder reorder;
    bool plain = false;
  };
  ConvGeometry g_;
  bool bias_;
  memory::desc w_user_;
  std::vector<Piece> pieces_;
  std::vector<Layout> layouts_;
  SeenValues seen_;  // the kernel's values at the last reorder
  bool reference_ = false;
};

InferConv::InferConv(std::unique_ptr<InferConvImpl> impl) : impl_(std::move(impl)) {}
InferConv::~InferConv() = default;
void InferConv::run(const float* x, const float* w, const float* b, float* y) { impl_->run(x, w, b, y); }
int InferConv::parts() const { return impl_->parts(); }

std::unique_ptr<InferConv> make_infer_conv(const ConvGeometry& g, bool bias, bool relu, int parts) {
  if (g.groups != 1 || !onednn::conv_supported(g)) return nullptr;
  const double flops = 2.0 * double(g.batch) * double(g.out_pixels()) * double(g.out_channels) *
                       double(g.kernel_pixels()) * double(g.channels);
  try {  // nullptr when oneDNN has no primitive for the problem
    auto impl = std::make_unique<InferConvImpl>(g, bias, relu, infer_parts(parts, flops, kConvFlopsPerPart));
    if (impl->ok()) {
      impl->winograd = WinogradChoice::make(g, bias, relu, parts);
      return std::make_unique<InferConv>(std::move(impl));
    }
  } catch (const dnnl::error&) {
  }
  return nullptr;
}

}  // namespace axon::kernels::cpu

#else  // without oneDNN: predict's plans run these layers' own forwards, but where the Winograd
       // kernel applies, it or im2col + GEMM (the layer's own path), whichever WinogradChoice picks

namespace axon::kernels::cpu {
class InferConvImpl {
 public:
  InferConvImpl(const ConvGeometry& g, bool relu, std::unique_ptr<WinogradChoice> winograd)
      : g_(g), relu_(relu), winograd_(std::move(winograd)) {}
  void run(const float* x, const float* w, const float* b, float* y) {
    winograd_->run(x, w, b, y, [this](const float* x, const float* w, const float* b, float* y) {
      conv_forward_epilogue_best(DType::f32, x, w, b, relu_ ? DenseAct::relu : DenseAct::none, y, g_);
    });
  }
  int parts() const { return winograd_->parts(); }

 private:
  ConvGeometry g_;
  bool relu_;
  std::unique_ptr<WinogradChoice> winograd_;
};
InferConv::InferConv(std::unique_ptr<InferConvImpl> impl) : impl_(std::move(impl)) {}
InferConv::~InferConv() = default;
void InferConv::run(const float* x, const float* w, const float* b, float* y) { impl_->run(x, w, b, y); }
int InferConv::parts() const { return impl_->parts(); }
std::unique_ptr<InferConv> make_infer_conv(const ConvGeometry& g, bool bias, bool relu, int parts) {
  auto winograd = WinogradChoice::make(g, bias, relu, parts);
  if (!winograd) return nullptr;
  return std::make_unique<InferConv>(std::make_unique<InferConvImpl>(g, relu, std::move(winograd)));
}
}  // namespace axon::kernels::cpu

#endif
