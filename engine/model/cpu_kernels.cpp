#include "model/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace rudder::cpu {

namespace {

// Rows per parallel task so that a task holds at least ~32k floats (ATen's own grain): small
// steps stay on the calling thread.
int64_t grainRows(int64_t width) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, width)); }

// Eight independent partial sums: the compiler vectorises them without reassociating a single
// sum (no -ffast-math), and the adds pipeline.  Inlined for the short rows of the norms and of
// attention scores (head_dim 48-256); rowDots below is the multiversioned loop for weight rows
// (routing these through it measured ~5% slower at batch 1 on the demo LM, within the noise but
// twice, so the two stay apart).
inline float dot(const float* a, const float* b, int64_t n)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; ++u) acc[u] += a[i + u] * b[i + u];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

// y[r] = w[r,:] · x for rows of w; 32 partial sums per row (vector registers, no reassociation of
// one sum).  Compiled three times and chosen by the CPU at load time.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2,fma", "default")))
#endif
void rowDots(const float* w, const float* x, float* y, int64_t rows, int64_t n)
{
    for (int64_t r = 0; r < rows; ++r) {
        const float* a = w + r * n;
        float acc[32] = {};
        int64_t i = 0;
        for (; i + 32 <= n; i += 32)
            for (int u = 0; u < 32; ++u) acc[u] += a[i + u] * x[i + u];
        float s = 0;
        for (int u = 0; u < 32; ++u) s += acc[u];
        for (; i < n; ++i) s += a[i] * x[i];
        y[r] = s;
    }
}

inline void normRow(const float* x, float* y, const float* w, int64_t d, float eps)
{
    const float r = 1.0f / std::sqrt(dot(x, x, d) / static_cast<float>(d) + eps);
    for (int64_t i = 0; i < d; ++i) y[i] = (x[i] * r) * w[i];
}

} // namespace

bool applies(const at::Tensor& x)
{
    return x.defined() && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous();
}

at::Tensor gemv(const at::Tensor& w, const at::Tensor& x)
{
    const int64_t out = w.size(0), in = w.size(1);
    at::Tensor y = at::empty({out}, x.options());
    const float* wp = w.data_ptr<float>();
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, out, grainRows(in), [&](int64_t b, int64_t e) { rowDots(wp + b * in, xp, yp + b, e - b, in); });
    return y;
}

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& w, double eps)
{
    const int64_t d = x.size(-1), rows = x.numel() / d;
    at::Tensor y = at::empty_like(x);
    const float* xp = x.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, rows, grainRows(d), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) normRow(xp + r * d, yp + r * d, wp, d, static_cast<float>(eps));
    });
    return y;
}

void rmsNormHeads(at::Tensor& qkv, int64_t first, int64_t count, int64_t hd, const at::Tensor& w, double eps)
{
    const int64_t width = qkv.size(-1), rows = qkv.numel() / width;
    float* p = qkv.data_ptr<float>();
    const float* wp = w.data_ptr<float>();
    at::parallel_for(0, rows, grainRows(count * hd), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
            for (int64_t h = first; h < first + count; ++h) {
                float* x = p + r * width + h * hd;
                normRow(x, x, wp, hd, static_cast<float>(eps));   // reads each value before writing it
            }
    });
}

void rope(at::Tensor& qkv, int64_t count, int64_t hd, const at::Tensor& cos, const at::Tensor& sin)
{
    const int64_t width = qkv.size(-1), rows = qkv.numel() / width, half = hd / 2;
    float* p = qkv.data_ptr<float>();
    const float* cp = cos.data_ptr<float>();
    const float* sp = sin.data_ptr<float>();
    at::parallel_for(0, rows, grainRows(count * hd), [&](int64_t b, int64_t e) {
        std::vector<float> x(static_cast<size_t>(hd));
        for (int64_t r = b; r < e; ++r) {
            const float* c = cp + r * hd;
            const float* s = sp + r * hd;
            for (int64_t h = 0; h < count; ++h) {
                float* y = p + r * width + h * hd;
                std::copy(y, y + hd, x.begin());
                // rotate_half(x) = [-x2, x1]
                for (int64_t i = 0; i < half; ++i) y[i] = x[i] * c[i] + (-x[i + half]) * s[i];
                for (int64_t i = half; i < hd; ++i) y[i] = x[i] * c[i] + x[i - half] * s[i];
            }
        }
    });
}

at::Tensor decodeAttention(const at::Tensor& qkv, const at::Tensor& k, const at::Tensor& v,
                           const int64_t* cacheRow, const int64_t* pos, int64_t H, int64_t window,
                           double scale, double softcap)
{
    const int64_t N = qkv.size(0), width = qkv.size(-1);
    const int64_t KV = k.size(1), cap = k.size(2), hd = k.size(3), g = H / KV;
    at::Tensor out = at::empty({N, 1, H * hd}, qkv.options());
    const float* qp = qkv.data_ptr<float>();
    const float* kp = k.data_ptr<float>();
    const float* vp = v.data_ptr<float>();
    float* op = out.data_ptr<float>();
    const float fscale = static_cast<float>(scale), fcap = static_cast<float>(softcap);
    int64_t longest = 1;
    for (int64_t n = 0; n < N; ++n) longest = std::max(longest, pos[n] + 1);
    const int64_t grain = std::max<int64_t>(1, 32768 / (2 * longest * hd));
    at::parallel_for(0, N * H, grain, [&](int64_t b, int64_t e) {
        std::vector<float> s(static_cast<size_t>(longest));
        for (int64_t t = b; t < e; ++t) {
            const int64_t n = t / H, h = t % H, kvh = h / g;
            const int64_t hi = pos[n], lo = window > 0 ? std::max<int64_t>(0, hi - window + 1) : 0;
            const float* q = qp + n * width + h * hd;
            const float* kr = kp + ((cacheRow[n] * KV + kvh) * cap) * hd;
            const float* vr = vp + ((cacheRow[n] * KV + kvh) * cap) * hd;
            float mx = -std::numeric_limits<float>::infinity();
            for (int64_t j = lo; j <= hi; ++j) {
                float x = dot(q, kr + j * hd, hd) * fscale;
                if (fcap > 0) x = std::tanh(x / fcap) * fcap;   // Gemma 2
                s[j - lo] = x;
                mx = std::max(mx, x);
            }
            float sum = 0;
            for (int64_t j = 0; j <= hi - lo; ++j) sum += (s[j] = std::exp(s[j] - mx));
            float* o = op + n * H * hd + h * hd;
            std::fill(o, o + hd, 0.0f);
            for (int64_t j = lo; j <= hi; ++j) {
                const float a = s[j - lo] / sum;
                const float* vj = vr + j * hd;
                for (int64_t i = 0; i < hd; ++i) o[i] += a * vj[i];
            }
        }
    });
    return out;
}

} // namespace rudder::cpu
