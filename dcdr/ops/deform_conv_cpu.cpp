// Deformable convolution v1 on the CPU: channels-last bilinear gathers around one BLAS matrix product.
//
// Layouts (whole batch; chunks of output pixels are handed to threads -- dynamically in the forward, statically in
// the backward so that its gradient sums are deterministic -- and each thread
// gathers its chunk and multiplies it with one single-threaded GEMM, so a call opens one parallel region
// per image instead of one per chunk: that keeps it fast when other processes share the cores):
//   xl    (N, H, W, C)          channels-last input: the C values of a bilinear neighbour are contiguous
//   off   (N, 2*OG*K, Ho*Wo)    torchvision's layout: channel 2*(g*K+k) is dy, 2*(g*K+k)+1 is dx
//   wmat  (Cout, K*Cg)          weight, columns ordered (tap k, channel ci) within each weight group
//   in, gin, out, gout          NCHW, or NHWC (channels-last) when geom's nhwc flag is set
//   col   (P, K*C) per chunk    sampled values; column wg*K*Cg + k*Cg + ci holds channel wg*Cg+ci at tap k
// Sampling follows torchvision's deform_conv2d exactly: a tap at (y, x) is zero unless -1 < y < H and
// -1 < x < W, and corners outside the image count as zero.
// geom = {N, H, W, C, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, OG, WG, Cout, chunk, nhwc}.
// The GEMM is the Fortran BLAS ?gemm_ found in the running process (torch's MKL), set by dcn_set_blas.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

using sgemm_t = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                         const int*, const float*, const int*, const float*, float*, const int*);
using dgemm_t = void (*)(const char*, const char*, const int*, const int*, const int*, const double*,
                         const double*, const int*, const double*, const int*, const double*, double*, const int*);
using set_threads_local_t = int (*)(int);

sgemm_t g_sgemm = nullptr;
dgemm_t g_dgemm = nullptr;
set_threads_local_t g_set_threads_local = nullptr;

// Column-major C = alpha * op(A) op(B) + beta * C (Fortran BLAS conventions).
inline void gemm(char ta, char tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                 int ldb, float beta, float* c, int ldc) {
  g_sgemm(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}
inline void gemm(char ta, char tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
                 int ldb, double beta, double* c, int ldc) {
  g_dgemm(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}

struct Geom {
  int64_t N, H, W, C, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, OG, WG, Cout, chunk, nhwc;
  int64_t K() const { return kh * kw; }
  int64_t KC() const { return kh * kw * C; }
  int64_t P() const { return Ho * Wo; }
  int64_t Cg() const { return C / WG; }    // input channels per weight group
  int64_t Cog() const { return C / OG; }   // input channels per offset group
  int64_t Coutg() const { return Cout / WG; }
  int64_t chunks() const { return (P() + chunk - 1) / chunk; }
};

Geom read_geom(const int64_t* g) {
  return Geom{g[0], g[1], g[2],  g[3],  g[4],  g[5],  g[6],  g[7],  g[8],
              g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16], g[17], g[18]};
}

// One bilinear sample: its four corner pixel indices (-1 when outside the image) and their weights.
template <typename T>
struct Tap {
  bool inside;
  int64_t y0;
  int64_t idx[4];  // (y0,x0) (y0,x0+1) (y0+1,x0) (y0+1,x0+1)
  T w[4];
  T ly, lx;
};

template <typename T>
inline void locate(const Geom& g, const T* off, int64_t p, int64_t k, int64_t og, Tap<T>& t) {
  const int64_t P = g.P();
  const int64_t oy = p / g.Wo, ox = p % g.Wo;
  const int64_t ch = 2 * (og * g.K() + k);
  const T y = static_cast<T>(oy * g.sh - g.ph + (k / g.kw) * g.dh) + off[ch * P + p];
  const T x = static_cast<T>(ox * g.sw - g.pw + (k % g.kw) * g.dw) + off[(ch + 1) * P + p];
  t.inside = (y > T(-1)) && (y < static_cast<T>(g.H)) && (x > T(-1)) && (x < static_cast<T>(g.W));
  if (!t.inside) return;
  const T yf = std::floor(y), xf = std::floor(x);
  const int64_t y0 = static_cast<int64_t>(yf), x0 = static_cast<int64_t>(xf);
  t.y0 = y0;
  t.ly = y - yf;
  t.lx = x - xf;
  const T hy = T(1) - t.ly, hx = T(1) - t.lx;
  const bool vy0 = y0 >= 0, vy1 = y0 + 1 <= g.H - 1, vx0 = x0 >= 0, vx1 = x0 + 1 <= g.W - 1;
  t.idx[0] = (vy0 && vx0) ? (y0 * g.W + x0) : -1;
  t.idx[1] = (vy0 && vx1) ? (y0 * g.W + x0 + 1) : -1;
  t.idx[2] = (vy1 && vx0) ? ((y0 + 1) * g.W + x0) : -1;
  t.idx[3] = (vy1 && vx1) ? ((y0 + 1) * g.W + x0 + 1) : -1;
  t.w[0] = hy * hx;
  t.w[1] = hy * t.lx;
  t.w[2] = t.ly * hx;
  t.w[3] = t.ly * t.lx;
}

// Calls fn(c_begin, c_end, column_of_c_begin) for the runs of offset group og's channels that share a
// weight group (one run when there are no groups).
template <typename F>
inline void for_runs(const Geom& g, int64_t og, int64_t k, F&& fn) {
  const int64_t cog = g.Cog(), cg = g.Cg();
  int64_t c = og * cog;
  const int64_t end = c + cog;
  while (c < end) {
    const int64_t wgi = c / cg, stop = std::min(end, (wgi + 1) * cg);
    fn(c, stop, wgi * g.K() * cg + k * cg + (c - wgi * cg));
    c = stop;
  }
}

// Sample pixels [p0, p1) of one image into col and, in backward, with gcol (the gradient wrt col) also
// write the offset gradient and scatter gcol into gin with the bilinear weights (rows marked in touched).
template <typename T>
void sample_chunk(const Geom& g, const T* in, const T* off, int64_t p0, int64_t p1, const T* zero, T* col,
                  const T* gcol, T* goff, T* gin, char* touched) {
  const int64_t K = g.K(), KC = g.KC(), P = g.P();
  Tap<T> t;
  for (int64_t p = p0; p < p1; ++p) {
    T* crow = col != nullptr ? col + (p - p0) * KC : nullptr;
    const T* grow = gcol != nullptr ? gcol + (p - p0) * KC : nullptr;
    for (int64_t k = 0; k < K; ++k) {
      for (int64_t og = 0; og < g.OG; ++og) {
        locate(g, off, p, k, og, t);
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // sums over channels of gcol * corner value
        for_runs(g, og, k, [&](int64_t c0, int64_t c1, int64_t j) {
          const int64_t n = c1 - c0;
          if (!t.inside) {
            if (crow != nullptr) std::fill(crow + j, crow + j + n, T(0));
            return;
          }
          const T* __restrict v0 = t.idx[0] >= 0 ? in + t.idx[0] * g.C + c0 : zero;
          const T* __restrict v1 = t.idx[1] >= 0 ? in + t.idx[1] * g.C + c0 : zero;
          const T* __restrict v2 = t.idx[2] >= 0 ? in + t.idx[2] * g.C + c0 : zero;
          const T* __restrict v3 = t.idx[3] >= 0 ? in + t.idx[3] * g.C + c0 : zero;
          const T w0 = t.w[0], w1 = t.w[1], w2 = t.w[2], w3 = t.w[3];
          if (crow != nullptr) {
            T* __restrict dst = crow + j;
#pragma omp simd
            for (int64_t c = 0; c < n; ++c) dst[c] = w0 * v0[c] + w1 * v1[c] + w2 * v2[c] + w3 * v3[c];
          }
          if (grow == nullptr) return;
          const T* __restrict gc = grow + j;
          if (goff != nullptr) {
            T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
            for (int64_t c = 0; c < n; ++c) {
              a0 += gc[c] * v0[c];
              a1 += gc[c] * v1[c];
              a2 += gc[c] * v2[c];
              a3 += gc[c] * v3[c];
            }
            s0 += a0;
            s1 += a1;
            s2 += a2;
            s3 += a3;
          }
          if (gin != nullptr) {
            for (int corner = 0; corner < 4; ++corner) {
              if (t.idx[corner] < 0) continue;
              const T w = t.w[corner];
              T* __restrict dst = gin + t.idx[corner] * g.C + c0;
#pragma omp simd
              for (int64_t c = 0; c < n; ++c) dst[c] += w * gc[c];
            }
            if (t.y0 >= 0) touched[t.y0] = 1;
            if (t.y0 + 1 < g.H) touched[t.y0 + 1] = 1;
          }
        });
        if (goff != nullptr) {
          const int64_t ch = 2 * (og * K + k);
          T dy = 0, dx = 0;
          if (t.inside) {
            dy = (T(1) - t.lx) * (s2 - s0) + t.lx * (s3 - s1);
            dx = (T(1) - t.ly) * (s1 - s0) + t.ly * (s3 - s2);
          }
          goff[ch * P + p] = dy;
          goff[(ch + 1) * P + p] = dx;
        }
      }
    }
  }
}

// Runs in every thread of a parallel region: MKL must not start its own threads inside it.
struct SingleThreadedBlas {
  int previous = 0;
  SingleThreadedBlas() {
    if (g_set_threads_local != nullptr) previous = g_set_threads_local(1);
  }
  ~SingleThreadedBlas() {
    if (g_set_threads_local != nullptr) g_set_threads_local(previous);
  }
};

// One image row between layouts: nchw points at element (n, 0, y, 0) of an NCHW tensor (channel stride
// H*W), nhwc at the row's (W, C) block of an NHWC tensor; copies nchw -> nhwc, or back when to_nhwc is false.
template <typename T>
void transpose_row(const Geom& g, T* nchw, T* nhwc, bool to_nhwc) {
  const int64_t HW = g.H * g.W;
  constexpr int64_t B = 16;
  for (int64_t c0 = 0; c0 < g.C; c0 += B)
    for (int64_t x0 = 0; x0 < g.W; x0 += B)
      for (int64_t c = c0; c < std::min(g.C, c0 + B); ++c)
        for (int64_t x = x0; x < std::min(g.W, x0 + B); ++x) {
          if (to_nhwc)
            nhwc[x * g.C + c] = nchw[c * HW + x];
          else
            nchw[c * HW + x] = nhwc[x * g.C + c];
        }
}

template <typename T>
void forward(const Geom& g, const T* in, T* xl, const T* off, const T* wmat, const T* bias, T* out, int nthreads) {
  const int64_t KC = g.KC(), P = g.P(), Kcg = g.K() * g.Cg(), Coutg = g.Coutg(), chunks = g.chunks();
#pragma omp parallel num_threads(nthreads)
  {
    SingleThreadedBlas blas;
    if (!g.nhwc) {  // NCHW input: copy it channels-last into xl first
#pragma omp for schedule(static)
      for (int64_t r = 0; r < g.N * g.H; ++r)
        transpose_row(g, const_cast<T*>(in) + (r / g.H) * g.C * g.H * g.W + (r % g.H) * g.W, xl + r * g.W * g.C, true);
    }
    std::vector<T> zero(g.C, T(0)), col(g.chunk * KC);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < g.N * chunks; ++task) {
      const int64_t n = task / chunks, p0 = (task % chunks) * g.chunk, p1 = std::min(P, p0 + g.chunk);
      const int m = static_cast<int>(p1 - p0);
      sample_chunk<T>(g, xl + n * g.H * g.W * g.C, off + n * 2 * g.OG * g.K() * P, p0, p1, zero.data(),
                      col.data(), nullptr, nullptr, nullptr, nullptr);
      T* o = out + n * g.Cout * P;
      for (int64_t wg = 0; wg < g.WG; ++wg) {
        if (g.nhwc)  // out[p0:p1, rows]^T (Coutg x m, ld Cout) = W_g (Coutg x Kcg) @ col_block^T
          gemm('T', 'N', static_cast<int>(Coutg), m, static_cast<int>(Kcg), T(1), wmat + wg * Coutg * Kcg,
               static_cast<int>(Kcg), col.data() + wg * Kcg, static_cast<int>(KC), T(0),
               o + p0 * g.Cout + wg * Coutg, static_cast<int>(g.Cout));
        else  // out[rows, p0:p1]^T (m x Coutg, ld P) = col_block (m x Kcg) @ W_g^T
          gemm('T', 'N', m, static_cast<int>(Coutg), static_cast<int>(Kcg), T(1), col.data() + wg * Kcg,
               static_cast<int>(KC), wmat + wg * Coutg * Kcg, static_cast<int>(Kcg), T(0),
               o + wg * Coutg * P + p0, static_cast<int>(P));
      }
      if (bias != nullptr && g.nhwc)
        for (int64_t p = p0; p < p1; ++p)
          for (int64_t c = 0; c < g.Cout; ++c) o[p * g.Cout + c] += bias[c];
      else if (bias != nullptr)
        for (int64_t c = 0; c < g.Cout; ++c)
          for (int64_t p = p0; p < p1; ++p) o[c * P + p] += bias[c];
    }
  }
}

template <typename T>
int backward(const Geom& g, const T* xl, const T* off, const T* wmat, const T* gout, T* gin, T* goff, T* gw,
             int nthreads) {
  int out_of_memory = 0;
  const int64_t KC = g.KC(), P = g.P(), Kcg = g.K() * g.Cg(), Coutg = g.Coutg(), chunks = g.chunks();
  const int64_t image = g.H * g.W * g.C, row = g.W * g.C;
  const bool need_gcol = gin != nullptr || goff != nullptr;
  std::vector<T*> bufs(nthreads, nullptr);
  std::vector<std::vector<char>> touched(nthreads);
  std::vector<std::vector<T>> gw_local(nthreads);
#pragma omp parallel num_threads(nthreads)
  {
    SingleThreadedBlas blas;
    const int tid = omp_get_thread_num(), team = omp_get_num_threads();
    std::vector<T> zero(g.C, T(0)), col(gw != nullptr ? g.chunk * KC : 0), gcol(need_gcol ? g.chunk * KC : 0);
    if (gw != nullptr) gw_local[tid].assign(g.Cout * Kcg, T(0));
    for (int64_t n = 0; n < g.N; ++n) {
      const T* x = xl + n * image;
      const T* o = off + n * 2 * g.OG * g.K() * P;
      const T* go = gout + n * g.Cout * P;
      if (gin != nullptr) {  // private gradient image: calloc maps zero pages lazily, so only touched rows cost memory
        bufs[tid] = static_cast<T*>(std::calloc(image, sizeof(T)));
        if (bufs[tid] == nullptr) {
#pragma omp atomic write
          out_of_memory = 1;
        }
        touched[tid].assign(g.H, 0);
      }
      // static schedule: each thread owns a fixed run of chunks, so its private gradients accumulate in a fixed
      // order and the sums over threads below are bit-identical from run to run (for a given thread count)
#pragma omp for schedule(static)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t p0 = c * g.chunk, p1 = std::min(P, p0 + g.chunk);
        const int m = static_cast<int>(p1 - p0);
        // gout[rows, p0:p1] as a BLAS operand: NCHW (m x Coutg, ld P) or NHWC (Coutg x m, ld Cout)
        const char tr_n = g.nhwc ? 'N' : 'T', tr_t = g.nhwc ? 'T' : 'N';
        const int ldg = static_cast<int>(g.nhwc ? g.Cout : P);
        auto gout_at = [&](int64_t wg) { return g.nhwc ? go + p0 * g.Cout + wg * Coutg : go + wg * Coutg * P + p0; };
        if (need_gcol)
          for (int64_t wg = 0; wg < g.WG; ++wg)  // gcol_block^T (Kcg x m) = W_g^T (Kcg x Coutg) @ gout[rows, p0:p1]
            gemm('N', tr_n, static_cast<int>(Kcg), m, static_cast<int>(Coutg), T(1), wmat + wg * Coutg * Kcg,
                 static_cast<int>(Kcg), gout_at(wg), ldg, T(0), gcol.data() + wg * Kcg, static_cast<int>(KC));
        sample_chunk<T>(g, x, o, p0, p1, zero.data(), gw != nullptr ? col.data() : nullptr,
                        need_gcol ? gcol.data() : nullptr, goff != nullptr ? goff + n * 2 * g.OG * g.K() * P : nullptr,
                        bufs[tid], gin != nullptr ? touched[tid].data() : nullptr);
        if (gw != nullptr)
          for (int64_t wg = 0; wg < g.WG; ++wg)  // gW_g^T (Kcg x Coutg) += col_block^T (Kcg x m) @ gout[rows]^T
            gemm('N', tr_t, static_cast<int>(Kcg), static_cast<int>(Coutg), m, T(1), col.data() + wg * Kcg,
                 static_cast<int>(KC), gout_at(wg), ldg, T(1), gw_local[tid].data() + wg * Coutg * Kcg,
                 static_cast<int>(Kcg));
      }  // implicit barrier: every private gradient image is complete
      if (gin != nullptr) {
        std::vector<T> scratch(g.nhwc ? 0 : row);
#pragma omp for schedule(static)
        for (int64_t y = 0; y < g.H; ++y) {  // sum the private images row by row (into NHWC, or via scratch)
          T* __restrict dst = g.nhwc ? gin + n * image + y * row : scratch.data();
          std::fill(dst, dst + row, T(0));
          for (int t = 0; t < team; ++t) {
            if (bufs[t] == nullptr || !touched[t][y]) continue;
            const T* __restrict src = bufs[t] + y * row;
#pragma omp simd
            for (int64_t i = 0; i < row; ++i) dst[i] += src[i];
          }
          if (!g.nhwc) transpose_row(g, gin + n * image + y * g.W, dst, false);
        }  // implicit barrier: nobody reads the private images any more
        std::free(bufs[tid]);
        bufs[tid] = nullptr;
      }
    }
    if (gw != nullptr) {
#pragma omp barrier
#pragma omp for schedule(static)
      for (int64_t i = 0; i < g.Cout * Kcg; ++i) {
        T s = 0;
        for (int t = 0; t < team; ++t) s += gw_local[t][i];
        gw[i] = s;
      }
    }
  }
  return out_of_memory;
}

}  // namespace

extern "C" {

void dcn_set_blas(void* sgemm, void* dgemm, void* set_threads_local) {
  g_sgemm = reinterpret_cast<sgemm_t>(sgemm);
  g_dgemm = reinterpret_cast<dgemm_t>(dgemm);
  g_set_threads_local = reinterpret_cast<set_threads_local_t>(set_threads_local);
}

void dcn_forward_f32(const int64_t* geom, const float* in, float* xl, const float* off, const float* wmat,
                     const float* bias, float* out, int nthreads) {
  forward<float>(read_geom(geom), in, xl, off, wmat, bias, out, nthreads);
}

void dcn_forward_f64(const int64_t* geom, const double* in, double* xl, const double* off, const double* wmat,
                     const double* bias, double* out, int nthreads) {
  forward<double>(read_geom(geom), in, xl, off, wmat, bias, out, nthreads);
}

int dcn_backward_f32(const int64_t* geom, const float* in, const float* off, const float* wmat, const float* gout,
                      float* gin, float* goff, float* gw, int nthreads) {
  return backward<float>(read_geom(geom), in, off, wmat, gout, gin, goff, gw, nthreads);
}

int dcn_backward_f64(const int64_t* geom, const double* in, const double* off, const double* wmat,
                      const double* gout, double* gin, double* goff, double* gw, int nthreads) {
  return backward<double>(read_geom(geom), in, off, wmat, gout, gin, goff, gw, nthreads);
}

}  // extern "C"
