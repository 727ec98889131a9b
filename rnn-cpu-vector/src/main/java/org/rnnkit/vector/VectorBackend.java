package org.rnnkit.vector;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.rnnkit.spi.Kernels;

/**
 * The Vector API backend: weights packed once into panels, the input projection of a whole sequence as
 * one blocked product, the recurrence as a register-blocked GEMM over the running rows (a mat-vec at
 * batch 1), gate equations right after each row's product with correctly rounded activations.
 *
 * <h2>Threads</h2>
 * Single-threaded by default. {@code -Drnnkit.vector.threads=N} (read when the backend is created; the
 * registry's instance then uses a pool of N-1 daemon workers) or {@link #withExecutor} lets large calls
 * split independent work: the input projection and the input gradient by time blocks, the recurrence by
 * blocks of batch rows (batch 8 and more), the weight gradients by rows of the result, and a batch-1
 * forward recurrence by hidden units with the parts meeting after every step (a spinning barrier: give it
 * cores that are otherwise idle). Each output keeps one owner and its fixed reduction order, so results
 * are bit-identical for every thread count; small calls stay on the calling thread.
 *
 * <p>Thread safety: immutable; its kernels are stateless.
 */
public final class VectorBackend extends Kernels {
    public static final String NAME = "vector";
    /**
     * {@code -Drnnkit.vector.threads=N}: threads for the registry's instance (default 1); N from 1 to 1024,
     * anything else makes the backend unusable with the reason.
     */
    public static final String THREADS_PROPERTY = "rnnkit.vector.threads";

    private final VectorParallel par;
    private final String description;

    /** The backend splitting large calls over up to {@code threads} threads (the registry's: the property's). */
    VectorBackend(int threads) {
        this(parallel(threads));
    }

    private VectorBackend(VectorParallel par) {
        super(r -> switch (r) {
            case RNN_TANH -> new VectorRnnKernel(false, par);
            case RNN_RELU -> new VectorRnnKernel(true, par);
            case LSTM -> new VectorLstmKernel(par);
            case GRU -> new VectorGruKernel(par);
        }, new VectorDense(par));
        this.par = par;
        description = VectorProbe.describe() + (par.threads() > 1 ? ", up to " + par.threads() + " threads" : "");
    }

    /**
     * This backend splitting large calls into up to {@code threads} parts, the calling thread running
     * one and {@code executor} the others (a part no worker has started is run by the caller, so a busy
     * executor delays but never blocks a call). {@code threads == 1} ignores the executor.
     *
     * @throws IllegalArgumentException if {@code threads < 1}, or {@code executor} is null with {@code threads > 1}
     */
    public VectorBackend withExecutor(Executor executor, int threads) {
        return new VectorBackend(threads == 1 ? VectorParallel.SERIAL : new VectorParallel(executor, threads));
    }

    /** This backend on the shared daemon pool of {@code rnnkit-vector-*} workers, up to {@code threads} parts per call. */
    @Override
    protected VectorBackend splitOver(int threads) {
        return new VectorBackend(parallel(threads));
    }

    /** How many parts a large call may be split into. */
    @Override
    public int threads() {
        return par.threads();
    }

    private static VectorParallel parallel(int threads) {
        return threads == 1 ? VectorParallel.SERIAL : new VectorParallel(Pool.executor(threads - 1), threads);
    }

    /** The shared workers: daemon threads, one fixed pool per worker count, made on first use. */
    private static final class Pool {
        private static final Map<Integer, ExecutorService> POOLS = new HashMap<>();
        private static final AtomicInteger ID = new AtomicInteger();

        static synchronized Executor executor(int workers) {
            return POOLS.computeIfAbsent(workers, n -> {
                ThreadFactory f = r -> {
                    Thread t = new Thread(r, "rnnkit-vector-" + ID.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                };
                return Executors.newFixedThreadPool(n, f);
            });
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return description;
    }
}
