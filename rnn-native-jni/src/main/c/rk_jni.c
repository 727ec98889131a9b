/*
 * The JNI layer: OpenBLAS loading (dlopen + dlsym, errors returned as strings), the instruction-set
 * choice, and one entry point per kernel call. Every entry point checks its arguments against the array
 * lengths before it touches anything (the Java side has checked them already; this is the last line),
 * copies the lengths and the one-hot classes, pins the arrays only around the work (inputs released with
 * JNI_ABORT), and returns right after any ThrowNew.
 */
#include <dlfcn.h>
#include <jni.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "org_rnnkit_nativebackend_NativeMethods.h"
#include "rk.h"

static void *blas;
static const rk_ops *ops;
static const char *(*blas_config)(void);
static const char *(*blas_corename)(void);

/* ---- strings ---------------------------------------------------------------------------------------- */

/* A Java string from bytes that may not be valid (modified) UTF-8, e.g. a path in dlerror(). */
static jstring ascii_string(JNIEnv *env, const char *s)
{
    char buf[1024];
    size_t n = 0;
    for (; s != NULL && s[n] != 0 && n < sizeof buf - 1; n++) {
        unsigned char ch = (unsigned char)s[n];
        buf[n] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[n] = 0;
    return (*env)->NewStringUTF(env, buf);
}

static void throw_new(JNIEnv *env, const char *cls, const char *msg)
{
    jclass c = (*env)->FindClass(env, cls);
    if (c != NULL) {
        (*env)->ThrowNew(env, c, msg);
    }
}

/* ---- loading ---------------------------------------------------------------------------------------- */

/* Where OpenBLAS's kernel type came from, for the probe. */
static char core_source[200] = "OpenBLAS's own detection";

/* What OpenBLAS's SkylakeX kernels execute. */
static int runs_skylakex(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl");
}

/*
 * The kernel type to ask OpenBLAS for (its OPENBLAS_CORETYPE): "" (empty or "detect") to leave the choice to
 * OpenBLAS (its detection, or the user's OPENBLAS_CORETYPE), or NULL with the reason in msg. Named types
 * are checked against this CPU first: OpenBLAS would load kernels it cannot execute and die on the first
 * illegal instruction.
 */
static const char *core_to_request(const char *req, char *msg, size_t len)
{
    __builtin_cpu_init();
    if (req[0] == 0 || strcmp(req, "detect") == 0) {
        return "";
    }
    static const char *const names[] = {"Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX"};
    const int runs[] = {__builtin_cpu_supports("sse4.2"), __builtin_cpu_supports("avx"),
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), runs_skylakex()};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(req, names[i]) == 0) {
            if (!runs[i]) {
                snprintf(msg, len, "rnnkit.openblas.coretype: %s kernels need instructions this CPU lacks", names[i]);
                return NULL;
            }
            return names[i];
        }
    }
    snprintf(msg, len, "rnnkit.openblas.coretype: expected detect, Nehalem, Sandybridge, Haswell, Zen or SkylakeX, "
            "got '%.40s'", req);
    return NULL;
}

/*
 * dlopen(path) with OPENBLAS_CORETYPE set to `core` (unless empty) for the duration, since OpenBLAS reads it
 * once, when it is loaded; restored after, so that no library loaded later in the process sees rnnkit's
 * choice. (setenv is not safe against a concurrent getenv in another thread; this runs once, while the
 * backend's class initialises.)
 */
static void *dlopen_with_core(const char *path, const char *core)
{
    const char *had = getenv("OPENBLAS_CORETYPE");
    char old[256];
    snprintf(old, sizeof old, "%s", had ? had : "");
    int set = core[0] != 0;
    if (set) {
        setenv("OPENBLAS_CORETYPE", core, 1);
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (set) {
        if (had != NULL) {
            setenv("OPENBLAS_CORETYPE", old, 1);
        } else {
            unsetenv("OPENBLAS_CORETYPE");
        }
        snprintf(core_source, sizeof core_source, "set by -Drnnkit.openblas.coretype");
    } else {
        snprintf(core_source, sizeof core_source, "%s", had != NULL ? "from OPENBLAS_CORETYPE"
                : "OpenBLAS's own detection");
    }
    return h;
}

/* core_to_request for a Java string; *pending when an OutOfMemoryError is pending (the result is NULL then) */
static const char *core_of(JNIEnv *env, jstring coreType, char *msg, size_t len, int *pending)
{
    const char *req = coreType == NULL ? NULL : (*env)->GetStringUTFChars(env, coreType, NULL);
    *pending = coreType != NULL && req == NULL;
    if (*pending) {
        return NULL;
    }
    const char *core = core_to_request(req == NULL ? "" : req, msg, len);
    if (req != NULL) {
        (*env)->ReleaseStringUTFChars(env, coreType, req);
    }
    return core;
}

JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_checkCoreType(JNIEnv *env, jclass cls,
        jstring coreType)
{
    (void)cls;
    char msg[256];
    int pending;
    const char *core = core_of(env, coreType, msg, sizeof msg, &pending);
    return core == NULL && !pending ? ascii_string(env, msg) : NULL;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
    (void)vm;
    (void)reserved;
    return JNI_VERSION_1_8;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/*
 * deps: libraries to map first, in order, each skipped when a library of its file name is already mapped
 * (a bundled libgfortran needs libquadmath, which it looks for only in the system's folders); lib: the
 * OpenBLAS library. reuse: take an OpenBLAS this process has already mapped under lib's file name (e.g.
 * by JavaCPP), rather than a second instance with its own thread pool. Returns NULL or the reason.
 */
JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_loadOpenBlas(JNIEnv *env, jclass cls,
        jobjectArray deps, jstring lib, jboolean reuse, jstring coreType)
{
    (void)cls;
    char msg[1400];
    if (blas != NULL) {
        return NULL;
    }
    int pending;
    const char *core = core_of(env, coreType, msg, sizeof msg, &pending);
    if (core == NULL) {
        return pending ? NULL : ascii_string(env, msg);
    }
    jsize n = deps == NULL ? 0 : (*env)->GetArrayLength(env, deps);
    for (jsize i = 0; i < n; i++) {
        jstring js = (jstring)(*env)->GetObjectArrayElement(env, deps, i);
        if (js == NULL) {
            continue;
        }
        const char *path = (*env)->GetStringUTFChars(env, js, NULL);
        if (path == NULL) {
            return NULL; /* OutOfMemoryError pending */
        }
        void *h = dlopen(base_name(path), RTLD_NOW | RTLD_NOLOAD);
        if (h == NULL) {
            h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        }
        if (h == NULL) {
            snprintf(msg, sizeof msg, "dlopen %s: %s", path, dlerror());
            (*env)->ReleaseStringUTFChars(env, js, path);
            return ascii_string(env, msg);
        }
        (*env)->ReleaseStringUTFChars(env, js, path);
        (*env)->DeleteLocalRef(env, js);
    }
    const char *path = (*env)->GetStringUTFChars(env, lib, NULL);
    if (path == NULL) {
        return NULL;
    }
    void *h = reuse ? dlopen(base_name(path), RTLD_NOW | RTLD_NOLOAD) : NULL;
    if (h != NULL) {
        snprintf(core_source, sizeof core_source, "chosen when this process first loaded OpenBLAS");
    } else {
        h = dlopen_with_core(path, core);
    }
    if (h == NULL) {
        snprintf(msg, sizeof msg, "dlopen %s: %s", path, dlerror());
        (*env)->ReleaseStringUTFChars(env, lib, path);
        return ascii_string(env, msg);
    }
    rk_sgemm_fn sgemm = (rk_sgemm_fn)dlsym(h, "cblas_sgemm");
    void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    if (sgemm == NULL || set_threads == NULL) {
        snprintf(msg, sizeof msg, "%s has no %s: not an OpenBLAS library", path,
                sgemm == NULL ? "cblas_sgemm" : "openblas_set_num_threads");
        (*env)->ReleaseStringUTFChars(env, lib, path);
        dlclose(h);
        return ascii_string(env, msg);
    }
    (*env)->ReleaseStringUTFChars(env, lib, path);
    blas_config = (const char *(*)(void))dlsym(h, "openblas_get_config");
    blas_corename = (const char *(*)(void))dlsym(h, "openblas_get_corename");
    /* One OpenBLAS thread: its threaded GEMM splits rows differently per thread count, which changes
       result bits; rnnkit's own parallel parts (rk_pool.c) call it on fixed tiles instead. */
    set_threads(1);
    rk_sgemm = sgemm;
    blas = h;
    return NULL;
}

JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_openBlasConfig(JNIEnv *env, jclass cls)
{
    (void)cls;
    return ascii_string(env, blas_config ? blas_config() : "OpenBLAS (no openblas_get_config)");
}

JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_openBlasCore(JNIEnv *env, jclass cls)
{
    (void)cls;
    return ascii_string(env, blas_corename ? blas_corename() : "unknown");
}

JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_openBlasCoreSource(JNIEnv *env, jclass cls)
{
    (void)cls;
    return ascii_string(env, core_source);
}

/* The kernels named `name` if this CPU runs them, else NULL */
static const rk_ops *kernels_named(const char *name)
{
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl");
    int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return strcmp(name, "avx512") == 0 ? (has512 ? &rk_ops_avx512 : NULL)
            : strcmp(name, "avx2") == 0 ? (has2 ? &rk_ops_avx2 : NULL)
            : strcmp(name, "generic") == 0 ? &rk_ops_generic : NULL;
}

/* The kernels for `requested` ("avx512", "avx2", "generic"; empty: the best this CPU runs). NULL or the reason. */
JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_selectKernels(JNIEnv *env, jclass cls,
        jstring requested)
{
    (void)cls;
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl");
    int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const rk_ops *best = has512 ? &rk_ops_avx512 : has2 ? &rk_ops_avx2 : &rk_ops_generic;
    const char *req = requested == NULL ? NULL : (*env)->GetStringUTFChars(env, requested, NULL);
    const rk_ops *pick = best;
    char msg[256];
    msg[0] = 0;
    if (req != NULL && req[0] != 0) {
        pick = kernels_named(req);
        if (pick == NULL) {
            snprintf(msg, sizeof msg, "kernels '%.40s' cannot run here: expected one of %s%sgeneric", req,
                    has512 ? "avx512, " : "", has2 ? "avx2, " : "");
        }
    }
    if (req != NULL) {
        (*env)->ReleaseStringUTFChars(env, requested, req);
    }
    if (pick == NULL) {
        return ascii_string(env, msg);
    }
    ops = pick;
    return NULL;
}

JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_kernels(JNIEnv *env, jclass cls)
{
    (void)cls;
    return ascii_string(env, ops ? ops->name : "none");
}

/* dst = sigmoid(src) or tanh(src) with the kernels named `name` (the tests' way in). NULL or the reason. */
JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_activation(JNIEnv *env, jclass cls,
        jstring name, jboolean tanh, jfloatArray src, jfloatArray dst)
{
    (void)cls;
    if (name == NULL || src == NULL || dst == NULL) {
        return ascii_string(env, "activation: name, src and dst must not be null");
    }
    jsize n = (*env)->GetArrayLength(env, src);
    if ((*env)->GetArrayLength(env, dst) != n) {
        return ascii_string(env, "activation: dst must have the length of src");
    }
    const char *nm = (*env)->GetStringUTFChars(env, name, NULL);
    if (nm == NULL) {
        return NULL; /* OutOfMemoryError pending */
    }
    const rk_ops *k = kernels_named(nm);
    (*env)->ReleaseStringUTFChars(env, name, nm);
    if (k == NULL) {
        return ascii_string(env, "activation: these kernels do not run on this CPU");
    }
    float *s = (*env)->GetPrimitiveArrayCritical(env, src, NULL);
    float *d = s == NULL ? NULL : (*env)->GetPrimitiveArrayCritical(env, dst, NULL);
    if (d != NULL) {
        (tanh ? k->tanh : k->sigmoid)(s, d, n);
        (*env)->ReleasePrimitiveArrayCritical(env, dst, d, 0);
    }
    if (s != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, src, s, JNI_ABORT);
    }
    return d == NULL ? ascii_string(env, "activation: could not pin the arrays") : NULL;
}

/*
 * dst = fn(clip(src)) of one variant slot (function code, alpha, beta, clip) with the kernels named `name`:
 * the very code the variants' rows run, for the tests. NULL or the reason.
 */
JNIEXPORT jstring JNICALL Java_org_rnnkit_nativebackend_NativeMethods_variantActivation(JNIEnv *env, jclass cls,
        jstring name, jint function, jfloat alpha, jfloat beta, jfloat clip, jfloatArray src, jfloatArray dst)
{
    (void)cls;
    if (name == NULL || src == NULL || dst == NULL) {
        return ascii_string(env, "variantActivation: name, src and dst must not be null");
    }
    jsize n = (*env)->GetArrayLength(env, src);
    if ((*env)->GetArrayLength(env, dst) != n) {
        return ascii_string(env, "variantActivation: dst must have the length of src");
    }
    rk_variant v = {RK_V_ON, {{function, alpha, beta, clip}}};
    char bad[200] = {0};
    if (!rk_variant_check(RK_RNN_TANH, &v, bad, sizeof bad)) {
        return ascii_string(env, bad);
    }
    const char *nm = (*env)->GetStringUTFChars(env, name, NULL);
    if (nm == NULL) {
        return NULL; /* OutOfMemoryError pending */
    }
    const rk_ops *k = kernels_named(nm);
    (*env)->ReleaseStringUTFChars(env, name, nm);
    if (k == NULL) {
        return ascii_string(env, "variantActivation: these kernels do not run on this CPU");
    }
    float *s = (*env)->GetPrimitiveArrayCritical(env, src, NULL);
    float *d = s == NULL ? NULL : (*env)->GetPrimitiveArrayCritical(env, dst, NULL);
    if (d != NULL) {
        k->act(&v.act[0], s, d, n);
        (*env)->ReleasePrimitiveArrayCritical(env, dst, d, 0);
    }
    if (s != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, src, s, JNI_ABORT);
    }
    return d == NULL ? ascii_string(env, "variantActivation: could not pin the arrays") : NULL;
}

/* ---- sizes and weights ------------------------------------------------------------------------------ */

JNIEXPORT jlong JNICALL Java_org_rnnkit_nativebackend_NativeMethods_size(JNIEnv *env, jclass cls, jint type,
        jint inputSize, jint hiddenSize, jint projSize, jint variantFlags, jint seqLen, jint batch, jboolean tape)
{
    (void)env;
    (void)cls;
    rk_dims d;
    if (!rk_dims_of(type, inputSize, hiddenSize, projSize, variantFlags, &d) || seqLen < 0 || batch < 0) {
        return -1;
    }
    return tape ? rk_tape_size(&d, seqLen, batch) : rk_workspace_size(&d, seqLen, batch);
}

/* Length of an optional array that must hold `need` floats; sets *bad to a message when it does not. */
static int check_len(JNIEnv *env, jarray a, int64_t need, const char *name, char *bad, size_t badSize)
{
    if (bad[0] != 0) {
        return 0;
    }
    if (a == NULL) {
        snprintf(bad, badSize, "%s: expected an array, got null", name);
        return 0;
    }
    jsize len = (*env)->GetArrayLength(env, a);
    if (need > len) {
        snprintf(bad, badSize, "%s: expected at least %lld elements, the array has %d", name, (long long)need,
                (int)len);
        return 0;
    }
    return 1;
}

/* the lengths of one direction's PyTorch-layout arrays for shape d (prepare and update read the same) */
static void check_weights(JNIEnv *env, const rk_dims *d, jboolean bias, jfloatArray wih, jfloatArray whh,
        jfloatArray bih, jfloatArray bhh, jfloatArray whr, jfloatArray peep, char *bad, size_t badSize)
{
    if (d->vflags & RK_V_PEEPHOLES) {
        check_len(env, peep, 3 * (int64_t)d->H, "weight_peephole", bad, badSize);
    }
    check_len(env, wih, (int64_t)d->GH * d->I, "weight_ih", bad, badSize);
    check_len(env, whh, (int64_t)d->GH * d->O, "weight_hh", bad, badSize);
    if (bias) {
        check_len(env, bih, d->GH, "bias_ih", bad, badSize);
        check_len(env, bhh, d->GH, "bias_hh", bad, badSize);
    }
    if (d->P > 0) {
        check_len(env, whr, (int64_t)d->P * d->H, "weight_hr", bad, badSize);
    }
}

/*
 * The variant from the Java side's values: flags, a function code, alpha and beta per slot (3 each; unused
 * slots 0), and the clip, which every slot but the LSTM's cell output takes. 1, or 0 with *bad set.
 */
static int variant_of(JNIEnv *env, int type, jint flags, jintArray functions, jfloatArray params, jfloat clip,
        rk_variant *v, char *bad, size_t badSize)
{
    memset(v, 0, sizeof *v);
    v->flags = flags;
    if (flags == 0) {
        return 1;
    }
    if (functions == NULL || params == NULL || (*env)->GetArrayLength(env, functions) != 3
            || (*env)->GetArrayLength(env, params) != 6) {
        snprintf(bad, badSize, "variant: expected 3 function codes and 6 parameters");
        return 0;
    }
    jint fn[3];
    jfloat pr[6];
    (*env)->GetIntArrayRegion(env, functions, 0, 3, fn);
    (*env)->GetFloatArrayRegion(env, params, 0, 6, pr);
    for (int i = 0; i < 3; i++) {
        v->act[i] = (rk_act){fn[i], pr[2 * i], pr[2 * i + 1], type == RK_LSTM && i == 2 ? INFINITY : clip};
    }
    return rk_variant_check(type, v, bad, badSize);
}

JNIEXPORT jlong JNICALL Java_org_rnnkit_nativebackend_NativeMethods_prepare(JNIEnv *env, jclass cls, jint type,
        jint inputSize, jint hiddenSize, jint projSize, jboolean bias, jfloatArray wih, jfloatArray whh,
        jfloatArray bih, jfloatArray bhh, jfloatArray whr, jfloatArray peep, jint variantFlags,
        jintArray functions, jfloatArray params, jfloat clip)
{
    (void)cls;
    rk_dims d;
    rk_variant v;
    char bad[256] = {0};
    if (!variant_of(env, type, variantFlags, functions, params, clip, &v, bad, sizeof bad)) {
        throw_new(env, "java/lang/IllegalArgumentException", bad);
        return 0;
    }
    if (!rk_dims_of(type, inputSize, hiddenSize, projSize, variantFlags, &d)) {
        throw_new(env, "java/lang/IllegalArgumentException", "invalid kernel shape");
        return 0;
    }
    check_weights(env, &d, bias, wih, whh, bih, bhh, whr, peep, bad, sizeof bad);
    if (bad[0] != 0) {
        throw_new(env, "java/lang/IllegalArgumentException", bad);
        return 0;
    }
    jfloatArray arrays[6] = {wih, whh, bias ? bih : NULL, bias ? bhh : NULL, d.P > 0 ? whr : NULL,
        (variantFlags & RK_V_PEEPHOLES) ? peep : NULL};
    float *p[6] = {0};
    int ok = 1;
    for (int i = 0; i < 6; i++) {
        if (arrays[i] != NULL && (p[i] = (*env)->GetPrimitiveArrayCritical(env, arrays[i], NULL)) == NULL) {
            ok = 0;
        }
    }
    rk_weights *w = ok ? rk_prepare(&d, &v, bias, p[0], p[1], p[2], p[3], p[4], p[5]) : NULL;
    for (int i = 5; i >= 0; i--) {
        if (p[i] != NULL) {
            (*env)->ReleasePrimitiveArrayCritical(env, arrays[i], p[i], JNI_ABORT);
        }
    }
    if (w == NULL) {
        if (!(*env)->ExceptionCheck(env)) {
            throw_new(env, "java/lang/OutOfMemoryError", "rnnkit native: no memory for the packed weights");
        }
        return 0;
    }
    return (jlong)(intptr_t)w;
}

JNIEXPORT void JNICALL Java_org_rnnkit_nativebackend_NativeMethods_release(JNIEnv *env, jclass cls, jlong handle)
{
    (void)env;
    (void)cls;
    rk_release((rk_weights *)(intptr_t)handle);
}

/* ---- calls ------------------------------------------------------------------------------------------ */

/* Extent of rows (t, b) < (T, B) of width w at off + t*ts + b*bs: the index one past the last. */
static int64_t extent(int64_t off, int T, int B, int64_t ts, int64_t bs, int64_t w)
{
    return off + (int64_t)(T - 1) * ts + (int64_t)(B - 1) * bs + w;
}

/* Up to 16 arrays pinned for one call. */
typedef struct {
    jarray a[16];
    void *p[16];
    jint mode[16];
    int n;
} pins;

static void *pin(JNIEnv *env, pins *ps, jarray a, int output, int *ok)
{
    if (a == NULL || !*ok) {
        return NULL;
    }
    void *p = (*env)->GetPrimitiveArrayCritical(env, a, NULL);
    if (p == NULL) {
        *ok = 0;
        return NULL;
    }
    ps->a[ps->n] = a;
    ps->p[ps->n] = p;
    ps->mode[ps->n] = output ? 0 : JNI_ABORT;
    ps->n++;
    return p;
}

static void unpin(JNIEnv *env, pins *ps)
{
    for (int i = ps->n - 1; i >= 0; i--) {
        (*env)->ReleasePrimitiveArrayCritical(env, ps->a[i], ps->p[i], ps->mode[i]);
    }
    ps->n = 0;
}

/* Re-packs changed weights into the block of `handle`, prepared for the same shape: no allocation. */
JNIEXPORT void JNICALL Java_org_rnnkit_nativebackend_NativeMethods_update(JNIEnv *env, jclass cls, jlong handle,
        jint type, jint inputSize, jint hiddenSize, jint projSize, jboolean bias, jfloatArray wih, jfloatArray whh,
        jfloatArray bih, jfloatArray bhh, jfloatArray whr, jfloatArray peep)
{
    (void)cls;
    rk_weights *w = (rk_weights *)(intptr_t)handle;
    rk_dims d;
    char bad[256] = {0};
    if (w == NULL || !rk_dims_of(type, inputSize, hiddenSize, projSize, w->v.flags, &d) || w->type != d.type || w->I != d.I
            || w->H != d.H || w->P != d.P || w->bias != (bias != JNI_FALSE)) {
        throw_new(env, "java/lang/IllegalArgumentException", "update: expected weights prepared for this shape");
        return;
    }
    check_weights(env, &d, bias, wih, whh, bih, bhh, whr, peep, bad, sizeof bad);
    if (bad[0] != 0) {
        throw_new(env, "java/lang/IllegalArgumentException", bad);
        return;
    }
    pins ps = {.n = 0};
    int ok = 1;
    float *p0 = pin(env, &ps, wih, 0, &ok);
    float *p1 = pin(env, &ps, whh, 0, &ok);
    float *p2 = bias ? pin(env, &ps, bih, 0, &ok) : NULL;
    float *p3 = bias ? pin(env, &ps, bhh, 0, &ok) : NULL;
    float *p4 = d.P > 0 ? pin(env, &ps, whr, 0, &ok) : NULL;
    float *p5 = w->peep != NULL ? pin(env, &ps, peep, 0, &ok) : NULL;
    if (ok) {
        rk_update(w, &d, bias != JNI_FALSE, p0, p1, p2, p3, p4, p5);
    }
    unpin(env, &ps);
    if (!ok && !(*env)->ExceptionCheck(env)) {
        throw_new(env, "java/lang/OutOfMemoryError", "rnnkit native: could not pin the arrays");
    }
}

/* Copies and checks lengths (1..T each); returns the copy (caller frees if != stack) or NULL with *bad set. */
static int *copy_lengths(JNIEnv *env, jintArray lengths, int T, int B, int *stack, int stackSize, char *bad,
        size_t badSize)
{
    if (lengths == NULL || bad[0] != 0) {
        return NULL;
    }
    if ((*env)->GetArrayLength(env, lengths) < B) {
        snprintf(bad, badSize, "lengths: expected %d values, the array has %d", B,
                (int)(*env)->GetArrayLength(env, lengths));
        return NULL;
    }
    int *len = B <= stackSize ? stack : malloc(sizeof(int) * (size_t)B);
    if (len == NULL) {
        snprintf(bad, badSize, "lengths: no memory for %d values", B);
        return NULL;
    }
    (*env)->GetIntArrayRegion(env, lengths, 0, B, len);
    for (int b = 0; b < B; b++) {
        if (len[b] < 1 || len[b] > T) {
            snprintf(bad, badSize, "lengths[%d]: expected 1..%d, got %d", b, T, len[b]);
            if (len != stack) {
                free(len);
            }
            return NULL;
        }
    }
    return len;
}

/*
 * Copies and checks the one-hot classes of x's rows (n = T*B of them, each 0..I-1): the kernels index W_ih
 * with them, so they are read from a private copy that no Java thread can change after the check. Returns
 * the copy (caller frees if != stack), or NULL: no classes, or with *bad set.
 */
static int *copy_classes(JNIEnv *env, jintArray classes, int64_t n, int I, int *stack, int stackSize, char *bad,
        size_t badSize)
{
    if (classes == NULL || bad[0] != 0) {
        return NULL;
    }
    jsize have = (*env)->GetArrayLength(env, classes);
    if (n > have) {
        snprintf(bad, badSize, "oneHotClasses: expected %lld classes (T*B), the array has %d", (long long)n, (int)have);
        return NULL;
    }
    int *c = n <= stackSize ? stack : malloc(sizeof(int) * (size_t)n);
    if (c == NULL) {
        snprintf(bad, badSize, "oneHotClasses: no memory for %lld values", (long long)n);
        return NULL;
    }
    (*env)->GetIntArrayRegion(env, classes, 0, (jsize)n, c);
    for (int64_t r = 0; r < n; r++) {
        if (c[r] < 0 || c[r] >= I) {
            snprintf(bad, badSize, "oneHotClasses[%lld]: expected a class in 0..%d, got %d", (long long)r, I - 1, c[r]);
            if (c != stack) {
                free(c);
            }
            return NULL;
        }
    }
    return c;
}

static int check_grid(const char *name, int T, int B, jint off, jint ts, jint bs, char *bad, size_t badSize)
{
    if (bad[0] == 0 && (off < 0 || ts < 0 || bs < 0)) {
        snprintf(bad, badSize, "%s: offset and strides must be >= 0, got %d, %d, %d", name, off, ts, bs);
    }
    (void)T;
    (void)B;
    return bad[0] == 0;
}

JNIEXPORT void JNICALL Java_org_rnnkit_nativebackend_NativeMethods_forward(JNIEnv *env, jclass cls, jlong handle,
        jint T, jint B, jintArray lengths, jboolean reverse,
        jfloatArray x, jint xOff, jint xTs, jint xBs, jintArray classes,
        jfloatArray out, jint outOff, jint outTs, jint outBs,
        jfloatArray h, jint hOff, jfloatArray c, jint cOff,
        jfloatArray tape, jint tapeOff, jfloatArray ws, jint wsOff, jint threads)
{
    (void)cls;
    const rk_weights *w = (const rk_weights *)(intptr_t)handle;
    char bad[300] = {0};
    if (w == NULL || ops == NULL || T < 1 || B < 1) {
        snprintf(bad, sizeof bad, "forward: expected prepared weights, seqLen >= 1 and batch >= 1, got %d, %d", T, B);
    }
    rk_dims d = {0};
    if (bad[0] == 0) {
        rk_dims_of(w->type, w->I, w->H, w->P, w->v.flags, &d);
    }
    check_grid("x", T, B, xOff, xTs, xBs, bad, sizeof bad);
    check_grid("out", T, B, outOff, outTs, outBs, bad, sizeof bad);
    if (bad[0] == 0 && (hOff < 0 || cOff < 0 || tapeOff < 0 || wsOff < 0)) {
        snprintf(bad, sizeof bad, "offsets must be >= 0");
    }
    if (bad[0] == 0) {
        check_len(env, x, extent(xOff, T, B, xTs, xBs, d.I), "x", bad, sizeof bad);
        if (out != NULL) {
            check_len(env, out, extent(outOff, T, B, outTs, outBs, d.O), "out", bad, sizeof bad);
        }
        check_len(env, h, (int64_t)hOff + (int64_t)B * d.O, "h", bad, sizeof bad);
        if (d.type == RK_LSTM) {
            check_len(env, c, (int64_t)cOff + (int64_t)B * d.H, "c", bad, sizeof bad);
        }
        if (tape != NULL) {
            check_len(env, tape, tapeOff + rk_tape_size(&d, T, B), "tape", bad, sizeof bad);
        }
        check_len(env, ws, wsOff + rk_workspace_size(&d, T, B), "ws", bad, sizeof bad);
    }
    int stack[256], cstack[1024];
    int *len = copy_lengths(env, lengths, T, B, stack, 256, bad, sizeof bad);
    int *cl = copy_classes(env, classes, (int64_t)T * B, d.I, cstack, 1024, bad, sizeof bad);
    if (bad[0] != 0) {
        if (len != NULL && len != stack) {
            free(len);
        }
        throw_new(env, "java/lang/IllegalArgumentException", bad);
        return;
    }
    pins ps = {.n = 0};
    int ok = 1;
    float *px = pin(env, &ps, x, 0, &ok);
    float *pout = pin(env, &ps, out, 1, &ok);
    float *ph = pin(env, &ps, h, 1, &ok);
    float *pc = d.type == RK_LSTM ? pin(env, &ps, c, 1, &ok) : NULL;
    float *ptape = pin(env, &ps, tape, 1, &ok);
    float *pws = pin(env, &ps, ws, 1, &ok);
    if (ok) {
        rk_fwd_args a = {
            .T = T, .B = B, .reverse = reverse != JNI_FALSE, .len = len,
            .x = px + xOff, .xts = xTs, .xbs = xBs, .cls = cl,
            .out = pout ? pout + outOff : NULL, .ots = outTs, .obs = outBs,
            .h = ph + hOff, .c = pc ? pc + cOff : NULL,
            .tape = ptape ? ptape + tapeOff : NULL, .ws = pws + wsOff, .threads = threads,
        };
        rk_forward(w, ops, &a);
    }
    unpin(env, &ps);
    if (len != NULL && len != stack) {
        free(len);
    }
    if (cl != NULL && cl != cstack) {
        free(cl);
    }
    if (!ok && !(*env)->ExceptionCheck(env)) {
        throw_new(env, "java/lang/OutOfMemoryError", "rnnkit native: could not pin the arrays");
    }
}

JNIEXPORT void JNICALL Java_org_rnnkit_nativebackend_NativeMethods_backward(JNIEnv *env, jclass cls, jlong handle,
        jint T, jint B, jintArray lengths, jboolean reverse,
        jfloatArray x, jint xOff, jint xTs, jint xBs, jintArray classes,
        jfloatArray dOut, jint dOutOff, jint dOutTs, jint dOutBs,
        jfloatArray dh, jint dhOff, jfloatArray dc, jint dcOff,
        jfloatArray dx, jint dxOff, jint dxTs, jint dxBs,
        jfloatArray gWih, jfloatArray gWhh, jfloatArray gBih, jfloatArray gBhh, jfloatArray gWhr, jfloatArray gPeep,
        jfloatArray tape, jint tapeOff, jfloatArray ws, jint wsOff, jint threads)
{
    (void)cls;
    const rk_weights *w = (const rk_weights *)(intptr_t)handle;
    char bad[300] = {0};
    if (w == NULL || ops == NULL || rk_sgemm == NULL || T < 1 || B < 1) {
        snprintf(bad, sizeof bad, "backward: expected prepared weights, seqLen >= 1 and batch >= 1, got %d, %d", T, B);
    }
    rk_dims d = {0};
    if (bad[0] == 0) {
        rk_dims_of(w->type, w->I, w->H, w->P, w->v.flags, &d);
    }
    check_grid("x", T, B, xOff, xTs, xBs, bad, sizeof bad);
    check_grid("dOut", T, B, dOutOff, dOutTs, dOutBs, bad, sizeof bad);
    check_grid("dx", T, B, dxOff, dxTs, dxBs, bad, sizeof bad);
    if (bad[0] == 0 && (dhOff < 0 || dcOff < 0 || tapeOff < 0 || wsOff < 0)) {
        snprintf(bad, sizeof bad, "offsets must be >= 0");
    }
    if (bad[0] == 0) {
        check_len(env, x, extent(xOff, T, B, xTs, xBs, d.I), "x", bad, sizeof bad);
        if (dOut != NULL) {
            check_len(env, dOut, extent(dOutOff, T, B, dOutTs, dOutBs, d.O), "dOut", bad, sizeof bad);
        }
        if (dx != NULL) {
            check_len(env, dx, extent(dxOff, T, B, dxTs, dxBs, d.I), "dx", bad, sizeof bad);
        }
        check_len(env, dh, (int64_t)dhOff + (int64_t)B * d.O, "dh", bad, sizeof bad);
        if (d.type == RK_LSTM) {
            check_len(env, dc, (int64_t)dcOff + (int64_t)B * d.H, "dc", bad, sizeof bad);
        }
        check_len(env, gWih, (int64_t)d.GH * d.I, "grads.weightIh", bad, sizeof bad);
        check_len(env, gWhh, (int64_t)d.GH * d.O, "grads.weightHh", bad, sizeof bad);
        if (w->bias) {
            check_len(env, gBih, d.GH, "grads.biasIh", bad, sizeof bad);
            check_len(env, gBhh, d.GH, "grads.biasHh", bad, sizeof bad);
        }
        if (d.P > 0) {
            check_len(env, gWhr, (int64_t)d.P * d.H, "grads.weightHr", bad, sizeof bad);
        }
        if (w->peep != NULL) {
            check_len(env, gPeep, 3 * (int64_t)d.H, "grads.peephole", bad, sizeof bad);
        }
        check_len(env, tape, tapeOff + rk_tape_size(&d, T, B), "tape", bad, sizeof bad);
        check_len(env, ws, wsOff + rk_workspace_size(&d, T, B), "ws", bad, sizeof bad);
    }
    int stack[256], cstack[1024];
    int *len = copy_lengths(env, lengths, T, B, stack, 256, bad, sizeof bad);
    int *cl = copy_classes(env, classes, (int64_t)T * B, d.I, cstack, 1024, bad, sizeof bad);
    if (bad[0] != 0) {
        if (len != NULL && len != stack) {
            free(len);
        }
        throw_new(env, "java/lang/IllegalArgumentException", bad);
        return;
    }
    pins ps = {.n = 0};
    int ok = 1;
    float *px = pin(env, &ps, x, 0, &ok);
    float *pdo = pin(env, &ps, dOut, 0, &ok);
    float *pdh = pin(env, &ps, dh, 1, &ok);
    float *pdc = d.type == RK_LSTM ? pin(env, &ps, dc, 1, &ok) : NULL;
    float *pdx = pin(env, &ps, dx, 1, &ok);
    float *pgi = pin(env, &ps, gWih, 1, &ok);
    float *pgh = pin(env, &ps, gWhh, 1, &ok);
    float *pbi = w->bias ? pin(env, &ps, gBih, 1, &ok) : NULL;
    float *pbh = w->bias ? pin(env, &ps, gBhh, 1, &ok) : NULL;
    float *pgr = d.P > 0 ? pin(env, &ps, gWhr, 1, &ok) : NULL;
    float *pgp = w->peep != NULL ? pin(env, &ps, gPeep, 1, &ok) : NULL;
    float *ptape = pin(env, &ps, tape, 0, &ok);
    float *pws = pin(env, &ps, ws, 1, &ok);
    if (ok) {
        rk_bwd_args a = {
            .T = T, .B = B, .reverse = reverse != JNI_FALSE, .len = len,
            .x = px + xOff, .xts = xTs, .xbs = xBs, .cls = cl,
            .dout = pdo ? pdo + dOutOff : NULL, .dts = dOutTs, .dbs = dOutBs,
            .dh = pdh + dhOff, .dc = pdc ? pdc + dcOff : NULL,
            .dx = pdx ? pdx + dxOff : NULL, .dxts = dxTs, .dxbs = dxBs,
            .gwih = pgi, .gwhh = pgh, .gbih = pbi, .gbhh = pbh, .gwhr = pgr, .gpeep = pgp,
            .tape = ptape + tapeOff, .ws = pws + wsOff, .threads = threads,
        };
        rk_backward(w, ops, &a);
    }
    unpin(env, &ps);
    if (len != NULL && len != stack) {
        free(len);
    }
    if (cl != NULL && cl != cstack) {
        free(cl);
    }
    if (!ok && !(*env)->ExceptionCheck(env)) {
        throw_new(env, "java/lang/OutOfMemoryError", "rnnkit native: could not pin the arrays");
    }
}

/* ---- dense products and softmax --------------------------------------------------------------------- */

/*
 * A matrix of `stored` rows of `width` floats, `stride` apart, from `off` in array `arr` (a transposed view's
 * stored rows are its columns): sets *bad unless every element lies inside the array.
 */
static void check_view(JNIEnv *env, jarray arr, const char *name, jint off, jint stored, jint width, jint stride,
        char *bad, size_t badSize)
{
    if (bad[0] != 0) {
        return;
    }
    if (off < 0 || stored < 0 || width < 0 || stride < width) {
        snprintf(bad, badSize, "%s: expected sizes >= 0, offset >= 0 and a stride of at least %d, got offset %d, "
                "stride %d", name, width, off, stride);
        return;
    }
    int64_t need = stored > 0 && width > 0 ? (int64_t)off + (int64_t)(stored - 1) * stride + width : 0;
    check_len(env, arr, need, name, bad, badSize);
}

/*
 * An array already pinned for this call (pins compared by pointer: the caller found it the same object
 * before pinning, as no JNI call may come between the pins), now also written when `output`.
 */
static void *pinned_again(pins *ps, void *p, int output)
{
    for (int i = 0; p != NULL && i < ps->n; i++) {
        if (ps->p[i] == p && output) {
            ps->mode[i] = 0;
        }
    }
    return p;
}

JNIEXPORT void JNICALL Java_org_rnnkit_nativebackend_NativeMethods_multiply(JNIEnv *env, jclass cls,
        jint m, jint n, jint k,
        jfloatArray a, jint aOff, jint aStride, jboolean aTransposed,
        jfloatArray b, jint bOff, jint bStride, jboolean bTransposed,
        jfloatArray c, jint cOff, jint cStride, jboolean accumulate, jint threads)
{
    (void)cls;
    char bad[300] = {0};
    if (rk_sgemm == NULL) {
        throw_new(env, "java/lang/IllegalStateException", "multiply: OpenBLAS is not loaded");
        return;
    }
    if (m < 1 || n < 1 || k < 0) {
        snprintf(bad, sizeof bad, "multiply: expected m, n >= 1 and k >= 0, got %d, %d, %d", m, n, k);
    }
    const int ta = aTransposed != JNI_FALSE, tb = bTransposed != JNI_FALSE;
    check_view(env, a, "a", aOff, ta ? k : m, ta ? m : k, aStride, bad, sizeof bad);
    check_view(env, b, "b", bOff, tb ? n : k, tb ? k : n, bStride, bad, sizeof bad);
    check_view(env, c, "c", cOff, m, n, cStride, bad, sizeof bad);
    if (bad[0] != 0) {
        throw_new(env, "java/lang/IllegalArgumentException", bad);
        return;
    }
    /* a and b may be one array, and either may share c's array (disjoint spans): each array pinned once */
    const int ab = (*env)->IsSameObject(env, a, b), ac = (*env)->IsSameObject(env, a, c),
            bc = (*env)->IsSameObject(env, b, c);
    pins ps = {.n = 0};
    int ok = 1;
    float *pc = pin(env, &ps, c, 1, &ok);
    float *pa = ac ? pc : pin(env, &ps, a, 0, &ok);
    float *pb = bc ? pc : ab ? pa : pin(env, &ps, b, 0, &ok);
    if (ok) {
        rk_mm_args x = {
            .m = m, .n = n, .k = k, .ta = ta, .tb = tb, .accumulate = accumulate != JNI_FALSE,
            .a = pa + aOff, .b = pb + bOff, .c = pc + cOff,
            .lda = aStride, .ldb = bStride, .ldc = cStride, .threads = threads,
        };
        rk_multiply(&x);
    }
    unpin(env, &ps);
    if (!ok && !(*env)->ExceptionCheck(env)) {
        throw_new(env, "java/lang/OutOfMemoryError", "rnnkit native: could not pin the arrays");
    }
}

JNIEXPORT void JNICALL Java_org_rnnkit_nativebackend_NativeMethods_softmax(JNIEnv *env, jclass cls,
        jint rows, jint cols, jfloatArray z, jint zOff, jint zStride, jfloatArray p, jint pOff, jint pStride,
        jfloatArray lse, jint lseOff)
{
    (void)cls;
    char bad[300] = {0};
    if (ops == NULL || rows < 1 || cols < 1) {
        snprintf(bad, sizeof bad, "softmax: expected chosen kernels, rows >= 1 and cols >= 1, got %d, %d", rows, cols);
    }
    check_view(env, z, "z", zOff, rows, cols, zStride, bad, sizeof bad);
    check_view(env, p, "p", pOff, rows, cols, pStride, bad, sizeof bad);
    if (bad[0] == 0 && lseOff < 0) {
        snprintf(bad, sizeof bad, "logSumExp: offset must be >= 0, got %d", lseOff);
    }
    if (bad[0] == 0) {
        check_len(env, lse, (int64_t)lseOff + rows, "logSumExp", bad, sizeof bad);
    }
    if (bad[0] != 0) {
        throw_new(env, "java/lang/IllegalArgumentException", bad);
        return;
    }
    /* p is z itself when in place; lse may share either's array: each array pinned once */
    const int zp = (*env)->IsSameObject(env, z, p), zl = (*env)->IsSameObject(env, z, lse),
            pl = (*env)->IsSameObject(env, p, lse);
    pins ps = {.n = 0};
    int ok = 1;
    float *pp = pin(env, &ps, p, 1, &ok);
    float *pz = zp ? pp : pin(env, &ps, z, 0, &ok);
    float *plse = pl ? pp : zl ? pinned_again(&ps, pz, 1) : pin(env, &ps, lse, 1, &ok);
    if (ok) {
        rk_softmax(ops, pz + zOff, zStride, pp + pOff, pStride, rows, cols, plse + lseOff);
    }
    unpin(env, &ps);
    if (!ok && !(*env)->ExceptionCheck(env)) {
        throw_new(env, "java/lang/OutOfMemoryError", "rnnkit native: could not pin the arrays");
    }
}
