package org.rnnkit.nativebackend;

/**
 * The JNI entry points of {@code librnnkit.so} ({@code src/main/c/rk_jni.c}); {@code javac -h} writes their
 * C header at build time. Nothing here is called before {@link NativeLoader} has loaded the library, and
 * every kernel call comes through {@link NativeKernel}, which has checked its arguments first; the native
 * side checks array lengths once more before it touches any memory.
 *
 * <p>{@code threads} of the kernel calls: up to that many threads for the large phases (1: the calling
 * thread only); never changes a result bit.
 *
 * <p>Thread safety: the loading methods are called once, under {@link NativeLoader}'s lock; the kernel
 * methods are safe for concurrent use (each call works in its own outputs, tape and workspace).
 */
final class NativeMethods {
    private NativeMethods() {}

    /**
     * Maps {@code deps} (in order; each skipped if a library of the same file name is already mapped), then
     * OpenBLAS from {@code lib} (with {@code reuse}, an OpenBLAS already mapped under that file name instead),
     * resolves the symbols the kernels use and sets OpenBLAS to one thread. {@code coreType}: the value of
     * {@code rnnkit.openblas.coretype} ({@code detect}, or a kernel type, checked against this CPU before
     * OpenBLAS sees it); null or empty means {@code detect}.
     *
     * @return null, or why it failed
     */
    static native String loadOpenBlas(String[] deps, String lib, boolean reuse, String coreType);

    /** Null if {@code loadOpenBlas} will accept {@code coreType} on this CPU, else why not. */
    static native String checkCoreType(String coreType);

    /** {@code openblas_get_config()}, e.g. {@code OpenBLAS 0.3.31 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64}. */
    static native String openBlasConfig();

    /** {@code openblas_get_corename()}: the kernel set OpenBLAS chose for this CPU. */
    static native String openBlasCore();

    /** Who chose that kernel set: OpenBLAS's detection, {@code OPENBLAS_CORETYPE} or the property. */
    static native String openBlasCoreSource();

    /**
     * Chooses the kernels' instruction set: {@code avx512}, {@code avx2} or {@code generic}; empty or null
     * means the best this CPU runs.
     *
     * @return null, or why the requested set cannot run here
     */
    static native String selectKernels(String requested);

    /** The chosen instruction set's name. */
    static native String kernels();

    /**
     * {@code dst = tanh ? tanh(src) : sigmoid(src)} with the activations of the kernels named {@code kernels}
     * ({@code avx512}, {@code avx2}, {@code generic}), whichever are chosen for the layers: how the tests
     * reach the very code the layers run.
     *
     * @return null, or why it could not run (kernels this CPU lacks, arrays of different lengths)
     */
    static native String activation(String kernels, boolean tanh, float[] src, float[] dst);

    /**
     * {@code dst = f(clamp(src, -clip, clip))} for the variant slot of function code {@code function} (see
     * {@link #prepare}) with {@code alpha} and {@code beta}, by the kernels named {@code kernels}: how the tests
     * reach the code the variants' rows run.
     *
     * @return null, or why it could not run (kernels this CPU lacks, a bad code or parameter, arrays of
     *     different lengths)
     */
    static native String variantActivation(String kernels, int function, float alpha, float beta, float clip,
            float[] src, float[] dst);

    /**
     * Floats of workspace ({@code tape == false}) or tape; -1 for an invalid shape. {@code variantFlags}: 0
     * for PyTorch's form, else a variant's flags (see {@link #prepare}), which add to both.
     */
    static native long size(int type, int inputSize, int hiddenSize, int projSize, int variantFlags, int seqLen,
            int batch, boolean tape);

    /**
     * Packs one direction's weights into native memory; returns the handle for {@link #release}. The cell
     * variant, checked natively before it is kept: {@code variantFlags} 0 (PyTorch's form: the rest is not
     * read) or {@code 1 | 2 (peepholes) | 4 (input_forget) | 8 (reset before the product)}; {@code functions}
     * the codes of the slots' functions ({@code Activation.Function} in declaration order, 3 of them, unused
     * slots 0), {@code params} alpha and beta per slot (6), {@code clip} the bound of every slot but the LSTM's
     * cell output ({@code +Infinity}: none); {@code peephole} {@code p_i, p_f, p_o} (3H) with peepholes.
     */
    static native long prepare(int type, int inputSize, int hiddenSize, int projSize, boolean bias,
            float[] weightIh, float[] weightHh, float[] biasIh, float[] biasHh, float[] weightHr, float[] peephole,
            int variantFlags, int[] functions, float[] params, float clip);

    /**
     * Packs changed weights into the native memory of {@code handle}, which {@link #prepare} made for the
     * same type, sizes and bias (refused otherwise): the bits {@link #prepare} would give, no allocation.
     */
    static native void update(long handle, int type, int inputSize, int hiddenSize, int projSize, boolean bias,
            float[] weightIh, float[] weightHh, float[] biasIh, float[] biasHh, float[] weightHr, float[] peephole);

    /** Frees what {@link #prepare} allocated. */
    static native void release(long handle);

    /**
     * One layer direction over a sequence. {@code classes}: null, or the one-hot classes of x's rows
     * ({@code seqLen * batch} of them, time-major), which replace the input projection by column lookups.
     */
    static native void forward(long handle, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride, int[] classes,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff,
            float[] tape, int tapeOff, float[] ws, int wsOff, int threads);

    /** Back-propagation through what {@link #forward} recorded on the tape; {@code classes} as there. */
    static native void backward(long handle, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride, int[] classes,
            float[] dOut, int dOutOff, int dOutTimeStride, int dOutBatchStride,
            float[] dh, int dhOff, float[] dc, int dcOff,
            float[] dx, int dxOff, int dxTimeStride, int dxBatchStride,
            float[] gradWeightIh, float[] gradWeightHh, float[] gradBiasIh, float[] gradBiasHh, float[] gradWeightHr,
            float[] gradPeephole, float[] tape, int tapeOff, float[] ws, int wsOff, int threads);

    /**
     * {@code c = a b} or, with {@code accumulate}, {@code c += a b}: {@code a} is {@code m x k}, {@code b}
     * {@code k x n}, {@code c} {@code m x n}, each at its offset with its stride between stored rows (a
     * transposed view's stored rows are its columns); OpenBLAS {@code sgemm} on fixed tiles of rows of
     * {@code c}, over up to {@code threads} threads.
     */
    static native void multiply(int m, int n, int k,
            float[] a, int aOff, int aStride, boolean aTransposed,
            float[] b, int bOff, int bStride, boolean bTransposed,
            float[] c, int cOff, int cStride, boolean accumulate, int threads);

    /**
     * Row softmax of {@code z} ({@code rows x cols}) into {@code p} (which may be {@code z}: in place), the
     * log-sum-exp of row {@code i} into {@code logSumExp[lseOff + i]}.
     */
    static native void softmax(int rows, int cols, float[] z, int zOff, int zStride, float[] p, int pOff, int pStride,
            float[] logSumExp, int lseOff);
}
