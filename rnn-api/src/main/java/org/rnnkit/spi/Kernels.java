package org.rnnkit.spi;

import java.util.Objects;
import java.util.function.Function;

/**
 * A backend's kernels: one {@link RecurrentKernel} per {@link Recurrence} and one {@link DenseKernel} for
 * the products around them, made by a {@link BackendProvider}. What users select and hold is the API's {@code org.rnnkit.backend.Backend},
 * which wraps one of these.
 *
 * <p>Thread safety: implementations must be safe for concurrent use; one instance serves every layer
 * of the process.
 */
public abstract class Kernels {
    private final RecurrentKernel<?>[] byType = new RecurrentKernel<?>[Recurrence.values().length];
    private final DenseKernel dense;

    /**
     * @param kernelFor makes the kernel of each recurrence, called once per recurrence here
     * @param dense the dense products, splitting over as many threads as these kernels do
     * @throws IllegalArgumentException if {@code kernelFor} returns null or a kernel of another recurrence
     */
    protected Kernels(Function<Recurrence, RecurrentKernel<?>> kernelFor, DenseKernel dense) {
        this.dense = Objects.requireNonNull(dense, "dense: expected a DenseKernel, got null");
        for (Recurrence r : Recurrence.values()) {
            RecurrentKernel<?> k = kernelFor.apply(r);
            if (k == null || k.type() != r) {
                throw new IllegalArgumentException("kernelFor(" + r + "): expected a " + r + " kernel, got "
                        + (k == null ? "null" : "a " + k.type() + " kernel"));
            }
            byType[r.ordinal()] = k;
        }
    }

    /** The provider's stable name, e.g. {@code scalar}. */
    public abstract String name();

    /** One line for logs and {@code rnnkit backends}, e.g. {@code "plain Java reference kernels"}. */
    public abstract String description();

    /** The kernel for a recurrence. */
    public final RecurrentKernel<?> kernel(Recurrence type) {
        return byType[Objects.requireNonNull(type, "type").ordinal()];
    }

    /** The dense products and softmax. */
    public final DenseKernel dense() {
        return dense;
    }

    /** How many threads one call may use (1 unless {@link #splitOver} made these kernels). */
    public int threads() {
        return 1;
    }

    /**
     * These kernels allowed to split one call over up to {@code threads} threads (the calling thread
     * included), choosing by shape how many help; results must not depend on the count.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public final Kernels withThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
        return threads == threads() ? this : Objects.requireNonNull(splitOver(threads), "splitOver");
    }

    /**
     * The same kernels splitting large calls over up to {@code threads} threads ({@code threads >= 1} and
     * not {@link #threads()}). Kernels that never split return themselves (the default). The result owns no
     * threads of its own beyond a shared, process-wide pool of daemon threads.
     */
    protected Kernels splitOver(int threads) {
        return this;
    }

    @Override
    public String toString() {
        return name() + (threads() > 1 ? " (" + threads() + " threads)" : "");
    }
}
