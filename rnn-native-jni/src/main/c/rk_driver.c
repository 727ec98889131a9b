/*
 * The loops every cell type shares: sizes, packing, and the forward and backward passes over one layer
 * direction. Products go through rk_ops.gemm_rows (our packed kernels, one fixed summation order per
 * output, so a row's result never depends on the other rows: streaming chunk by chunk gives the bits of
 * a one-shot run). The backward pass's big products, summed over every step (dW_ih, dW_hh, dW_hr) and
 * the input gradient, are OpenBLAS sgemm calls on fixed tiles. One-hot input rows (a non-NULL cls) turn the
 * input projection into a column lookup and dW_ih into a scatter-add: no products with zeros.
 */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rk.h"

rk_sgemm_fn rk_sgemm;

/* ---- sizes ----------------------------------------------------------------------------------------- */

/* the flags a variant of this type may have */
static int flags_allowed(int type)
{
    return RK_V_ON | (type == RK_LSTM ? RK_V_PEEPHOLES | RK_V_INPUT_FORGET : type == RK_GRU ? RK_V_RESET_BEFORE : 0);
}

int rk_dims_of(int type, int I, int H, int P, int vflags, rk_dims *d)
{
    if (type < RK_RNN_TANH || type > RK_GRU || I < 1 || H < 1 || P < 0 || (P > 0 && type != RK_LSTM)) {
        return 0;
    }
    if (vflags != 0 && ((vflags & RK_V_ON) == 0 || (vflags & ~flags_allowed(type)) != 0)) {
        return 0;
    }
    d->type = type;
    d->I = I;
    d->H = H;
    d->P = P;
    d->O = P > 0 ? P : H;
    d->G = type == RK_LSTM ? 4 : type == RK_GRU ? 3 : 1;
    d->GH = d->G * H;
    d->GS = type == RK_GRU ? 4 * H : d->GH;
    d->TS = type == RK_LSTM ? d->O + 6 * H + (P > 0 ? H : 0) : type == RK_GRU ? 5 * H : 2 * H;
    d->vflags = vflags;
    if (vflags != 0) { /* the variant's part of the slot (rk.h) */
        d->TS += type == RK_LSTM ? 5 * H : type == RK_GRU ? 3 * H + (vflags & RK_V_RESET_BEFORE ? H : 0) : H;
    }
    return 1;
}

int rk_variant_check(int type, const rk_variant *v, char *msg, size_t len)
{
    if (v->flags == 0) {
        return 1;
    }
    if ((v->flags & RK_V_ON) == 0 || (v->flags & ~flags_allowed(type)) != 0) {
        snprintf(msg, len, "variant: flags %d do not fit cell type %d", v->flags, type);
        return 0;
    }
    const int slots = type == RK_LSTM ? 3 : type == RK_GRU ? 2 : 1;
    for (int i = 0; i < slots; i++) {
        const rk_act *a = &v->act[i];
        if (a->fn < 0 || a->fn >= RK_ACT_COUNT) {
            snprintf(msg, len, "variant: activation %d: expected a function code 0..%d, got %d", i, RK_ACT_COUNT - 1,
                    a->fn);
            return 0;
        }
        if (!isfinite(a->alpha) || !isfinite(a->beta)) {
            snprintf(msg, len, "variant: activation %d: expected finite alpha and beta", i);
            return 0;
        }
        if (!(a->clip > 0) || (type == RK_LSTM && i == 2 && a->clip != INFINITY)) {
            snprintf(msg, len, "variant: activation %d: expected a clip > 0 (none for the cell output)", i);
            return 0;
        }
    }
    return 1;
}

/* per batch row scratch of the forward pass beyond h: LSTM c, tanh(c') (without a tape), o*tanh(c')
   (projection); GRU W_hn h + b_hn (without a tape) */
static int64_t fwd_row_scratch(const rk_dims *d)
{
    if (d->type == RK_GRU) { /* with the reset before the product, then r*h (without a tape) */
        return (d->vflags & RK_V_RESET_BEFORE ? 2 : 1) * (int64_t)d->H;
    }
    return d->type == RK_LSTM ? 2 * (int64_t)d->H + (d->P > 0 ? d->H : 0) : 0;
}

/* per batch row scratch of the backward pass beyond dh: LSTM dc, then W_hr^T dh (projection), then a variant's
   slope of the cell output; GRU with the reset before the product: dL/d(r*h) */
static int64_t bwd_row_scratch(const rk_dims *d)
{
    if (d->type == RK_GRU) {
        return d->vflags & RK_V_RESET_BEFORE ? d->H : 0;
    }
    return d->type == RK_LSTM ? (int64_t)d->H + (d->P > 0 ? d->H : 0) + (d->vflags ? d->H : 0) : 0;
}

int64_t rk_workspace_size(const rk_dims *d, int T, int B)
{
    int64_t R = (int64_t)T * B;
    /* gx, h by rank, row scratch, the ranks, and a second h for steps split by units */
    int64_t fwd = R * d->GH + (int64_t)B * (d->O + fwd_row_scratch(d)) + B + (int64_t)B * d->O;
    int64_t bwd = R * d->GS + (d->P > 0 ? R * d->P : 0) + (int64_t)B * (d->O + bwd_row_scratch(d)) + B;
    return fwd > bwd ? fwd : bwd;
}

int64_t rk_tape_size(const rk_dims *d, int T, int B)
{
    return (int64_t)T * B * d->TS;
}

/* ---- weights --------------------------------------------------------------------------------------- */

static size_t pk_floats(int n, int k)
{
    return (size_t)((n + RK_PANEL - 1) / RK_PANEL) * RK_PANEL * (size_t)k;
}

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* W[o][kk] = src[(o + off) * rs + kk * cs] for o < n, zeros for the panel's padding */
static void pack(rk_pk *p, float *data, int n, int k, const float *src, size_t off, size_t rs, size_t cs)
{
    p->n = n;
    p->k = k;
    p->panels = (n + RK_PANEL - 1) / RK_PANEL;
    p->data = data;
    for (int pi = 0; pi < p->panels; pi++) {
        float *dst = data + (size_t)pi * RK_PANEL * k;
        for (int kk = 0; kk < k; kk++) {
            for (int o = 0; o < RK_PANEL; o++) {
                int oo = pi * RK_PANEL + o;
                dst[(size_t)kk * RK_PANEL + o] = oo < n ? src[(oo + off) * rs + kk * cs] : 0.0f;
            }
        }
    }
}

/* floats of each part of a weight block, in the block's order (each rounded to 16: 64-byte aligned parts) */
typedef struct {
    size_t ih, bx, hh, hhn, bhn, hhT, hhnT, peep, hr, hrT, wih, total;
} block_sizes;

static block_sizes sizes_of(int type, int I, int H, int P, int O, int GH, int vflags)
{
    const int gru = type == RK_GRU, before = gru && (vflags & RK_V_RESET_BEFORE);
    const int hhRows = gru ? 2 * H : GH, hhTK = before ? 2 * H : gru ? 3 * H : GH;
    block_sizes s;
    s.ih = round16(pk_floats(GH, I));
    s.bx = round16(GH);
    s.hh = round16(pk_floats(hhRows, O));
    s.hhn = gru ? round16(pk_floats(H, H)) : 0;
    s.bhn = gru ? round16(H) : 0;
    s.hhT = round16(pk_floats(O, hhTK));
    s.hhnT = before ? round16(pk_floats(H, H)) : 0;
    s.peep = vflags & RK_V_PEEPHOLES ? round16(3 * (size_t)H) : 0;
    s.hr = P > 0 ? round16(pk_floats(P, H)) : 0;
    s.hrT = P > 0 ? round16(pk_floats(H, P)) : 0;
    s.wih = round16((size_t)GH * I);
    s.total = s.ih + s.bx + s.hh + s.hhn + s.bhn + s.hhT + s.hhnT + s.peep + s.hr + s.hrT + s.wih;
    return s;
}

/* every part of w's block from PyTorch-layout arrays (w's dims, bias and block set): rk_prepare's packing,
   and rk_update's into the same places */
static void fill(rk_weights *w, const float *wih, const float *whh, const float *bih, const float *bhh,
        const float *whr, const float *peep)
{
    const int I = w->I, H = w->H, P = w->P, O = w->O, GH = w->GH, bias = w->bias;
    const int gru = w->type == RK_GRU, before = gru && (w->v.flags & RK_V_RESET_BEFORE);
    const int hhRows = gru ? 2 * H : GH, hhTK = before ? 2 * H : gru ? 3 * H : GH;
    block_sizes sz = sizes_of(w->type, I, H, P, O, GH, w->v.flags);
    float *f = w->block;

    pack(&w->ih, f, GH, I, wih, 0, I, 1);
    f += sz.ih;
    w->bx = f;
    for (int o = 0; o < GH; o++) {
        /* b_hh joins b_ih except inside GRU's r * (W_hn h + b_hn) */
        w->bx[o] = !bias ? 0.0f : gru && o >= 2 * H ? bih[o] : bih[o] + bhh[o];
    }
    f += sz.bx;
    pack(&w->hh, f, hhRows, O, whh, 0, O, 1);
    f += sz.hh;
    if (gru) {
        pack(&w->hhn, f, H, H, whh, 2 * (size_t)H, H, 1);
        f += sz.hhn;
        w->bhn = f;
        for (int j = 0; j < H; j++) {
            w->bhn[j] = bias ? bhh[2 * H + j] : 0.0f;
        }
        f += sz.bhn;
    }
    pack(&w->hhT, f, O, hhTK, whh, 0, 1, O); /* W_hh^T: element (o, kk) = W_hh[kk][o] */
    f += sz.hhT;
    if (before) { /* W_hn^T: element (o, kk) = W_hh[2H + kk][o] */
        pack(&w->hhnT, f, H, H, whh, 2 * (size_t)H * H, 1, H);
        f += sz.hhnT;
    }
    if (sz.peep > 0) {
        w->peep = f;
        memcpy(w->peep, peep, sizeof(float) * 3 * (size_t)H);
        f += sz.peep;
    }
    if (P > 0) {
        pack(&w->hr, f, P, H, whr, 0, H, 1);
        f += sz.hr;
        pack(&w->hrT, f, H, P, whr, 0, 1, H);
        f += sz.hrT;
    }
    w->wih = f;
    memcpy(w->wih, wih, sizeof(float) * (size_t)GH * I);
}

rk_weights *rk_prepare(const rk_dims *d, const rk_variant *v, int bias, const float *wih, const float *whh,
        const float *bih, const float *bhh, const float *whr, const float *peep)
{
    block_sizes sz = sizes_of(d->type, d->I, d->H, d->P, d->O, d->GH, v->flags);
    rk_weights *w = calloc(1, sizeof(rk_weights));
    void *block = NULL;
    if (w == NULL || posix_memalign(&block, 64, sz.total * sizeof(float)) != 0) {
        free(w);
        return NULL;
    }
    w->block = block;
    w->type = d->type;
    w->I = d->I;
    w->H = d->H;
    w->P = d->P;
    w->O = d->O;
    w->G = d->G;
    w->GH = d->GH;
    w->GS = d->GS;
    w->TS = d->TS;
    w->bias = bias != 0;
    w->v = *v;
    fill(w, wih, whh, bih, bhh, whr, peep);
    return w;
}

int rk_update(rk_weights *w, const rk_dims *d, int bias, const float *wih, const float *whh, const float *bih,
        const float *bhh, const float *whr, const float *peep)
{
    if (w == NULL || w->type != d->type || w->I != d->I || w->H != d->H || w->P != d->P || w->bias != (bias != 0)
            || w->v.flags != d->vflags) {
        return 0;
    }
    fill(w, wih, whh, bih, bhh, whr, peep);
    return 1;
}

void rk_release(rk_weights *w)
{
    if (w != NULL) {
        free(w->block);
        free(w);
    }
}

/* ---- shared helpers -------------------------------------------------------------------------------- */

static inline int length_of(const int *len, int T, int b)
{
    return len == NULL ? T : len[b];
}

/* ranks: batch rows by length, longest first, ties in batch order (so without lengths: the identity) */
static void rank_rows(const int *len, int T, int B, int *perm)
{
    if (len == NULL) {
        for (int b = 0; b < B; b++) {
            perm[b] = b;
        }
        return;
    }
    int n = 0;
    for (int L = T; L >= 1 && n < B; L--) {
        for (int b = 0; b < B; b++) {
            if (len[b] == L) {
                perm[n++] = b;
            }
        }
    }
}

/* ---- forward --------------------------------------------------------------------------------------- */

/*
 * From this many batch rows on, each step computes its own rows' input projection just before their
 * recurrent product, into gx rows by rank that the next step reuses: the gates never leave the cache,
 * where the separate pass writes T*B rows of gx (13 MB for LSTM 256 over 50 steps of 64 rows) and reads
 * them back from memory. Same sums in the same order, so the same bits. Below this many rows it does not
 * pay: W_ih then comes from cache once per step for very few rows, against once per 64 rows (measured:
 * rnn-bench/RESULTS.md, "Native S3: where the time goes, and what was tried").
 */
#define RK_FUSE_ROWS 16

/*
 * The input projection of a one-hot row of class c: gx = b + W_ih[:, c], no product. The same bits as
 * gemm_rows' chain for that row, which starts at b and adds x[kk] * W[o][kk] in order: a term 0 * w adds an
 * exact zero (nothing changes, but for the sign of a zero sum), and 1 * w adds w with the one rounding of
 * this addition, FMA or not. (Not for non-finite weights: there 0 * inf makes the product NaN.) Column c of
 * a packed panel is RK_PANEL consecutive floats.
 */
static void ih_column(const rk_weights *w, const rk_ops *ops, int c, float *g)
{
    const rk_pk *p = &w->ih;
    for (int pi = 0; pi < p->panels; pi++) {
        const int o0 = pi * RK_PANEL, n = p->n - o0 < RK_PANEL ? p->n - o0 : RK_PANEL;
        ops->sum(w->bx + o0, p->data + ((size_t)pi * p->k + (size_t)c) * RK_PANEL, g + o0, n);
    }
}

typedef struct {
    const rk_weights *w;
    const rk_ops *ops;
    const rk_fwd_args *a;
    float *gx, *hs, *ex;
    int64_t rs; /* floats of row scratch */
    const int *perm;
    int fused; /* the input projection per step, inside the recurrence (see RK_FUSE_ROWS) */
} fwd_ctx;

/* one step for ranks [i0, i0 + nb), nb <= RK_ROWS, every one of them running at step s */
static void fwd_block(const fwd_ctx *x, int s, int i0, int nb)
{
    const rk_weights *w = x->w;
    const rk_ops *ops = x->ops;
    const rk_fwd_args *a = x->a;
    const int H = w->H, O = w->O, P = w->P, GH = w->GH, TS = w->TS, B = a->B;
    const float *hin[RK_ROWS], *gin[RK_ROWS], *bin[RK_ROWS], *fin[RK_ROWS];
    float *g[RK_ROWS], *hrow[RK_ROWS], *slot[RK_ROWS], *aux[RK_ROWS], *orow[RK_ROWS];
    for (int j = 0; j < nb; j++) {
        int i = i0 + j, b = x->perm[i], len = length_of(a->len, a->T, b);
        int t = a->reverse ? len - 1 - s : s;
        int64_t r = (int64_t)t * B + b;
        g[j] = x->gx + (x->fused ? (int64_t)i : r) * GH;
        gin[j] = g[j];
        hrow[j] = x->hs + (int64_t)i * O;
        hin[j] = hrow[j];
        slot[j] = a->tape ? a->tape + r * TS : NULL;
        aux[j] = x->ex + (int64_t)i * x->rs;
        orow[j] = a->out ? a->out + t * a->ots + b * a->obs : NULL;
        if (x->fused && a->cls != NULL) { /* one-hot rows: their column of W_ih, then W_hh h as when apart */
            ih_column(w, x->ops, a->cls[r], g[j]);
        }
    }
    /* whether W_hh h is still to be added to gx in place (below), after the input projection */
    const int apart = !x->fused || a->cls != NULL;
    if (!apart) { /* gx = b + x W_ih^T + h W_hh^T for this step's rows: the sums of the separate passes */
        const float *xin[RK_ROWS], *bx[RK_ROWS];
        for (int j = 0; j < nb; j++) {
            int b = x->perm[i0 + j], len = length_of(a->len, a->T, b);
            int t = a->reverse ? len - 1 - s : s;
            xin[j] = a->x + t * a->xts + b * a->xbs;
            bx[j] = w->bx;
        }
        ops->gemm_rows2(&w->ih, xin, &w->hh, hin, nb, bx, g); /* GRU: W_hh's r and z rows only */
    }
    const rk_variant *v = w->v.flags ? &w->v : NULL; /* a variant runs its own row functions */
    switch (w->type) {
    case RK_LSTM:
        if (apart) {
            ops->gemm_rows(&w->hh, nb, hin, gin, g);
        }
        for (int j = 0; j < nb; j++) {
            float *cc = aux[j];
            float *tc = slot[j] ? slot[j] + O + 5 * H : cc + H;
            float *hf = P > 0 ? cc + 2 * H : hrow[j];
            if (slot[j]) {
                memcpy(slot[j], hrow[j], sizeof(float) * O);
                memcpy(slot[j] + O + 4 * H, cc, sizeof(float) * H);
            }
            if (v) {
                ops->lstm_row_v(v, w->peep, g[j], H, cc, tc, hf, slot[j] ? slot[j] + O + 6 * H + (P > 0 ? H : 0) : NULL,
                        H);
            } else {
                ops->lstm_row(g[j], H, cc, tc, hf, H);
            }
            if (slot[j]) {
                memcpy(slot[j] + O, g[j], sizeof(float) * 4 * H);
                if (P > 0) {
                    memcpy(slot[j] + O + 6 * H, hf, sizeof(float) * H);
                }
            }
            fin[j] = hf;
        }
        if (P > 0) {
            ops->gemm_rows(&w->hr, nb, fin, NULL, hrow);
        }
        break;
    case RK_GRU:
        if (apart) {
            ops->gemm_rows(&w->hh, nb, hin, gin, g); /* r, z: in place on gx */
        }
        if (v && (v->flags & RK_V_RESET_BEFORE)) { /* n = g(gx_n + W_hn (r*h) + b_hn): r first, then the product */
            float *rh[RK_ROWS];
            for (int j = 0; j < nb; j++) {
                rh[j] = slot[j] ? slot[j] + 8 * H : aux[j] + H;
                ops->gru_gates_v(v, g[j], H, hrow[j], rh[j], slot[j] ? slot[j] + 5 * H : NULL, H);
                fin[j] = rh[j];
                if (slot[j]) {
                    aux[j] = slot[j] + 4 * H;
                }
                bin[j] = w->bhn;
            }
            ops->gemm_rows(&w->hhn, nb, fin, bin, aux);
            for (int j = 0; j < nb; j++) {
                if (slot[j]) {
                    memcpy(slot[j], hrow[j], sizeof(float) * H);
                }
                ops->gru_cand_v(v, g[j], H, aux[j], hrow[j], slot[j] ? slot[j] + 7 * H : NULL, H);
                if (slot[j]) {
                    memcpy(slot[j] + H, g[j], sizeof(float) * 3 * H);
                }
            }
            break;
        }
        for (int j = 0; j < nb; j++) {
            if (slot[j]) {
                aux[j] = slot[j] + 4 * H; /* W_hn h + b_hn straight into the tape */
            }
            bin[j] = w->bhn;
        }
        ops->gemm_rows(&w->hhn, nb, hin, bin, aux);
        for (int j = 0; j < nb; j++) {
            if (slot[j]) {
                memcpy(slot[j], hrow[j], sizeof(float) * H);
            }
            if (v) {
                float *pre = slot[j] ? slot[j] + 5 * H : NULL;
                ops->gru_gates_v(v, g[j], H, NULL, NULL, pre, H);
                ops->gru_cand_v(v, g[j], H, aux[j], hrow[j], pre ? pre + 2 * H : NULL, H);
            } else {
                ops->gru_row(g[j], H, aux[j], hrow[j], H);
            }
            if (slot[j]) {
                memcpy(slot[j] + H, g[j], sizeof(float) * 3 * H);
            }
        }
        break;
    default:
        if (apart) {
            ops->gemm_rows(&w->hh, nb, hin, gin, g);
        }
        for (int j = 0; j < nb; j++) {
            if (slot[j]) {
                memcpy(slot[j], hrow[j], sizeof(float) * H);
            }
            if (v) {
                if (slot[j]) {
                    memcpy(slot[j] + 2 * H, g[j], sizeof(float) * H);
                }
                ops->rnn_row_v(v, g[j], hrow[j], H);
            } else {
                ops->rnn_row(g[j], hrow[j], H, w->type == RK_RNN_RELU);
            }
            if (slot[j]) {
                memcpy(slot[j] + H, hrow[j], sizeof(float) * H);
            }
        }
        break;
    }
    for (int j = 0; j < nb; j++) {
        if (orow[j]) {
            memcpy(orow[j], hrow[j], sizeof(float) * O);
        }
    }
}

/* each part of a split gets at least this many multiply-adds: waking a pool worker costs tens of
   microseconds, more than splitting a smaller phase saves (measured: rnn-bench/RESULTS.md, "Two threads:
   where a split starts to pay") */
#define RK_PART_MIN (1LL << 24)

/* parts for a phase of `fmas` multiply-adds that splits into at most maxParts, each at least partMin */
static int split_by(int64_t fmas, int64_t maxParts, int threads, int64_t partMin)
{
    int64_t parts = threads;
    if (maxParts < parts) {
        parts = maxParts;
    }
    if (fmas / partMin < parts) {
        parts = fmas / partMin;
    }
    return parts < 2 ? 1 : (int)parts;
}

/* parts for a phase of `fmas` multiply-adds that splits into at most maxParts */
static int split(int64_t fmas, int64_t maxParts, int threads)
{
    return split_by(fmas, maxParts, threads, RK_PART_MIN);
}

/* [lo, hi) of n for part p of parts, boundaries on multiples of `grain` */
static void range(int64_t n, int p, int parts, int64_t grain, int64_t *lo, int64_t *hi)
{
    int64_t units = (n + grain - 1) / grain;
    *lo = units * p / parts * grain;
    *hi = units * (p + 1) / parts * grain;
    if (*lo > n) {
        *lo = n;
    }
    if (*hi > n) {
        *hi = n;
    }
}

/* the input projection of steps [t0, t1), rows of RK_ROWS at a time (each row's bits do not depend on the grouping) */
static void fwd_projection(void *ctx, int p, int parts)
{
    const fwd_ctx *x = ctx;
    const rk_weights *w = x->w;
    const rk_fwd_args *a = x->a;
    const int T = a->T, B = a->B, GH = w->GH;
    int64_t t0, t1;
    range(T, p, parts, 1, &t0, &t1);
    const float *ar[RK_ROWS], *ir[RK_ROWS];
    float *cr[RK_ROWS];
    int n = 0;
    for (int t = (int)t0; t < t1; t++) {
        for (int b = 0; b < B; b++) {
            if (t >= length_of(a->len, T, b)) {
                continue;
            }
            if (a->cls != NULL) {
                ih_column(w, x->ops, a->cls[(int64_t)t * B + b], x->gx + ((int64_t)t * B + b) * GH);
                continue;
            }
            ar[n] = a->x + t * a->xts + b * a->xbs;
            ir[n] = w->bx;
            cr[n] = x->gx + ((int64_t)t * B + b) * GH;
            if (++n == RK_ROWS) {
                x->ops->gemm_rows(&w->ih, n, ar, ir, cr);
                n = 0;
            }
        }
    }
    if (n > 0) {
        x->ops->gemm_rows(&w->ih, n, ar, ir, cr);
    }
}

/* every step for ranks [i0, i1): step s runs those longer than s, a block of rows at a time */
static void fwd_recurrence(void *ctx, int p, int parts)
{
    const fwd_ctx *x = ctx;
    const rk_fwd_args *a = x->a;
    int64_t lo, hi;
    range(a->B, p, parts, 4, &lo, &hi);
    int i0 = (int)lo, i1 = (int)hi;
    if (i0 >= i1) {
        return;
    }
    int steps = length_of(a->len, a->T, x->perm[i0]), ns = i1;
    for (int s = 0; s < steps; s++) {
        while (ns > i0 && length_of(a->len, a->T, x->perm[ns - 1]) <= s) {
            ns--;
        }
        for (int r0 = i0; r0 < ns; r0 += RK_ROWS) {
            fwd_block(x, s, r0, ns - r0 < RK_ROWS ? ns - r0 : RK_ROWS);
        }
    }
}

/*
 * Few rows and a second thread (batch 1, ...): rows cannot be shared out, so each step is split by hidden
 * units. Part p owns units [u0, u1), whole panels, of every row: the W_hh outputs of those units in each
 * gate, their activations, c, and h. Reading W_hh is what bounds a batch-1 step, and each part streams its
 * own share (for LSTM 256 half of its 1 MB, which then stays in its core's L2). h is double-buffered (step
 * s reads hb[s & 1] and writes the other), so the parts meet once per step, at a spinning barrier. Every output
 * keeps its sum and its order: the bits of one thread. Inference only (no tape), no projection.
 */
typedef struct {
    const fwd_ctx *x;
    float *hb[2];
    atomic_int arrived;
} unit_split;

/* waits until `target` parts have arrived: spins (a step takes microseconds), yielding now and then in
   case the other part's thread is not running */
static void meet(atomic_int *arrived, int target)
{
    for (int spins = 1; atomic_load_explicit(arrived, memory_order_acquire) < target; spins++) {
        if (spins % 4096 == 0) {
            sched_yield();
        } else {
            __builtin_ia32_pause();
        }
    }
}

/* outputs [o, o + n) of a packed W: the panels that hold them (o and n multiples of RK_PANEL) */
static rk_pk panels_of(const rk_pk *w, int o, int n)
{
    rk_pk v = {n, w->k, n / RK_PANEL, w->data + (size_t)o * w->k};
    return v;
}

static void fwd_units(void *ctx, int p, int parts)
{
    unit_split *u = ctx;
    const fwd_ctx *x = u->x;
    const rk_weights *w = x->w;
    const rk_ops *ops = x->ops;
    const rk_fwd_args *a = x->a;
    const int H = w->H, GH = w->GH, B = a->B, T = a->T;
    int64_t lo, hi;
    range(H, p, parts, RK_PANEL, &lo, &hi);
    const int u0 = (int)lo, n = (int)(hi - lo);
    const int gates = w->type == RK_LSTM ? 4 : w->type == RK_GRU ? 2 : 1; /* in w->hh (GRU: r, z) */
    const rk_variant *v = w->v.flags ? &w->v : NULL;
    rk_pk hh[4], hhn;
    for (int q = 0; q < gates; q++) {
        hh[q] = panels_of(&w->hh, q * H + u0, n);
    }
    if (w->type == RK_GRU) {
        hhn = panels_of(&w->hhn, u0, n);
    }
    int steps = length_of(a->len, T, x->perm[0]), ns = B;
    for (int s = 0; s < steps; s++) {
        while (ns > 0 && length_of(a->len, T, x->perm[ns - 1]) <= s) {
            ns--;
        }
        const float *hin = u->hb[s & 1];
        float *hout = u->hb[(s + 1) & 1];
        for (int i = 0; i < ns; i++) {
            int b = x->perm[i], t = a->reverse ? length_of(a->len, T, b) - 1 - s : s;
            float *g = x->gx + ((int64_t)t * B + b) * GH;
            const float *hr = hin + (int64_t)i * H;
            float *ho = hout + (int64_t)i * H, *aux = x->ex + (int64_t)i * x->rs;
            for (int q = 0; q < gates; q++) {
                const float *init = g + q * H + u0;
                float *c = g + q * H + u0;
                ops->gemm_rows(&hh[q], 1, &hr, &init, &c);
            }
            switch (w->type) {
            case RK_LSTM:
                if (v) {
                    ops->lstm_row_v(v, w->peep ? w->peep + u0 : NULL, g + u0, H, aux + u0, aux + H + u0, ho + u0, NULL, n);
                } else {
                    ops->lstm_row(g + u0, H, aux + u0, aux + H + u0, ho + u0, n);
                }
                break;
            case RK_GRU: {
                const float *bn = w->bhn + u0;
                float *hn = aux + u0;
                ops->gemm_rows(&hhn, 1, &hr, &bn, &hn);
                memcpy(ho + u0, hr + u0, sizeof(float) * n);
                if (v) { /* (never the reset before the product: see unit_parts) */
                    ops->gru_gates_v(v, g + u0, H, NULL, NULL, NULL, n);
                    ops->gru_cand_v(v, g + u0, H, hn, ho + u0, NULL, n);
                } else {
                    ops->gru_row(g + u0, H, hn, ho + u0, n);
                }
                break;
            }
            default:
                if (v) {
                    ops->rnn_row_v(v, g + u0, ho + u0, n);
                } else {
                    ops->rnn_row(g + u0, ho + u0, n, w->type == RK_RNN_RELU);
                }
                break;
            }
            if (a->out) {
                memcpy(a->out + t * a->ots + b * a->obs + u0, ho + u0, sizeof(float) * n);
            }
        }
        atomic_fetch_add_explicit(&u->arrived, 1, memory_order_acq_rel);
        meet(&u->arrived, parts * (s + 1));
    }
}

/*
 * When the split by units pays: the worker wakes once per call (tens of microseconds), and each step the
 * parts meet and exchange h, its cache lines crossing between the cores: a fixed cost per step that only a
 * large enough step outweighs. The split starts at GRU 256's step (196 608 recurrent multiply-adds), the
 * smallest measured to gain; LSTM 128 and RNN 256 (65 536 a step) lose (measured: rnn-bench/RESULTS.md,
 * "Two threads: where a split starts to pay" and "Two threads, re-checked").
 */
#ifndef RK_UNITS_STEP_MIN /* (overridable for experiments) */
#define RK_UNITS_STEP_MIN (3LL << 16)
#endif
#define RK_UNITS_MIN (1LL << 22)

/* parts for splitting the steps by units, or 1: see fwd_units */
static int unit_parts(const rk_weights *w, const rk_fwd_args *a, int64_t valid, int rowParts)
{
    if (a->threads < 2 || a->tape != NULL || w->P > 0 || w->H % RK_PANEL != 0 || rowParts >= 2) {
        return 1;
    }
    if (w->v.flags & RK_V_RESET_BEFORE) { /* W_hn (r*h) reads every unit's r: a second meeting per step */
        return 1;
    }
    int64_t perStep = (int64_t)w->GH * w->H;
    int parts = a->threads < w->H / RK_PANEL ? a->threads : w->H / RK_PANEL;
    return perStep >= RK_UNITS_STEP_MIN && valid * perStep >= RK_UNITS_MIN ? parts : 1;
}

void rk_forward(const rk_weights *w, const rk_ops *ops, const rk_fwd_args *a)
{
    const int T = a->T, B = a->B, H = w->H, O = w->O, GH = w->GH;
    const int64_t R = (int64_t)T * B;
    rk_dims d = {w->type, w->I, H, w->P, O, w->G, GH, w->GS, w->TS, w->v.flags};
    fwd_ctx x = {w, ops, a, NULL, NULL, NULL, fwd_row_scratch(&d), NULL, B >= RK_FUSE_ROWS};
    x.gx = a->ws;
    x.hs = x.gx + R * GH;
    x.ex = x.hs + (int64_t)B * O;
    int *perm = (int *)(x.ex + (int64_t)B * x.rs);
    rank_rows(a->len, T, B, perm);
    x.perm = perm;

    /* (1) gx = x W_ih^T + b for every valid (t, b): one product over all of them (split by time), unless
       it runs per step inside (3) */
    int64_t valid = 0;
    for (int b = 0; b < B; b++) {
        valid += length_of(a->len, T, b);
    }
    int parts;
    if (!x.fused) { /* (one-hot rows: a copy of GH floats each, not worth a second thread) */
        parts = split(valid * GH * (a->cls != NULL ? 1 : w->I), T, a->threads);
        rk_parallel(parts, a->threads, fwd_projection, &x);
    }

    /* (2) the state in, by rank */
    for (int i = 0; i < B; i++) {
        int b = perm[i];
        memcpy(x.hs + (int64_t)i * O, a->h + (int64_t)b * O, sizeof(float) * O);
        if (w->type == RK_LSTM) {
            memcpy(x.ex + (int64_t)i * x.rs, a->c + (int64_t)b * H, sizeof(float) * H);
        }
    }

    /* (3) the steps, split by blocks of rows (each part owns its rows for the whole sequence), or, with
       too few rows for that, by hidden units */
    parts = split(valid * GH * (O + (x.fused && a->cls == NULL ? w->I : 0)), (B + 3) / 4, a->threads);
    int unitParts = x.fused ? 1 : unit_parts(w, a, valid, parts);
    unit_split us = {&x, {x.hs, (float *)(perm + B)}, 0};
    if (unitParts >= 2 && rk_parallel_together(unitParts, fwd_units, &us)) {
        for (int i = 0; i < B; i++) { /* a row's last h is in the buffer its last step wrote */
            if ((length_of(a->len, T, perm[i]) & 1) != 0) {
                memcpy(x.hs + (int64_t)i * O, us.hb[1] + (int64_t)i * O, sizeof(float) * O);
            }
        }
    } else {
        rk_parallel(parts, a->threads, fwd_recurrence, &x);
    }

    /* (4) the state out; zeros at the padded steps (output rows, and the tape slots the backward
       pass's all-rows products read) */
    for (int i = 0; i < B; i++) {
        int b = perm[i];
        memcpy(a->h + (int64_t)b * O, x.hs + (int64_t)i * O, sizeof(float) * O);
        if (w->type == RK_LSTM) {
            memcpy(a->c + (int64_t)b * H, x.ex + (int64_t)i * x.rs, sizeof(float) * H);
        }
    }
    if (a->len != NULL) {
        for (int b = 0; b < B; b++) {
            for (int t = a->len[b]; t < T; t++) {
                if (a->out) {
                    memset(a->out + t * a->ots + b * a->obs, 0, sizeof(float) * O);
                }
                if (a->tape) {
                    memset(a->tape + ((int64_t)t * B + b) * w->TS, 0, sizeof(float) * w->TS);
                }
            }
        }
    }
}

/* ---- backward -------------------------------------------------------------------------------------- */

typedef struct {
    const rk_weights *w;
    const rk_ops *ops;
    const rk_bwd_args *a;
    float *dG, *dht, *dhs, *ex;
    int64_t rs;
    const int *perm;
} bwd_ctx;

static void bwd_block(const bwd_ctx *x, int s, int i0, int nb)
{
    const rk_weights *w = x->w;
    const rk_ops *ops = x->ops;
    const rk_bwd_args *a = x->a;
    const int H = w->H, O = w->O, P = w->P, GS = w->GS, TS = w->TS, B = a->B;
    const float *din[RK_ROWS], *gin[RK_ROWS], *slot[RK_ROWS];
    float *d[RK_ROWS], *dg[RK_ROWS], *dr[RK_ROWS];
    for (int j = 0; j < nb; j++) {
        int i = i0 + j, b = x->perm[i], len = length_of(a->len, a->T, b);
        int t = a->reverse ? len - 1 - s : s;
        int64_t r = (int64_t)t * B + b;
        d[j] = x->dhs + (int64_t)i * O;
        din[j] = d[j];
        dg[j] = x->dG + r * GS;
        gin[j] = dg[j];
        slot[j] = a->tape + r * TS;
        dr[j] = x->ex + (int64_t)i * x->rs + H;
        if (a->dout) {
            ops->add(a->dout + t * a->dts + b * a->dbs, d[j], O);
        }
        if (P > 0) {
            memcpy(x->dht + r * P, d[j], sizeof(float) * P); /* for dW_hr */
        }
    }
    const rk_variant *v = w->v.flags ? &w->v : NULL;
    switch (w->type) {
    case RK_LSTM:
        if (P > 0) { /* dL/d(o*tanh(c')) = W_hr^T dh */
            ops->gemm_rows(&w->hrT, nb, din, NULL, dr);
        }
        for (int j = 0; j < nb; j++) {
            float *dc = x->ex + (int64_t)(i0 + j) * x->rs;
            if (v) {
                ops->lstm_back_row_v(v, w->peep, slot[j] + O, slot[j] + O + 6 * H + (P > 0 ? H : 0),
                        P > 0 ? dr[j] : d[j], dc, dg[j], dc + H + (P > 0 ? H : 0), H);
            } else {
                ops->lstm_back_row(slot[j] + O, slot[j] + O + 4 * H, slot[j] + O + 5 * H, P > 0 ? dr[j] : d[j], dc,
                        dg[j], H);
            }
        }
        ops->gemm_rows(&w->hhT, nb, gin, NULL, d);
        break;
    case RK_GRU:
        if (v && (v->flags & RK_V_RESET_BEFORE)) {
            /* n = g(gx_n + W_hn (r*h) + b_hn): dL/d(r*h) = dn W_hn first, since dr needs it; then
               dh_prev = dh*z + r*dL/d(r*h) + [dr dz] W_hh[r, z] */
            const float *dn[RK_ROWS];
            float *drh[RK_ROWS];
            for (int j = 0; j < nb; j++) {
                ops->gru_back_row_v(v, slot[j], slot[j] + 5 * H, d[j], dg[j], H);
                dn[j] = dg[j] + 3 * H;
                drh[j] = x->ex + (int64_t)(i0 + j) * x->rs;
            }
            ops->gemm_rows(&w->hhnT, nb, dn, NULL, drh);
            for (int j = 0; j < nb; j++) {
                ops->gru_back_rbp(v, slot[j], slot[j] + 5 * H, drh[j], d[j], dg[j], H);
            }
            ops->gemm_rows(&w->hhT, nb, gin, din, d); /* K = 2H: dr, dz */
            break;
        }
        for (int j = 0; j < nb; j++) {
            if (v) {
                ops->gru_back_row_v(v, slot[j], slot[j] + 5 * H, d[j], dg[j], H);
            } else {
                ops->gru_back_row(slot[j], d[j], dg[j], H);
            }
        }
        ops->gemm_rows(&w->hhT, nb, gin, din, d); /* dh*z plus what flows through W_hh */
        break;
    default:
        for (int j = 0; j < nb; j++) {
            if (v) {
                ops->rnn_back_row_v(v, slot[j], slot[j] + 2 * H, d[j], dg[j], H);
            } else {
                ops->rnn_back_row(slot[j] + H, d[j], dg[j], H, w->type == RK_RNN_RELU);
            }
        }
        ops->gemm_rows(&w->hhT, nb, gin, NULL, d);
        break;
    }
}

static void bwd_recurrence(void *ctx, int p, int parts)
{
    const bwd_ctx *x = ctx;
    const rk_bwd_args *a = x->a;
    int64_t lo, hi;
    range(a->B, p, parts, 4, &lo, &hi);
    int i0 = (int)lo, i1 = (int)hi;
    if (i0 >= i1) {
        return;
    }
    int steps = length_of(a->len, a->T, x->perm[i0]), ns = i0;
    for (int s = steps - 1; s >= 0; s--) {
        while (ns < i1 && length_of(a->len, a->T, x->perm[ns]) > s) {
            ns++;
        }
        for (int r0 = i0; r0 < ns; r0 += RK_ROWS) {
            bwd_block(x, s, r0, ns - r0 < RK_ROWS ? ns - r0 : RK_ROWS);
        }
    }
}

/* rows of dW per OpenBLAS call (dx: rows of dx): fixed, so the bits never depend on a thread count */
#define RK_TILE 128
#define RK_DX_TILE 512

typedef struct {
    int gcol, wrow, n;
    int tcol; /* hidden-side segments: the tape column of what multiplies them (h_prev; r*h for W_hn of a GRU
                 with the reset before the product) */
} segment;

static void sgemm(int ta, int tb, int m, int n, int k, const float *A, int64_t lda, const float *Bm, int64_t ldb,
        float *C, int64_t ldc)
{
    rk_sgemm(RK_ROW_MAJOR, ta ? RK_TRANS : RK_NO_TRANS, tb ? RK_TRANS : RK_NO_TRANS, m, n, k, 1.0f, A, (int)lda,
            Bm, (int)ldb, 1.0f, C, (int)ldc);
}

typedef struct {
    const bwd_ctx *x;
    segment in[2], hid[2];
    int nin, nhid, xUniform, dxUniform;
    int nIh, nHh, nHr, nDx, tasks;
} prod_ctx;

/* dW_ih rows [m0, m0 + mt) of segment sg: sum over every valid (t, b) of dG^T x */
/* floats of the class-major buffer of a one-hot dW_ih tile at most (16 MB); larger falls back to adding
   into dW_ih's columns directly */
#define RK_SCATTER_MAX (1LL << 22)

static void task_wih(const prod_ctx *pc, int sg, int m0, int mt)
{
    const bwd_ctx *x = pc->x;
    const rk_bwd_args *a = x->a;
    const int T = a->T, B = a->B, I = x->w->I, GS = x->w->GS;
    const float *A = x->dG + pc->in[sg].gcol + m0;
    float *C = a->gwih + (int64_t)(pc->in[sg].wrow + m0) * I;
    /* one-hot rows, as rows of a class-major buffer when it fits: each row's gate gradients added to its
       class's contiguous row (vector adds), then the buffer added to dW_ih's columns once */
    float *byClass = NULL;
    if (a->cls != NULL && (int64_t)I * mt <= RK_SCATTER_MAX) {
        byClass = calloc((size_t)I * mt, sizeof(float));
    }
    if (byClass != NULL) {
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                if (t < length_of(a->len, T, b)) {
                    int64_t r = (int64_t)t * B + b;
                    x->ops->add(A + r * GS, byClass + (int64_t)a->cls[r] * mt, mt);
                }
            }
        }
        for (int m = 0; m < mt; m++) {
            float *row = C + (int64_t)m * I;
            for (int c = 0; c < I; c++) {
                row[c] += byClass[(int64_t)c * mt + m];
            }
        }
        free(byClass);
    } else if (a->cls != NULL) {
        /* one-hot rows: each row's gate gradients added to the column of its class, rows in ascending
           order (r = t*B + b), the product's nonzero terms; the order is the tile's own, whatever the
           thread count */
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                if (t >= length_of(a->len, T, b)) {
                    continue;
                }
                int64_t r = (int64_t)t * B + b;
                const float *g = A + r * GS;
                float *col = C + a->cls[r];
                for (int m = 0; m < mt; m++) {
                    col[(int64_t)m * I] += g[m];
                }
            }
        }
    } else if (pc->xUniform) {
        sgemm(1, 0, mt, I, T * B, A, GS, a->x, a->xbs, C, I);
    } else if (a->xts >= I) {
        for (int b = 0; b < B; b++) {
            sgemm(1, 0, mt, I, length_of(a->len, T, b), A + (int64_t)b * GS, (int64_t)B * GS, a->x + b * a->xbs,
                    a->xts, C, I);
        }
    } else {
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < length_of(a->len, T, b); t++) {
                sgemm(1, 0, mt, I, 1, A + ((int64_t)t * B + b) * GS, GS, a->x + t * a->xts + b * a->xbs, I, C, I);
            }
        }
    }
}

/* dx += dG W_ih for the rows of task k: a tile of rows (uniform layout) or batch row k */
static void task_dx(const prod_ctx *pc, int k)
{
    const bwd_ctx *x = pc->x;
    const rk_bwd_args *a = x->a;
    const int T = a->T, B = a->B, I = x->w->I, GS = x->w->GS;
    const int64_t R = (int64_t)T * B;
    for (int sg = 0; sg < pc->nin; sg++) {
        const float *Wseg = x->w->wih + (int64_t)pc->in[sg].wrow * I;
        const float *A = x->dG + pc->in[sg].gcol;
        int n = pc->in[sg].n;
        if (pc->dxUniform) {
            int64_t m0 = (int64_t)k * RK_DX_TILE;
            int mt = (int)(R - m0 < RK_DX_TILE ? R - m0 : RK_DX_TILE);
            sgemm(0, 0, mt, I, n, A + m0 * GS, GS, Wseg, I, a->dx + m0 * a->dxbs, a->dxbs);
        } else if (a->dxts >= I) {
            sgemm(0, 0, length_of(a->len, T, k), I, n, A + (int64_t)k * GS, (int64_t)B * GS, Wseg, I,
                    a->dx + k * a->dxbs, a->dxts);
        } else {
            for (int t = 0; t < length_of(a->len, T, k); t++) {
                sgemm(0, 0, 1, I, n, A + ((int64_t)t * B + k) * GS, GS, Wseg, I, a->dx + t * a->dxts + k * a->dxbs, I);
            }
        }
    }
}

static void products(void *ctx, int p, int parts)
{
    const prod_ctx *pc = ctx;
    const bwd_ctx *x = pc->x;
    const rk_bwd_args *a = x->a;
    const rk_weights *w = x->w;
    const int64_t R = (int64_t)a->T * a->B;
    for (int k = p; k < pc->tasks; k += parts) {
        int j = k;
        if (j < pc->nIh) {
            for (int sg = 0; sg < pc->nin; sg++) {
                int tiles = (pc->in[sg].n + RK_TILE - 1) / RK_TILE;
                if (j < tiles) {
                    int m0 = j * RK_TILE;
                    task_wih(pc, sg, m0, pc->in[sg].n - m0 < RK_TILE ? pc->in[sg].n - m0 : RK_TILE);
                    break;
                }
                j -= tiles;
            }
            continue;
        }
        j -= pc->nIh;
        if (j < pc->nHh) { /* dW_hh: dG_h^T H_prev over every row (padded ones are zeros) */
            for (int sg = 0; sg < pc->nhid; sg++) {
                const segment *hs = &pc->hid[sg];
                int tiles = (hs->n + RK_TILE - 1) / RK_TILE;
                if (j < tiles) {
                    int m0 = j * RK_TILE, mt = hs->n - m0 < RK_TILE ? hs->n - m0 : RK_TILE;
                    sgemm(1, 0, mt, w->O, (int)R, x->dG + hs->gcol + m0, w->GS, a->tape + hs->tcol, w->TS,
                            a->gwhh + (int64_t)(hs->wrow + m0) * w->O, w->O);
                    break;
                }
                j -= tiles;
            }
            continue;
        }
        j -= pc->nHh;
        if (j < pc->nHr) { /* dW_hr: dH^T (o*tanh(c')) */
            int m0 = j * RK_TILE, mt = w->P - m0 < RK_TILE ? w->P - m0 : RK_TILE;
            sgemm(1, 0, mt, w->H, (int)R, x->dht + m0, w->P, a->tape + w->O + 6 * w->H, w->TS,
                    a->gwhr + (int64_t)m0 * w->H, w->H);
            continue;
        }
        task_dx(pc, j - pc->nHr);
    }
}

void rk_backward(const rk_weights *w, const rk_ops *ops, const rk_bwd_args *a)
{
    const int T = a->T, B = a->B, H = w->H, O = w->O, P = w->P, I = w->I, GS = w->GS, TS = w->TS;
    const int64_t R = (int64_t)T * B;
    rk_dims d = {w->type, I, H, P, O, w->G, w->GH, GS, TS, w->v.flags};
    bwd_ctx x = {w, ops, a, NULL, NULL, NULL, NULL, bwd_row_scratch(&d), NULL};
    x.dG = a->ws;
    x.dht = x.dG + R * GS;
    x.dhs = x.dht + (P > 0 ? R * P : 0);
    x.ex = x.dhs + (int64_t)B * O;
    int *perm = (int *)(x.ex + (int64_t)B * x.rs);
    rank_rows(a->len, T, B, perm);
    x.perm = perm;

    for (int i = 0; i < B; i++) {
        int b = perm[i];
        memcpy(x.dhs + (int64_t)i * O, a->dh + (int64_t)b * O, sizeof(float) * O);
        if (w->type == RK_LSTM) {
            memcpy(x.ex + (int64_t)i * x.rs, a->dc + (int64_t)b * H, sizeof(float) * H);
        }
    }
    if (a->len != NULL) { /* padded rows take part in the all-rows products as zeros */
        for (int b = 0; b < B; b++) {
            for (int t = a->len[b]; t < T; t++) {
                int64_t r = (int64_t)t * B + b;
                memset(x.dG + r * GS, 0, sizeof(float) * GS);
                if (P > 0) {
                    memset(x.dht + r * P, 0, sizeof(float) * P);
                }
            }
        }
    }

    /* (1) back in time: gate gradients per row, dh_prev through W_hh; split by blocks of rows */
    int64_t valid = 0;
    for (int b = 0; b < B; b++) {
        valid += length_of(a->len, T, b);
    }
    rk_parallel(split(valid * w->GH * O, (B + 3) / 4, a->threads), a->threads, bwd_recurrence, &x);
    for (int i = 0; i < B; i++) {
        int b = perm[i];
        memcpy(a->dh + (int64_t)b * O, x.dhs + (int64_t)i * O, sizeof(float) * O);
        if (w->type == RK_LSTM) {
            memcpy(a->dc + (int64_t)b * H, x.ex + (int64_t)i * x.rs, sizeof(float) * H);
        }
    }

    /* (2) weight gradients, sums over every step, and (3) the input gradient (added to what is there):
       sgemm calls on fixed tiles, spread over the threads (a tile's bits do not depend on who runs it) */
    prod_ctx pc;
    pc.x = &x;
    if (w->type == RK_GRU) {
        pc.in[0] = (segment){0, 0, 2 * H, 0};
        pc.in[1] = (segment){3 * H, 2 * H, H, 0};
        pc.nin = 2;
        if (w->v.flags & RK_V_RESET_BEFORE) { /* W_hn multiplies r*h, kept on the tape */
            pc.hid[0] = (segment){0, 0, 2 * H, 0};
            pc.hid[1] = (segment){2 * H, 2 * H, H, 8 * H};
            pc.nhid = 2;
        } else {
            pc.hid[0] = (segment){0, 0, 3 * H, 0};
            pc.nhid = 1;
        }
    } else {
        pc.in[0] = (segment){0, 0, w->GH, 0};
        pc.nin = 1;
        pc.hid[0] = (segment){0, 0, w->GH, 0};
        pc.nhid = 1;
    }
    pc.xUniform = a->len == NULL && a->xts == (int64_t)B * a->xbs && a->xbs >= I;
    pc.dxUniform = a->len == NULL && a->dxts == (int64_t)B * a->dxbs && a->dxbs >= I;
    pc.nIh = 0;
    for (int sg = 0; sg < pc.nin; sg++) {
        pc.nIh += (pc.in[sg].n + RK_TILE - 1) / RK_TILE;
    }
    pc.nHh = 0;
    for (int sg = 0; sg < pc.nhid; sg++) {
        pc.nHh += (pc.hid[sg].n + RK_TILE - 1) / RK_TILE;
    }
    pc.nHr = P > 0 ? (P + RK_TILE - 1) / RK_TILE : 0;
    pc.nDx = a->dx == NULL ? 0 : pc.dxUniform ? (int)((R + RK_DX_TILE - 1) / RK_DX_TILE) : B;
    pc.tasks = pc.nIh + pc.nHh + pc.nHr + pc.nDx;
    int64_t fmas = valid * (int64_t)w->GH * ((a->cls != NULL ? 1 : I) + I + O) + (P > 0 ? valid * (int64_t)P * H : 0);
    rk_parallel(split(fmas, pc.tasks, a->threads), a->threads, products, &pc);

    if (w->bias) { /* bias gradients: column sums over the valid rows, in order */
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                if (t >= length_of(a->len, T, b)) {
                    continue;
                }
                const float *row = x.dG + ((int64_t)t * B + b) * GS;
                for (int sg = 0; sg < pc.nin; sg++) {
                    ops->add(row + pc.in[sg].gcol, a->gbih + pc.in[sg].wrow, pc.in[sg].n);
                }
                for (int sg = 0; sg < pc.nhid; sg++) {
                    ops->add(row + pc.hid[sg].gcol, a->gbhh + pc.hid[sg].wrow, pc.hid[sg].n);
                }
            }
        }
    }
    if (w->peep != NULL && a->gpeep != NULL) { /* peepholes: dp_i = sum da_i c, dp_f = sum da_f c, dp_o = sum da_o c' */
        const int cnew = O + 6 * H + (P > 0 ? H : 0) + 4 * H;
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                if (t >= length_of(a->len, T, b)) {
                    continue;
                }
                int64_t r = (int64_t)t * B + b;
                const float *row = x.dG + r * GS, *slot = a->tape + r * TS;
                ops->mul_add(row, slot + O + 4 * H, a->gpeep, H);
                ops->mul_add(row + H, slot + O + 4 * H, a->gpeep + H, H);
                ops->mul_add(row + 3 * H, slot + cnew, a->gpeep + 2 * H, H);
            }
        }
    }
}

/* ---- dense products and softmax (DenseKernel) ------------------------------------------------------- */

/*
 * Rows of c per OpenBLAS call: fixed, never derived from the thread count, because OpenBLAS's results are
 * not row-invariant (a row's bits depend on the rows around it in the call): the same tiles on any number
 * of threads give the same bits. Large enough that the tiles' repeated packing of b stays a small share
 * of a tile's work.
 */
#define RK_DENSE_TILE 256
/*
 * Multiply-adds per part of a split product: a quarter of the recurrent phases' RK_PART_MIN, so that the
 * products of a Linear head over a training batch (1024 x 128 x 86 in rnnkit train's default job) split;
 * a part, whole sgemm tiles with nothing to wait for, still takes longer than waking a pool worker.
 */
#define RK_DENSE_PART_MIN (1LL << 22)

/*
 * Columns of c per OpenBLAS call when c has a single tile of rows (a weight gradient such as the head's
 * 86 x 128 dW): fixed like the row tiles, so that such a product splits over threads too.
 */
#define RK_DENSE_COLS 64

/* the column tiles of a product: one unless c has a single tile of rows and more columns than a tile */
static int dense_col_tiles(const rk_mm_args *x)
{
    return x->m <= RK_DENSE_TILE && x->n > RK_DENSE_COLS ? (x->n + RK_DENSE_COLS - 1) / RK_DENSE_COLS : 1;
}

static void dense_tiles(void *ctx, int p, int parts)
{
    const rk_mm_args *x = ctx;
    const int rowTiles = (x->m + RK_DENSE_TILE - 1) / RK_DENSE_TILE, colTiles = dense_col_tiles(x);
    for (int t = p; t < rowTiles * colTiles; t += parts) {
        const int ti = t / colTiles, tj = t % colTiles;
        const int i0 = ti * RK_DENSE_TILE, mt = x->m - i0 < RK_DENSE_TILE ? x->m - i0 : RK_DENSE_TILE;
        const int j0 = colTiles == 1 ? 0 : tj * RK_DENSE_COLS;
        const int nt = colTiles == 1 ? x->n : x->n - j0 < RK_DENSE_COLS ? x->n - j0 : RK_DENSE_COLS;
        /* rows i0.. of a: columns i0.. of the stored matrix when a is transposed; likewise columns j0.. of b */
        const float *a = x->ta ? x->a + i0 : x->a + (int64_t)i0 * x->lda;
        const float *b = x->tb ? x->b + (int64_t)j0 * x->ldb : x->b + j0;
        rk_sgemm(RK_ROW_MAJOR, x->ta ? RK_TRANS : RK_NO_TRANS, x->tb ? RK_TRANS : RK_NO_TRANS, mt, nt, x->k,
                1.0f, a, x->lda, b, x->ldb, x->accumulate ? 1.0f : 0.0f, x->c + (int64_t)i0 * x->ldc + j0, x->ldc);
    }
}

void rk_multiply(const rk_mm_args *x)
{
    if (x->k == 0) { /* no terms (and a, b may have leading dimensions of 0, which sgemm refuses) */
        if (!x->accumulate) {
            for (int i = 0; i < x->m; i++) {
                memset(x->c + (int64_t)i * x->ldc, 0, sizeof(float) * (size_t)x->n);
            }
        }
        return;
    }
    const int tiles = (x->m + RK_DENSE_TILE - 1) / RK_DENSE_TILE * dense_col_tiles(x);
    const int64_t fmas = (int64_t)x->m * x->n * x->k;
    rk_parallel(split_by(fmas, tiles, x->threads, RK_DENSE_PART_MIN), x->threads, dense_tiles, (void *)x);
}

void rk_softmax(const rk_ops *ops, const float *z, int64_t zs, float *p, int64_t ps, int rows, int cols, float *lse)
{
    for (int i = 0; i < rows; i++) {
        ops->softmax_row(z + i * zs, p + i * ps, cols, lse + i);
    }
}
