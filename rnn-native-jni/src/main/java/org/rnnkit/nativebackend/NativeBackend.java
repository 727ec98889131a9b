package org.rnnkit.nativebackend;

import org.rnnkit.spi.Kernels;

/**
 * The native backend: one JNI call per layer-sequence into C kernels ({@code librnnkit.so}, built from
 * {@code src/main/c} with the Maven build and bundled in this jar), with OpenBLAS (from the
 * {@code org.bytedeco:openblas} jar, {@code -Drnnkit.openblas.path} or the system) for the backward
 * pass's products over all steps. See {@link NativeKernel} for what runs where, and {@link NativeLoader}
 * for how the libraries are found.
 *
 * <h2>Instruction sets</h2>
 * The C kernels are compiled three times, for AVX-512, for AVX2 with FMA and for the x86-64 baseline,
 * and the best one this CPU runs is chosen when the library loads ({@code -Drnnkit.native.kernels=avx512|avx2|generic}
 * forces one). Results may differ in the last bits between instruction sets, never between runs.
 *
 * <h2>Threads</h2>
 * Single-threaded by default. {@link #withThreads withThreads(n)} (or {@code -Drnnkit.native.threads=n} for
 * the registry's instance) lets large calls split over up to n threads: the calling thread and a shared,
 * process-wide pool of native worker threads (created on first use, never attached to the JVM). The
 * parts are fixed independently of n (see {@link NativeKernel}), so results are bit-identical for every
 * count. OpenBLAS itself always runs on one thread: its threaded {@code sgemm} splits rows differently for
 * each thread count, which changes result bits (measured here: thousands of elements of a weight
 * gradient differ between 1, 2 and 3 threads); the pool calls it on fixed tiles instead.
 *
 * <p>Thread safety: immutable; its kernels are stateless and safe for concurrent use.
 */
public final class NativeBackend extends Kernels {
    public static final String NAME = "native";
    /**
     * {@code -Drnnkit.native.threads=N}: threads for the registry's instance (default 1); N from 1 to 1024,
     * anything else makes the backend unusable with the reason.
     */
    public static final String THREADS_PROPERTY = "rnnkit.native.threads";

    private final String loaded, description;
    private final int threads;

    /** The backend over the libraries {@code loaded} describes, splitting large calls over up to {@code threads}. */
    NativeBackend(String loaded, int threads) {
        super(r -> new NativeKernel(r, threads), new NativeDense(threads));
        this.loaded = loaded;
        this.threads = threads;
        description = loaded + (threads > 1 ? ", up to " + threads + " threads" : "");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return description;
    }

    /** This backend splitting large calls over up to {@code threads} threads; the same bits for every count. */
    @Override
    protected NativeBackend splitOver(int threads) {
        return new NativeBackend(loaded, threads);
    }

    /** How many threads a large call may use. */
    @Override
    public int threads() {
        return threads;
    }
}
