/*
 * rnnkit native backend: shared declarations of the drivers (rk_driver.c), the per-ISA kernels
 * (rk_kernels.c, compiled once per instruction set) and the JNI layer (rk_jni.c).
 *
 * Layouts (floats; "natural row" r = t*B + b for time step t and batch row b):
 *   gx    R x GH   input projection, then the gate pre-activations/activations in place (forward)
 *   dG    R x GS   gate gradients (backward); GS = GH, except GRU: 4H = [dr dz dn*r dn]
 *   tape  R x TS   per (t, b) slot: the incoming h first (O floats), the rest per cell type:
 *                  LSTM [h_prev(O) i f g o(4H) c_prev(H) tanh(c')(H) (o*tanh(c'))(H, projection only)]
 *                  GRU  [h_prev(H) r z n(3H) W_hn h + b_hn(H)]
 *                  RNN  [h_prev(H) h'(H)]
 *                  a cell variant (rk_variant) keeps that slot, with h(c') in the LSTM's tanh(c') place, and
 *                  appends what its derivatives need:
 *                  LSTM [... a_i a_f a_g a_o(4H) c'(H)]   (pre-activations, peepholes included, before clip)
 *                  GRU  [... a_r a_z a_n(3H) (r*h)(H, reset before the product only)]; hn is then
 *                        W_hn (r*h) + b_hn
 *                  RNN  [... a(H)]
 * Batch rows are visited in "rank" order: sorted by length, longest first (stable), so the rows still
 * running at step s are ranks 0..n_s-1. States live in the workspace by rank during a call.
 */
#ifndef RK_H
#define RK_H

#include <stddef.h>
#include <stdint.h>

/** Outputs per packed panel: the packed layout is the same for every instruction set. */
#define RK_PANEL 64
/**
 * Rows handed to one rk_ops.gemm_rows call at most: each sub-panel of W, once in cache, serves this many rows,
 * so W is brought in fewer times per product (measured against 12: rnn-bench/RESULTS.md,
 * "Native S3: where the time goes, and what was tried").
 */
#define RK_ROWS 64

enum { RK_RNN_TANH = 0, RK_RNN_RELU = 1, RK_LSTM = 2, RK_GRU = 3 };

/* The activation functions of the ONNX recurrent operators, in org.rnnkit.variant.Activation.Function's order. */
enum {
    RK_SIGMOID = 0, RK_TANH, RK_RELU, RK_HARD_SIGMOID, RK_AFFINE, RK_LEAKY_RELU, RK_THRESHOLDED_RELU, RK_SCALED_TANH,
    RK_ELU, RK_SOFTSIGN, RK_SOFTPLUS, RK_ACT_COUNT
};

/* Flags of a cell variant (rk_variant.flags), as the Java side passes them. */
enum { RK_V_ON = 1, RK_V_PEEPHOLES = 2, RK_V_INPUT_FORGET = 4, RK_V_RESET_BEFORE = 8 };

/** One activation slot: fn(clamp(x, -clip, clip)) with the function's alpha and beta. */
typedef struct {
    int fn;
    float alpha, beta, clip; /* clip: +inf for none */
} rk_act;

/**
 * How a direction's cell differs from PyTorch's form (checked by rk_variant_check before anything keeps it).
 * flags == 0: PyTorch's form, and nothing else here is read. Slots: RNN act[0]; GRU act[0] for r, z and
 * act[1] for n; LSTM act[0] for i, f, o, act[1] for g and act[2] for the cell output (never clipped).
 */
typedef struct {
    int flags;
    rk_act act[3];
} rk_variant;

/** W (n x k) in panels of RK_PANEL outputs: panel p holds, for each kk, outputs p*64 .. p*64+63 (zeros past n). */
typedef struct {
    int n, k, panels;
    float *data;
} rk_pk;

/**
 * One layer direction's weights in the kernels' layouts (native memory, written by rk_prepare and, between
 * kernel calls of their sole owner, by rk_update).
 */
typedef struct {
    int type, I, H, P, O, G, GH, GS, TS, bias;
    rk_variant v; /* v.flags == 0: PyTorch's form */
    rk_pk ih;     /* N = GH, K = I */
    float *bx;    /* GH: b_ih + b_hh (GRU n gate: b_ih only); zeros without bias */
    rk_pk hh;     /* N = GH (GRU: 2H, the r and z gates), K = O */
    rk_pk hhn;    /* GRU: N = H, K = H */
    float *bhn;   /* GRU: b_hn (H); zeros without bias */
    rk_pk hhT;    /* N = O, K = GH (GRU: 3H; reset before the product: 2H, r and z): dh_prev = dG_h W_hh */
    rk_pk hhnT;   /* GRU with the reset before the product: W_hn^T, N = H, K = H: dL/d(r*h) = dn W_hn */
    float *peep;  /* LSTM peepholes p_i p_f p_o (3H), or NULL */
    rk_pk hr;     /* LSTM projection: N = P, K = H */
    rk_pk hrT;    /* N = H, K = P */
    float *wih;   /* GH x I, PyTorch's layout, for dx = dG W_ih */
    void *block;  /* the one allocation everything above lives in */
} rk_weights;

/** The kernels of one instruction set. Every product keeps one fixed summation order per output. */
typedef struct {
    const char *name;
    /**
     * c[r][o] = (init ? init[r][o] : 0) + sum_kk a[r][kk] * W[o][kk], kk ascending, for o < w->n and
     * r < nrows <= RK_ROWS. init[r] may equal c[r] (in place); a[r] must not overlap c[r].
     */
    void (*gemm_rows)(const rk_pk *w, int nrows, const float *const *a, const float *const *init, float *const *c);
    /**
     * gemm_rows(w, nrows, a, init, c), then gemm_rows(w2, nrows, a2, c, c) over w2's outputs (w2->n <= w->n):
     * those bits, in one pass where it can.
     */
    void (*gemm_rows2)(const rk_pk *w, const float *const *a, const rk_pk *w2, const float *const *a2, int nrows,
            const float *const *init, float *const *c);
    void (*sigmoid)(const float *src, float *dst, int n);
    void (*tanh)(const float *src, float *dst, int n);
    /**
     * n units of a row: g: the pre-activations i f g o, each n long and gs apart (gs = H for a whole row)
     * -> i f g o in place; c updated; tc = tanh(c'); hfull = o*tc.
     */
    void (*lstm_row)(float *g, int gs, float *c, float *tc, float *hfull, int n);
    /**
     * n units of a row: g: r, z pre-activations and n's input part, each n long and gs apart -> r z n in
     * place; hn = W_hn h + b_hn; h updated.
     */
    void (*gru_row)(float *g, int gs, const float *hn, float *h, int n);
    /** h = act(g). */
    void (*rnn_row)(const float *g, float *h, int H, int relu);
    /** From the tape slot's gates and d = dL/d(o*tanh(c')): dG (4H) and dc (in: after the step, out: before). */
    void (*lstm_back_row)(const float *gates, const float *cprev, const float *tc, const float *d, float *dc,
            float *dG, int H);
    /** slot: [h_prev r z n hn]; dh in: dL/dh', out: dh*z (the part of dL/dh_prev outside W_hh). */
    void (*gru_back_row)(const float *slot, float *dh, float *dG, int H);
    void (*rnn_back_row)(const float *hnew, const float *dh, float *dG, int H, int relu);
    /* ---- cell variants (rk_variant): the type's equations with each slot's function, one call per row or
       part of a row; each switches on its functions once per call, never per element ---- */
    /** dst = fn(clamp(src)) for slot a; dst may be src. */
    void (*act)(const rk_act *a, const float *src, float *dst, int n);
    /**
     * lstm_row for a variant: g holds a_i a_f a_g a_o (gs apart) -> i f g o; peep: p_i p_f p_o (gs apart) or
     * NULL; c updated; hc = h(c'); hfull = o*hc; pre: NULL, or where a_i a_f a_g a_o c' go (gs apart).
     */
    void (*lstm_row_v)(const rk_variant *v, const float *peep, float *g, int gs, float *c, float *hc, float *hfull,
            float *pre, int n);
    /**
     * GRU r, z of a variant: a_r, a_z (gs apart) -> r, z in place; pre: NULL or where a_r a_z go (gs apart);
     * rh: NULL or where r*h goes (the reset before the product).
     */
    void (*gru_gates_v)(const rk_variant *v, float *g, int gs, const float *h, float *rh, float *pre, int n);
    /**
     * GRU n and h of a variant, after gru_gates_v: a_n = g_n + r*hn (reset before the product: g_n + hn,
     * hn = W_hn (r*h) + b_hn), n = fn(clamp(a_n)) in place of g_n, h updated; pre: NULL or where a_n goes.
     */
    void (*gru_cand_v)(const rk_variant *v, float *g, int gs, const float *hn, float *h, float *pre, int n);
    /** h = fn(clamp(g)) of the RNN's slot. */
    void (*rnn_row_v)(const rk_variant *v, const float *g, float *h, int n);
    /**
     * The backward of lstm_row_v for one row (slot: the tape slot past h_prev): d = dL/d(unprojected h'),
     * dc in: dL/dc', out: dL/dc; dG (4H) the pre-activations' gradients; scr: H floats of scratch.
     */
    void (*lstm_back_row_v)(const rk_variant *v, const float *peep, const float *slot, const float *pre,
            const float *d, float *dc, float *dG, float *scr, int H);
    /**
     * The GRU's backward row of a variant. slot [h_prev r z n hn], pre [a_r a_z a_n]; dh in: dL/dh', out: dh*z.
     * dG = [dr dz dn*r dn]; with the reset before the product [. dz dn dn]: dr is left to gru_back_rbp.
     */
    void (*gru_back_row_v)(const rk_variant *v, const float *slot, const float *pre, float *dh, float *dG, int H);
    /** Reset before the product: from drh = dL/d(r*h): dr into dG, dh += drh*r. */
    void (*gru_back_rbp)(const rk_variant *v, const float *slot, const float *pre, const float *drh, float *dh,
            float *dG, int H);
    /** dG = dh * fn'(a) where |a| <= clip (0 beyond) for the RNN's slot; slot [h_prev h'], pre [a]. */
    void (*rnn_back_row_v)(const rk_variant *v, const float *slot, const float *pre, const float *dh, float *dG,
            int H);
    /** dst[j] += a[j] * b[j] (the product rounded, then the sum); none overlaps dst. */
    void (*mul_add)(const float *a, const float *b, float *dst, int n);
    /** dst[j] += src[j]; src and dst do not overlap. */
    void (*add)(const float *src, float *dst, int n);
    /** dst[j] = a[j] + b[j]; dst overlaps neither. */
    void (*sum)(const float *a, const float *b, float *dst, int n);
    /**
     * One row's softmax, n >= 1: p[j] = exp(z[j] - max) / sum, *lse = max + log(sum), sum = sum_j exp(z[j] - max)
     * over the row's maximum (so nothing overflows); p may be z (in place, the same bits).
     */
    void (*softmax_row)(const float *z, float *p, int n, float *lse);
} rk_ops;

extern const rk_ops rk_ops_avx512, rk_ops_avx2, rk_ops_generic;

/* ---- OpenBLAS, resolved at run time (rk_jni.c) ---- */
enum { RK_ROW_MAJOR = 101, RK_NO_TRANS = 111, RK_TRANS = 112 };
typedef void (*rk_sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
        const float *b, int ldb, float beta, float *c, int ldc);
extern rk_sgemm_fn rk_sgemm;

/* ---- sizes (floats), shared with the Java side through JNI ---- */
typedef struct {
    int type, I, H, P, O, G, GH, GS, TS;
    int vflags; /* rk_variant.flags: what the variant adds to the tape and the workspace */
} rk_dims;

/** 0 unless the shape is valid; vflags must be 0 or a valid variant's flags for the type. */
int rk_dims_of(int type, int I, int H, int P, int vflags, rk_dims *d);
/**
 * Checks a variant from the Java side: flags valid for the type, function codes in range, alpha and beta
 * finite, clip > 0 (or +inf), the LSTM's cell output never clipped. 1 if it may be kept, else 0 with why in msg.
 */
int rk_variant_check(int type, const rk_variant *v, char *msg, size_t len);
int64_t rk_workspace_size(const rk_dims *d, int T, int B);
int64_t rk_tape_size(const rk_dims *d, int T, int B);

/* ---- weights (rk_driver.c) ---- */
/** Returns NULL when out of memory. Arrays in PyTorch's layout; bih/bhh/whr may be NULL. */
rk_weights *rk_prepare(const rk_dims *d, const rk_variant *v, int bias, const float *wih, const float *whh,
        const float *bih, const float *bhh, const float *whr, const float *peep);
/**
 * Packs changed arrays (PyTorch's layout, the dims and bias of w) into w's own block, in place: the bits
 * rk_prepare would give. Returns 0, changing nothing, when the dims or bias differ from w's.
 */
int rk_update(rk_weights *w, const rk_dims *d, int bias, const float *wih, const float *whh, const float *bih,
        const float *bhh, const float *whr, const float *peep);
void rk_release(rk_weights *w);

/** Strides and offsets are in floats and already applied to the pointers. */
typedef struct {
    int T, B, reverse;
    const int *len; /* NULL: every row runs T steps */
    const float *x;
    int64_t xts, xbs;
    const int *cls; /* NULL, or x's rows are one-hot: row (t, b) has its 1 at column cls[t*B + b] (each 0..I-1) */
    float *out; /* NULL: no per-step output */
    int64_t ots, obs;
    float *h, *c, *tape, *ws;
    int threads; /* up to this many threads for the large phases */
} rk_fwd_args;

typedef struct {
    int T, B, reverse;
    const int *len;
    const float *x;
    int64_t xts, xbs;
    const int *cls; /* as in rk_fwd_args */
    const float *dout;
    int64_t dts, dbs;
    float *dh, *dc;
    float *dx;
    int64_t dxts, dxbs;
    float *gwih, *gwhh, *gbih, *gbhh, *gwhr;
    float *gpeep; /* the peepholes' gradient (3H), LSTM variants with peepholes only */
    const float *tape;
    float *ws;
    int threads;
} rk_bwd_args;

/* ---- threads (rk_pool.c) ---- */
/** Part `part` of `parts` of some work. */
typedef void (*rk_task)(void *ctx, int part, int parts);
/** Runs parts 0..parts-1, on up to `threads` threads (the caller's included); returns when all are done. */
void rk_parallel(int parts, int threads, rk_task fn, void *ctx);
/**
 * Runs parts 0..parts-1 each on its own thread, all at once (parts that wait for each other need that),
 * and returns 1; or runs nothing and returns 0 when the pool is busy or cannot have parts - 1 workers.
 */
int rk_parallel_together(int parts, rk_task fn, void *ctx);

void rk_forward(const rk_weights *w, const rk_ops *ops, const rk_fwd_args *a);
void rk_backward(const rk_weights *w, const rk_ops *ops, const rk_bwd_args *a);

/* ---- dense products and softmax (the SPI's DenseKernel; rk_driver.c) ---- */
/**
 * c = a b (accumulate == 0) or c += a b: a m x k, b k x n, c m x n, all row-major with leading dimensions
 * lda, ldb, ldc; ta/tb: a/b is the transpose of the stored matrix (k x m, n x k). m, n >= 1, k >= 0. Offsets
 * are already applied to the pointers; c overlaps neither a nor b.
 */
typedef struct {
    int m, n, k, ta, tb, accumulate;
    const float *a, *b;
    float *c;
    int lda, ldb, ldc;
    int threads; /* up to this many threads for a large product; never changes a bit */
} rk_mm_args;

void rk_multiply(const rk_mm_args *x);
/** ops->softmax_row over rows of z (zs floats apart) into p (ps apart), lse[i] per row; rows, cols >= 1. */
void rk_softmax(const rk_ops *ops, const float *z, int64_t zs, float *p, int64_t ps, int rows, int cols, float *lse);

#endif
