package org.rnnkit.backend;

import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.Kernels;

/**
 * A backend that layers and cells compute on: {@code native}, {@code vector}, {@code scalar} or a third
 * party's. Obtain one from {@link Backends} ({@link Backends#get()}, {@link Backends#named(String)}),
 * and pass it to a layer's builder or loader; {@link #withThreads} lets one call use several threads.
 *
 * <pre>{@code
 * Backend vector = Backends.named("vector").withThreads(2);
 * RecurrentLayer lstm = RecurrentLayer.load(Path.of("lstm.safetensors"), vector);
 * }</pre>
 *
 * <p>Thread safety: immutable; one instance serves any number of layers and threads.
 */
public final class Backend {
    static {
        KernelAccess.install(b -> ((Backend) b).kernels, Backend::new);
    }

    private final Kernels kernels;

    Backend(Kernels kernels) {
        this.kernels = kernels;
    }

    /** The backend's stable name: {@code native}, {@code vector}, {@code scalar}, ... */
    public String name() {
        return kernels.name();
    }

    /** One line on what it runs here, e.g. the instruction set and library versions. */
    public String description() {
        return kernels.description();
    }

    /** How many threads one call may use (1 by default). */
    public int threads() {
        return kernels.threads();
    }

    /**
     * This backend allowed to split one call over up to {@code threads} threads (the calling thread
     * included), choosing by shape how many help. Results are bit-identical for every count. Backends
     * that never split (scalar) return themselves.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public Backend withThreads(int threads) {
        Kernels k = kernels.withThreads(threads);
        return k == kernels ? this : new Backend(k);
    }

    /** Same kernels: the same backend at the same thread count. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Backend b && b.kernels == kernels;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(kernels);
    }

    /** The name, and the thread count when above 1: {@code native (2 threads)}. */
    @Override
    public String toString() {
        return kernels.toString();
    }
}
