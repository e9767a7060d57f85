// Private to the gemm family: the register-blocked micro-kernel, its packing routines, the
// small-problem kernel and the FMA-throughput loop, written once over simd.h's vocabulary and
// instantiated by each ISA file (gemm_generic.cpp, gemm_avx2.cpp, gemm_avx512.cpp) under its own
// compiler flags. Include it from exactly those files.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/cpu/gemm_kernels.h"
#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace gemm {

using namespace gemm_detail;

template <class V, int MR, int NV>
struct MicroKernel {
  using reg = typename V::reg;
  static constexpr int W = V::width;
  static constexpr int NR = NV * W;

  // C = acc and C += acc for a full tile of a row-major C.
  template <int R>
  static FN_INLINE void store_full(reg (&acc)[R][NV], float* c, index_t rs_c) {
    FN_UNROLL for (int i = 0; i < R; ++i) FN_UNROLL for (int j = 0; j < NV; ++j)
        V::store(c + i * rs_c + j * W, acc[i][j]);
  }
  template <int R>
  static FN_INLINE void add_full(reg (&acc)[R][NV], float* c, index_t rs_c) {
    FN_UNROLL for (int i = 0; i < R; ++i) FN_UNROLL for (int j = 0; j < NV; ++j) {
      float* p = c + i * rs_c + j * W;
      V::store(p, V::add(V::load(p), acc[i][j]));
    }
  }

  // The epilogue on the finished tile: alpha, beta * C, bias, relu / leaky_relu in registers.
  // Full tiles of a row-major C are read and written in place; edge tiles and other layouts go
  // through a small buffer so no lane ever touches memory outside the m x n tile.
  template <int R>
  static FN_INLINE void store_tile(reg (&acc)[R][NV], float* c, index_t rs_c, index_t cs_c,
                                   index_t m, index_t n, const TileEpilogue& ep) {
    const bool direct = m == R && n == NR && cs_c == 1;
    // The common tile (alpha 1, no bias, no activation; beta 0 or a later K pass's 1): stores,
    // or adds, nothing else (short K makes this epilogue a fair share of the work).
    if (direct && ep.alpha == 1.0f && !ep.bias && ep.act == kTileNone &&
        (ep.beta == 0.0f || ep.beta == 1.0f)) {
      if (ep.beta == 0.0f)
        store_full(acc, c, rs_c);
      else
        add_full(acc, c, rs_c);
      return;
    }
    alignas(64) float tmp[R * NR];
    float* out = c;
    index_t ld = rs_c;
    if (!direct) {
      out = tmp;
      ld = NR;
      std::memset(tmp, 0, sizeof(tmp));
      if (ep.beta != 0.0f)
        for (index_t i = 0; i < m; ++i)
          for (index_t j = 0; j < n; ++j) tmp[i * NR + j] = c[i * rs_c + j * cs_c];
    }
    reg bias[NV];
    if (ep.bias) {
      alignas(64) float bias_pad[NR] = {};
      const float* bp = ep.bias;
      if (n < NR) {
        for (index_t j = 0; j < n; ++j) bias_pad[j] = ep.bias[j];
        bp = bias_pad;
      }
      FN_UNROLL for (int j = 0; j < NV; ++j) bias[j] = V::load(bp + j * W);
    } else {
      FN_UNROLL for (int j = 0; j < NV; ++j) bias[j] = V::zero();
    }
    const reg alpha = V::set1(ep.alpha), beta = V::set1(ep.beta);
    const reg slope = V::set1(ep.act_param), zero = V::zero();
    const bool use_beta = ep.beta != 0.0f;
    FN_UNROLL for (int i = 0; i < R; ++i) {
      FN_UNROLL for (int j = 0; j < NV; ++j) {
        float* p = out + i * ld + j * W;
        reg v = V::mul(acc[i][j], alpha);
        if (use_beta) v = V::fmadd(V::load(p), beta, v);
        v = V::add(v, bias[j]);
        if (ep.act == kTileReLU) v = V::max(zero, v);
        else if (ep.act == kTileLeakyReLU) v = V::leaky(v, slope);
        V::store(p, v);
      }
    }
    if (!direct)
      for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) c[i * rs_c + j * cs_c] = tmp[i * NR + j];
  }

  // B(k, j) = b[k * rs_b + j]: a packed micro-panel (rs_b == NR) or, for short M, B itself.
  // Packed A and B: the inner loop is one broadcast per row and NV loads of B per k.
  // R <= MR rows are computed (R = MR but for the last rows of C, so no FMA is wasted there).
  template <int R>
  static void packed(index_t kc, const float* FN_RESTRICT a, const float* FN_RESTRICT b,
                     index_t rs_b, float* c, index_t rs_c, index_t cs_c, index_t m, index_t n,
                     const TileEpilogue& ep) {
    reg acc[R][NV];
    FN_UNROLL for (int i = 0; i < R; ++i) FN_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
    for (int i = 0; i < R; ++i) V::prefetch(c + (i < m ? i : 0) * rs_c);
    for (index_t k = 0; k < kc; ++k) {
      V::prefetch(b + 8 * rs_b);
      reg bv[NV];
      FN_UNROLL for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
      FN_UNROLL for (int i = 0; i < R; ++i) {
        const reg av = V::bcast(a + i);
        FN_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
      }
      a += MR;
      b += rs_b;
    }
    store_tile(acc, c, rs_c, cs_c, m, n, ep);
  }

  template <int R>
  static void packed_row(index_t kc, const float* a, const float* const* b, index_t count,
                         const float* b_in_place, index_t rs_in_place, float* c, index_t rs_c,
                         index_t cs_c, index_t n, const TileEpilogue& ep) {
    TileEpilogue tile_ep = ep;
    for (index_t q = 0; q < count; ++q) {
      const index_t j = q * NR;
      tile_ep.bias = ep.bias ? ep.bias + j : nullptr;
      if (b[q])
        packed<R>(kc, a, b[q], NR, c + j * cs_c, rs_c, cs_c, R, n - j < NR ? n - j : NR, tile_ep);
      else
        packed<R>(kc, a, b_in_place + j, rs_in_place, c + j * cs_c, rs_c, cs_c, R,
                  n - j < NR ? n - j : NR, tile_ep);
    }
  }

  // The last rows of a column (m < MR of them), by a compile-time row count.
  template <int R = 1>
  static FN_INLINE void packed_tail(index_t m, index_t kc, const float* a, const float* b,
                                    index_t rs_b, float* c, index_t rs_c, index_t cs_c,
                                    index_t n, const TileEpilogue& ep) {
    if constexpr (R < MR) {
      if (m == R) packed<R>(kc, a, b, rs_b, c, rs_c, cs_c, R, n, ep);
      else packed_tail<R + 1>(m, kc, a, b, rs_b, c, rs_c, cs_c, n, ep);
    }
  }

  static void packed_column(index_t kc, const float* a, index_t mc, const float* b, index_t rs_b,
                            float* c, index_t rs_c, index_t cs_c, index_t n,
                            const TileEpilogue& ep) {
    const index_t slots = (mc + MR - 1) / MR;
    for (index_t q = 0; q < slots; ++q) {
      index_t i, rows;
      panel_slot(mc, MR, q, &i, &rows);
      if (rows == MR) packed<MR>(kc, a + q * MR * kc, b, rs_b, c + i * rs_c, rs_c, cs_c, MR, n, ep);
      else packed_tail(rows, kc, a + q * MR * kc, b, rs_b, c + i * rs_c, rs_c, cs_c, n, ep);
    }
  }

  // A read in place with any strides (the small-problem path, no packing of A). Rows past m
  // re-read row m - 1, so no load leaves A; their results are never stored.
  template <int R>
  static void strided(index_t kc, const float* a, index_t rs_a, index_t cs_a,
                      const float* FN_RESTRICT b, index_t rs_b, float* c, index_t rs_c,
                      index_t cs_c, index_t m, index_t n, const TileEpilogue& ep) {
    const float* row[R];
    FN_UNROLL for (int i = 0; i < R; ++i) row[i] = a + (i < m ? i : m - 1) * rs_a;
    reg acc[R][NV];
    FN_UNROLL for (int i = 0; i < R; ++i) FN_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
    index_t off = 0;
    for (index_t k = 0; k < kc; ++k) {
      reg bv[NV];
      FN_UNROLL for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
      FN_UNROLL for (int i = 0; i < R; ++i) {
        const reg av = V::bcast(row[i] + off);
        FN_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
      }
      off += cs_a;
      b += rs_b;
    }
    store_tile(acc, c, rs_c, cs_c, m, n, ep);
  }

  // B block kc x nc -> micro-panels of NR columns, k-major, zero-padded past nc.
  static void pack_b(index_t kc, index_t nc, const float* b, index_t rs_b, index_t cs_b,
                     float* out) {
    for (index_t j0 = 0; j0 < nc; j0 += NR, out += kc * NR) {
      const index_t nr = nc - j0 < NR ? nc - j0 : NR;
      const float* src = b + j0 * cs_b;
      if (cs_b == 1 && nr == NR) {
        // B's rows lie rs_b apart (often in L3 by now, a new page every few rows, where the
        // hardware prefetcher starts over): ask for them a few rows ahead (measured on Zen 4:
        // 1-4% on the bench's 784-deep products, one thread).
        for (index_t k = 0; k < kc; ++k) {
          FN_UNROLL for (int j = 0; j < NV; ++j) V::prefetch(src + (k + 4) * rs_b + j * W);
          FN_UNROLL for (int j = 0; j < NV; ++j) V::store(out + k * NR + j * W, V::load(src + k * rs_b + j * W));
        }
      } else if (rs_b == 1) {  // columns of B are contiguous: read along k
        index_t k0 = 0;
        if constexpr (V::kTranspose) {
          // W x W blocks: W column loads (zeros past nr), an in-register transpose, W row stores.
          for (; k0 + W <= kc; k0 += W) {
            FN_UNROLL for (int jb = 0; jb < NV; ++jb) {
              reg r[W];
              FN_UNROLL for (int c = 0; c < W; ++c) {
                const index_t j = jb * W + c;
                r[c] = j < nr ? V::load(src + j * cs_b + k0) : V::zero();
              }
              V::transpose(r);
              FN_UNROLL for (int kk = 0; kk < W; ++kk) V::store(out + (k0 + kk) * NR + jb * W, r[kk]);
            }
          }
          if (k0 < kc) {  // the last kc - k0 < W rows of the panel: masked column loads
            const index_t left = kc - k0;
            const typename V::mask rows = V::first_n(left);
            FN_UNROLL for (int jb = 0; jb < NV; ++jb) {
              reg r[W];
              FN_UNROLL for (int c = 0; c < W; ++c) {
                const index_t j = jb * W + c;
                r[c] = j < nr ? V::masked_load(src + j * cs_b + k0, rows) : V::zero();
              }
              V::transpose(r);
              for (index_t kk = 0; kk < left; ++kk) V::store(out + (k0 + kk) * NR + jb * W, r[kk]);
            }
            k0 = kc;
          }
        }
        for (index_t j = 0; j < nr; ++j)
          for (index_t k = k0; k < kc; ++k) out[k * NR + j] = src[j * cs_b + k];
        for (index_t k = k0; k < kc; ++k)
          for (index_t j = nr; j < NR; ++j) out[k * NR + j] = 0.0f;
      } else {
        for (index_t k = 0; k < kc; ++k) {
          for (index_t j = 0; j < nr; ++j) out[k * NR + j] = src[k * rs_b + j * cs_b];
          for (index_t j = nr; j < NR; ++j) out[k * NR + j] = 0.0f;
        }
      }
    }
  }

  // A block mc x kc -> micro-panels of MR rows, k-major, zero-padded past mc.
  static void pack_a(index_t mc, index_t kc, const float* a, index_t rs_a, index_t cs_a,
                     float* out_all) {
    index_t start = 0;  // the first slot of the generic loop below
    const index_t slots = (mc + MR - 1) / MR;
    if constexpr (V::kTranspose && W >= MR) {
      if (rs_a == 1 && mc >= MR) {
        // Columns of A contiguous (the TN form): blocks of KB rows of A^T, and in each, panel
        // by panel, one vector load per k (masked where a whole vector would read past the
        // block's rows) stored along the panel; the KB rows stay in L1 while they are dealt
        // out. A store of W floats spills into the panel's next k, written next; the panel's
        // last k stores only its MR. Dealt out k by k over all panels (one store stream per
        // panel), a TN 784 x 512 A took 3.5x as long (129 us vs 36 us on AVX2, 118 vs 48 on
        // AVX-512, one Zen 4 core); prefetching the next rows made it slower (41 us).
        const index_t panels = tail_split_rows(mc, MR) ? slots - 2 : mc / MR;
        const auto m = V::first_n(MR);
        const index_t whole = mc >= W ? (mc - W) / MR + 1 : 0;  // q * MR + W <= mc
        constexpr index_t KB = 16;
        for (index_t k0 = 0; k0 < kc; k0 += KB) {
          const index_t k1 = k0 + KB < kc ? k0 + KB : kc;
          const index_t kl = W == MR || k1 < kc ? k1 : k1 - 1;  // k in [k0, kl): whole stores
          for (index_t q = 0; q < panels; ++q) {
            const float* src = a + q * MR;
            float* dst = out_all + q * kc * MR;
            if (q < whole) {
              for (index_t k = k0; k < kl; ++k) V::store(dst + k * MR, V::load(src + k * cs_a));
            } else {
              for (index_t k = k0; k < kl; ++k) V::store(dst + k * MR, V::masked_load(src + k * cs_a, m));
            }
            if (kl < k1) V::store_first(dst + kl * MR, V::masked_load(src + kl * cs_a, m), MR);
          }
        }
        start = panels;
      }
    }
    for (index_t q = start; q < slots; ++q) {
      index_t i0, mr;
      panel_slot(mc, MR, q, &i0, &mr);
      float* out = out_all + q * kc * MR;
      const float* src = a + i0 * rs_a;
      if (rs_a == 1 && mr == MR) {  // columns of A are contiguous
        for (index_t k = 0; k < kc; ++k) {  // the rows ahead, as pack_b's (2-4% on a TN 784 x 512 x 256)
          V::prefetch(src + (k + 8) * cs_a);
          V::prefetch(src + (k + 8) * cs_a + MR - 1);
          FN_UNROLL for (int i = 0; i < MR; ++i) out[k * MR + i] = src[k * cs_a + i];
        }
      } else if (mr == MR) {
        const float* rows[MR];
        FN_UNROLL for (int i = 0; i < MR; ++i) rows[i] = src + i * rs_a;
        index_t k0 = 0;
        if constexpr (V::kTranspose && W >= MR) {
          if (cs_a == 1) {  // rows of A are contiguous: transpose W x W blocks in registers
            // Each store writes W >= MR floats; the extra ones land in the next k rows, which
            // are written afterwards; the panel's last row gets only its MR.
            for (; k0 + W <= kc; k0 += W) {
              reg r[W];
              // Two lines ahead on each row (3-6% on NN 784-deep products, one thread).
              FN_UNROLL for (int c = 0; c < MR; ++c) V::prefetch(rows[c] + k0 + 32);
              FN_UNROLL for (int c = 0; c < W; ++c) r[c] = V::load(rows[c < MR ? c : MR - 1] + k0);
              V::transpose(r);
              FN_UNROLL for (int kk = 0; kk + 1 < W; ++kk) V::store(out + (k0 + kk) * MR, r[kk]);
              if (W == MR || k0 + W < kc) V::store(out + (k0 + W - 1) * MR, r[W - 1]);
              else V::store_first(out + (k0 + W - 1) * MR, r[W - 1], MR);
            }
          }
        }
        index_t off = k0 * cs_a;
        for (index_t k = k0; k < kc; ++k, off += cs_a) {
          FN_UNROLL for (int i = 0; i < MR; ++i) out[k * MR + i] = rows[i][off];
        }
      } else {
        for (index_t k = 0; k < kc; ++k) {
          for (index_t i = 0; i < mr; ++i) out[k * MR + i] = src[i * rs_a + k * cs_a];
          for (index_t i = mr; i < MR; ++i) out[k * MR + i] = 0.0f;
        }
      }
    }
  }
};

// The small-problem kernel: no packing, no buffers, vectors along the N columns of a row of C
// (n <= 2 * W, so a row of C is at most two vectors), B read in place by rows
// (B(k, j) = b[k * rs_b + j]), A and C through any strides. Rows are computed R at a time, B
// loads shared, R * NV = 8 independent FMA chains. Each element of C gets exactly the arithmetic
// of the blocked path (packed() and store_tile() above): a sequential sum over k per K pass of
// kb, alpha times it, beta * C in the first pass, later passes added, then bias and activation.
// So the result never depends on which path ran, on M, or on the row's place in a batch.
template <class V>
struct SmallKernel {
  using reg = typename V::reg;
  using mask = typename V::mask;
  static constexpr int W = V::width;

  // What every row shares: the columns, the epilogue in registers, how a row is stored.
  template <int NV>
  struct Rows {
    index_t n;      // columns of C, (NV - 1) * W < n <= NV * W
    index_t tail;   // columns in the last vector
    mask last;      // their lanes
    reg bias[NV];   // zero without a bias
    reg alpha, beta, slope;
    bool use_beta;
    int act;
    index_t cs_c;
    // Dense rows of one vector and beta == 0: a row may be stored as a full vector whose extra
    // lanes spill into the next rows, which are stored after it (and C is never read); this is
    // the last address such a store may reach.
    const float* spill_end;
  };

  // C's row (NV vectors) when beta != 0, its strided columns gathered.
  template <int NV, bool Masked = true>
  static FN_INLINE void load_row(reg (&out)[NV], const Rows<NV>& r, const float* c) {
    alignas(64) float tmp[NV * W];
    const float* src = c;
    if (r.cs_c != 1) {
      for (index_t j = 0; j < r.n; ++j) tmp[j] = c[j * r.cs_c];
      src = tmp;
    }
    FN_UNROLL for (int j = 0; j + 1 < NV; ++j) out[j] = V::load(src + j * W);
    out[NV - 1] = Masked ? V::masked_load(src + (NV - 1) * W, r.last) : V::load(src + (NV - 1) * W);
  }

  // A finished row of C: bias, relu / leaky_relu, stored.
  template <int NV>
  static FN_INLINE void store_row(reg (&v)[NV], const Rows<NV>& r, float* c) {
    FN_UNROLL for (int j = 0; j < NV; ++j) {
      v[j] = V::add(v[j], r.bias[j]);
      if (r.act == kTileReLU) v[j] = V::max(V::zero(), v[j]);
      else if (r.act == kTileLeakyReLU) v[j] = V::leaky(v[j], r.slope);
    }
    if (r.cs_c == 1) {
      FN_UNROLL for (int j = 0; j + 1 < NV; ++j) V::store(c + j * W, v[j]);
      float* cl = c + (NV - 1) * W;
      if (r.tail == W || cl + W <= r.spill_end)
        V::store(cl, v[NV - 1]);
      else
        V::store_first(cl, v[NV - 1], r.tail);
    } else {
      alignas(64) float tmp[NV * W];
      FN_UNROLL for (int j = 0; j < NV; ++j) V::store(tmp + j * W, v[j]);
      for (index_t j = 0; j < r.n; ++j) c[j * r.cs_c] = tmp[j];
    }
  }

  // acc[i] = sum over k in [k0, k1) of A(i, k) B(k, :), in k order.
  template <int R, int NV, bool Masked = true>
  static FN_INLINE void dot_pass(reg (&acc)[R][NV], index_t k0, index_t k1, const float* a,
                                 index_t rs_a, index_t cs_a, const float* b, index_t rs_b,
                                 const Rows<NV>& r) {
    FN_UNROLL for (int i = 0; i < R; ++i) FN_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
    const float* ap = a + k0 * cs_a;
    const float* bp = b + k0 * rs_b;
    for (index_t k = k0; k < k1; ++k, ap += cs_a, bp += rs_b) {
      reg bv[NV];
      FN_UNROLL for (int j = 0; j + 1 < NV; ++j) bv[j] = V::load(bp + j * W);
      bv[NV - 1] = Masked ? V::masked_load(bp + (NV - 1) * W, r.last) : V::load(bp + (NV - 1) * W);
      FN_UNROLL for (int i = 0; i < R; ++i) {
        const reg av = V::bcast(ap + i * rs_a);
        FN_UNROLL for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
      }
    }
  }

  // P whole K passes of kb from k0 side by side: acc[p] is pass p's sum in k order, exactly as
  // dot_pass computes it, but the P * R * NV chains run at once (one or two rows of C over a long
  // K, e.g. a tiny net's dW = x^T dz over the batch, are otherwise bound by the FMA latency).
  template <int P, int R, int NV, bool Masked>
  static FN_INLINE void dot_passes(reg (&acc)[P][R][NV], index_t k0, index_t kb, const float* a,
                                   index_t rs_a, index_t cs_a, const float* b, index_t rs_b,
                                   const Rows<NV>& r) {
    FN_UNROLL for (int p = 0; p < P; ++p) FN_UNROLL for (int i = 0; i < R; ++i)
        FN_UNROLL for (int j = 0; j < NV; ++j) acc[p][i][j] = V::zero();
    const float* ap = a + k0 * cs_a;
    const float* bp = b + k0 * rs_b;
    const index_t pa = kb * cs_a, pb = kb * rs_b;
    for (index_t k = 0; k < kb; ++k, ap += cs_a, bp += rs_b) {
      FN_UNROLL for (int p = 0; p < P; ++p) {
        reg bv[NV];
        const float* bq = bp + p * pb;
        FN_UNROLL for (int j = 0; j + 1 < NV; ++j) bv[j] = V::load(bq + j * W);
        bv[NV - 1] =
            Masked ? V::masked_load(bq + (NV - 1) * W, r.last) : V::load(bq + (NV - 1) * W);
        FN_UNROLL for (int i = 0; i < R; ++i) {
          const reg av = V::bcast(ap + p * pa + i * rs_a);
          FN_UNROLL for (int j = 0; j < NV; ++j) acc[p][i][j] = V::fmadd(av, bv[j], acc[p][i][j]);
        }
      }
    }
  }

  // v = alpha * (the first pass's sum acc) + beta * C (acc may be v itself).
  template <int R, int NV, bool Masked>
  static FN_INLINE void first_pass(reg (&v)[R][NV], const reg (&acc)[R][NV], const float* c,
                                   index_t rs_c, const Rows<NV>& r) {
    FN_UNROLL for (int i = 0; i < R; ++i) {
      reg old[NV];
      if (r.use_beta) load_row<NV, Masked>(old, r, c + i * rs_c);
      FN_UNROLL for (int j = 0; j < NV; ++j) {
        v[i][j] = V::mul(acc[i][j], r.alpha);
        if (r.use_beta) v[i][j] = V::fmadd(old[j], r.beta, v[i][j]);
      }
    }
  }

  // v += alpha * (a later pass's sum acc), the passes in K order.
  template <int R, int NV>
  static FN_INLINE void next_pass(reg (&v)[R][NV], const reg (&acc)[R][NV], const Rows<NV>& r) {
    FN_UNROLL for (int i = 0; i < R; ++i) FN_UNROLL for (int j = 0; j < NV; ++j)
        v[i][j] = V::add(v[i][j], V::mul(acc[i][j], r.alpha));
  }

  // v = the first P whole passes (each of kb), computed side by side, added in order.
  template <int P, int R, int NV, bool Masked>
  static FN_INLINE void side_by_side(reg (&v)[R][NV], index_t kb, const float* a, index_t rs_a,
                                     index_t cs_a, const float* b, index_t rs_b, const float* c,
                                     index_t rs_c, const Rows<NV>& r) {
    reg acc[P][R][NV];
    dot_passes<P, R, NV, Masked>(acc, 0, kb, a, rs_a, cs_a, b, rs_b, r);
    first_pass<R, NV, Masked>(v, acc[0], c, rs_c, r);
    FN_UNROLL for (int p = 1; p < P; ++p) next_pass<R, NV>(v, acc[p], r);
  }

  // Masked = false: all NV vectors of the row are whole (n == NV * W; the sup path's full panels).
  template <int R, int NV, bool Masked = true>
  static FN_INLINE void rows(index_t kc, index_t kb, const float* a, index_t rs_a, index_t cs_a,
                             const float* b, index_t rs_b, float* c, index_t rs_c,
                             const Rows<NV>& r) {
    reg v[R][NV];
    index_t k0 = kc < kb ? kc : kb;  // passes [0, k0) are in v
    if constexpr (R * NV <= 2) {  // few chains: the first whole passes up to four at a time
      if (kc >= 4 * kb) {
        side_by_side<4, R, NV, Masked>(v, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, r);
        k0 = 4 * kb;
      } else if (kc >= 3 * kb) {
        side_by_side<3, R, NV, Masked>(v, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, r);
        k0 = 3 * kb;
      } else if (kc >= 2 * kb) {
        side_by_side<2, R, NV, Masked>(v, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, r);
        k0 = 2 * kb;
      } else {
        dot_pass<R, NV, Masked>(v, 0, k0, a, rs_a, cs_a, b, rs_b, r);
        first_pass<R, NV, Masked>(v, v, c, rs_c, r);
      }
    } else {
      dot_pass<R, NV, Masked>(v, 0, k0, a, rs_a, cs_a, b, rs_b, r);
      first_pass<R, NV, Masked>(v, v, c, rs_c, r);
    }
    for (; k0 < kc; k0 += kb) {  // long K: the blocked path's later passes
      reg acc[R][NV];
      dot_pass<R, NV, Masked>(acc, k0, kc - k0 < kb ? kc : k0 + kb, a, rs_a, cs_a, b, rs_b, r);
      next_pass<R, NV>(v, acc, r);
    }
    FN_UNROLL for (int i = 0; i < R; ++i) store_row<NV>(v[i], r, c + i * rs_c);
  }

  // The rows' shared state for n columns of C whose bias (if any) starts at `bias`.
  template <int NV>
  static FN_INLINE Rows<NV> make_rows(index_t n, const TileEpilogue& ep, const float* bias,
                                      index_t cs_c) {
    Rows<NV> r;
    r.n = n;
    r.tail = n - (NV - 1) * W;
    r.last = V::first_n(r.tail);
    FN_UNROLL for (int j = 0; j < NV; ++j)
      r.bias[j] = !bias ? V::zero()
                  : j + 1 < NV ? V::load(bias + j * W)
                               : V::masked_load(bias + j * W, r.last);
    r.alpha = V::set1(ep.alpha);
    r.beta = V::set1(ep.beta);
    r.slope = V::set1(ep.act_param);
    r.use_beta = ep.beta != 0.0f;
    r.act = ep.act;
    r.cs_c = cs_c;
    r.spill_end = nullptr;
    return r;
  }

  // Row groups of G = 8 / NV (8 independent FMA chains), then the G - 1 or fewer last rows.
  template <int NV, int... Rest>
  static void run(index_t m, index_t n, index_t kc, index_t kb, const float* a, index_t rs_a,
                  index_t cs_a, const float* b, index_t rs_b, float* c, index_t rs_c,
                  index_t cs_c, const TileEpilogue& ep, std::integer_sequence<int, Rest...>) {
    Rows<NV> r = make_rows<NV>(n, ep, ep.bias, cs_c);
    const bool spill = NV == 1 && !r.use_beta && cs_c == 1 && rs_c == n;
    r.spill_end = spill ? c + m * n : nullptr;
    constexpr int G = 8 / NV;
    index_t i = 0;
    for (; i + G <= m; i += G)
      rows<G, NV>(kc, kb, a + i * rs_a, rs_a, cs_a, b, rs_b, c + i * rs_c, rs_c, r);
    const index_t left = m - i;
    a += i * rs_a;
    c += i * rs_c;
    ((left == Rest + 1 ? rows<Rest + 1, NV>(kc, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, r)
                       : void()), ...);
  }

  // One panel of n <= NV * W columns of the sup path: rows MR at a time (the register tile), then
  // the MR - 1 or fewer last ones.
  template <int MR, int NV, bool Masked, int... Rest>
  static void sup_panel(index_t m, index_t n, index_t kc, index_t kb, const float* a, index_t rs_a,
                        index_t cs_a, const float* b, index_t rs_b, float* c, index_t rs_c,
                        index_t cs_c, const TileEpilogue& ep, const float* bias,
                        std::integer_sequence<int, Rest...>) {
    const Rows<NV> r = make_rows<NV>(n, ep, bias, cs_c);
    index_t i = 0;
    for (; i + MR <= m; i += MR)
      rows<MR, NV, Masked>(kc, kb, a + i * rs_a, rs_a, cs_a, b, rs_b, c + i * rs_c, rs_c, r);
    const index_t left = m - i;
    a += i * rs_a;
    c += i * rs_c;
    ((left == Rest + 1 ? rows<Rest + 1, NV, Masked>(kc, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, r)
                       : void()), ...);
  }

  // The last, narrower panel: as many vectors as its columns need (NV of them at most).
  template <int MR, int NV>
  static void sup_last(index_t m, index_t n, index_t kc, index_t kb, const float* a,
                       index_t rs_a, index_t cs_a, const float* b, index_t rs_b, float* c,
                       index_t rs_c, index_t cs_c, const TileEpilogue& ep, const float* bias) {
    if constexpr (NV > 1) {
      if (n <= (NV - 1) * W)
        return sup_last<MR, NV - 1>(m, n, kc, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, cs_c, ep, bias);
    }
    sup_panel<MR, NV, true>(m, n, kc, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, cs_c, ep, bias,
                            std::make_integer_sequence<int, MR - 1>{});
  }

  // The sup path ("small, unpacked"): C of any width in panels of NR = NV * W columns, each
  // panel's rows MR at a time with A read in place; panel q of B is
  // B(k, j) = b[q * panel_stride + k * rs_b + j] (B itself when its rows are contiguous, else a
  // whole-K packing of it). Per element the same arithmetic as the blocked path.
  template <int MR, int NV>
  static void sup(index_t m, index_t n, index_t kc, index_t kb, const float* a, index_t rs_a,
                  index_t cs_a, const float* b, index_t rs_b, index_t panel_stride, float* c,
                  index_t rs_c, index_t cs_c, const TileEpilogue& ep) {
    constexpr index_t NR = NV * W;
    for (index_t j0 = 0, q = 0; j0 < n; j0 += NR, ++q) {
      const float* bias = ep.bias ? ep.bias + j0 : nullptr;
      const float* bq = b + q * panel_stride;
      float* cq = c + j0 * cs_c;
      if (n - j0 >= NR)
        sup_panel<MR, NV, false>(m, NR, kc, kb, a, rs_a, cs_a, bq, rs_b, cq, rs_c, cs_c, ep, bias,
                                 std::make_integer_sequence<int, MR - 1>{});
      else
        sup_last<MR, NV>(m, n - j0, kc, kb, a, rs_a, cs_a, bq, rs_b, cq, rs_c, cs_c, ep, bias);
    }
  }

  // What narrow_rows_k's blocks share: per k the lane spread and B's repeated row, the
  // epilogue in locals (stores to C may alias ep as far as the compiler knows).
  template <int K>
  struct NarrowRows {
    typename V::index spread[K];  // per k: the A element of each lane within the block's two vectors
    reg brep[K];                  // per k: B's row k, once per row of the block
    reg bias, alpha, beta, slope;
    index_t P, n;
  };

  // Block i of narrow_rows_k (P rows of C). Tail: the block may be short, A's two vectors and
  // C's vector may reach past their ends; else they are read and stored whole (a store's extra
  // lanes spill into the next block's rows, written after it, when C is never read).
  template <int K, bool UseBeta, int Act, bool Tail>
  static FN_INLINE void narrow_block(const NarrowRows<K>& s, index_t i, index_t m, const float* a,
                                     float* c) {
    const index_t rows = Tail ? std::min(s.P, m - i) : s.P, span = rows * K, lanes = rows * s.n;
    const float* ab = a + i * K;
    const reg lo = !Tail || span >= W ? V::load(ab) : V::masked_load(ab, V::first_n(span));
    const reg hi = !Tail || span >= 2 * W ? V::load(ab + W)
                   : span > W             ? V::masked_load(ab + W, V::first_n(span - W))
                                          : V::zero();
    reg acc = V::zero();
    FN_UNROLL for (int k = 0; k < K; ++k) acc =
        V::fmadd(V::permute2(lo, hi, s.spread[k]), s.brep[k], acc);
    float* cb = c + i * s.n;
    reg v = V::mul(acc, s.alpha);
    if constexpr (UseBeta)
      v = V::fmadd(lanes == W ? V::load(cb) : V::masked_load(cb, V::first_n(lanes)), s.beta, v);
    v = V::add(v, s.bias);
    if constexpr (Act == kTileReLU) v = V::max(V::zero(), v);
    else if constexpr (Act == kTileLeakyReLU) v = V::leaky(v, s.slope);
    if (lanes == W || (!UseBeta && (!Tail || cb + W <= c + m * s.n))) V::store(cb, v);
    else V::store_first(cb, v, lanes);
  }

  template <int K, bool UseBeta, int Act>
  static void narrow_blocks(const NarrowRows<K>& s, index_t m, const float* a, float* c) {
    // Whole blocks while A's two vectors and C's vector stay inside A and C, then the rest.
    index_t i = 0;
    for (; i + s.P <= m && (i * K + 2 * W) <= m * K && i * s.n + W <= m * s.n; i += s.P)
      narrow_block<K, UseBeta, Act, false>(s, i, m, a, c);
    for (; i < m; i += s.P) narrow_block<K, UseBeta, Act, true>(s, i, m, a, c);
  }

  // C at most half a vector wide (narrow_rows_fit): P = min(W / n, 2W / K) rows of C per vector,
  // lane l holding C(l / n, l % n). The block's A rows (P * K <= 2W floats) are loaded as two
  // vectors and spread to the lanes by one two-source permute per k; B's row k is repeated P
  // times. Per element the arithmetic of rows() (K <= W is one pass): a k-order FMA chain from
  // zero, times alpha, beta * C, the bias, relu / leaky_relu.
  template <int K>
  static void narrow_rows_k(index_t m, index_t n, const float* a, const float* b, index_t rs_b,
                            float* c, const TileEpilogue& ep) {
    if constexpr (V::has_permute2) {
      NarrowRows<K> s;
      s.P = std::min<index_t>(W / n, 2 * W / K);
      s.n = n;
      // Lane l is C(row[l], col[l]) of the block (no divisions: this setup runs per call).
      alignas(64) std::int32_t row[W], col[W], lane_src[W];
      alignas(64) float lane_val[W];
      for (index_t l = 0, q = 0, j = 0; l < W; ++l) {
        row[l] = static_cast<std::int32_t>(q);
        col[l] = static_cast<std::int32_t>(j);
        if (++j == n) j = 0, ++q;
      }
      const index_t used = s.P * n;
      for (int k = 0; k < K; ++k) {
        for (index_t l = 0; l < W; ++l) {
          lane_src[l] = l < used ? row[l] * K + k : 0;
          lane_val[l] = l < used ? b[k * rs_b + col[l]] : 0.0f;
        }
        s.spread[k] = V::load_index(lane_src);
        s.brep[k] = V::load(lane_val);
      }
      for (index_t l = 0; l < W; ++l) lane_val[l] = ep.bias && l < used ? ep.bias[col[l]] : 0.0f;
      s.bias = V::load(lane_val);
      s.alpha = V::set1(ep.alpha);
      s.beta = V::set1(ep.beta);
      s.slope = V::set1(ep.act_param);
      const bool use_beta = ep.beta != 0.0f;
      switch (ep.act) {
        case kTileReLU:
          return use_beta ? narrow_blocks<K, true, kTileReLU>(s, m, a, c)
                          : narrow_blocks<K, false, kTileReLU>(s, m, a, c);
        case kTileLeakyReLU:
          return use_beta ? narrow_blocks<K, true, kTileLeakyReLU>(s, m, a, c)
                          : narrow_blocks<K, false, kTileLeakyReLU>(s, m, a, c);
        default:
          return use_beta ? narrow_blocks<K, true, kTileNone>(s, m, a, c)
                          : narrow_blocks<K, false, kTileNone>(s, m, a, c);
      }
    }
  }

  template <int... Ks>
  static void narrow_rows(index_t m, index_t n, index_t K, const float* a, const float* b,
                          index_t rs_b, float* c, const TileEpilogue& ep,
                          std::integer_sequence<int, Ks...>) {
    ((K == Ks + 1 ? narrow_rows_k<Ks + 1>(m, n, a, b, rs_b, c, ep) : void()), ...);
  }

  static void gemm(index_t m, index_t n, index_t kc, index_t kb, const float* a, index_t rs_a,
                   index_t cs_a, const float* b, index_t rs_b, float* c, index_t rs_c,
                   index_t cs_c, const TileEpilogue& ep) {
    if (narrow_rows_fit(m, n, kc, rs_a, cs_a, 1, rs_c, cs_c, W))
      return narrow_rows(m, n, kc, a, b, rs_b, c, ep, std::make_integer_sequence<int, W>{});
    if (n <= W)
      run<1>(m, n, kc, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, cs_c, ep,
             std::make_integer_sequence<int, 7>{});
    else
      run<2>(m, n, kc, kb, a, rs_a, cs_a, b, rs_b, c, rs_c, cs_c, ep,
             std::make_integer_sequence<int, 3>{});
  }
};

// Independent FMA chains, enough of them to cover latency x pipes; flops done are returned.
template <class V, int kChains>
double fma_throughput_loop(index_t iters) {
  using reg = typename V::reg;
  volatile float seed = 1.0f, mul = 0.999f, add = 0.001f;
  reg acc[kChains];
  FN_UNROLL for (int i = 0; i < kChains; ++i) acc[i] = V::set1(seed + 0.001f * i);
  const reg m = V::set1(mul), c = V::set1(add);
  for (index_t it = 0; it < iters; ++it) {
    FN_UNROLL for (int i = 0; i < kChains; ++i) acc[i] = V::fmadd(acc[i], m, c);
  }
  alignas(64) float sink[V::width];
  reg total = acc[0];
  for (int i = 1; i < kChains; ++i) total = V::add(total, acc[i]);
  V::store(sink, total);
  volatile float keep = sink[0];
  (void)keep;
  return 2.0 * static_cast<double>(iters) * kChains * V::width;
}

template <class V, int MR, int NV, int kChains, int... Rows>
GemmKernels make_gemm_kernels_impl(const char* name, index_t mc, index_t kc, index_t nc,
                                   std::integer_sequence<int, Rows...>) {
  static_assert(MR <= kMaxMR, "raise kMaxMR");
  using K = MicroKernel<V, MR, NV>;
  GemmKernels set{name, MR, K::NR, mc, kc, nc, {}, {}, {}, &K::packed_column, &K::pack_a,
                  &K::pack_b, &fma_throughput_loop<V, kChains>, &SmallKernel<V>::gemm,
                  &SmallKernel<V>::template sup<MR, NV>, V::width};
  ((set.packed[Rows] = &K::template packed<Rows + 1>), ...);
  ((set.strided[Rows] = &K::template strided<Rows + 1>), ...);
  ((set.packed_row[Rows] = &K::template packed_row<Rows + 1>), ...);
  set.packed_column = &K::packed_column;
  return set;
}

// The table of the MR x (NV * V::width) kernel with the given cache blocks, built on first use
// (each ISA file registers one instantiation, from one call with constants).
template <class V, int MR, int NV, int kChains>
const GemmKernels& table(const char* name, index_t mc, index_t kc, index_t nc) {
  static const GemmKernels set = make_gemm_kernels_impl<V, MR, NV, kChains>(
      name, mc, kc, nc, std::make_integer_sequence<int, MR>{});
  return set;
}

}  // namespace gemm
}  // namespace FN_SIMD_NS
}  // namespace fusednet
