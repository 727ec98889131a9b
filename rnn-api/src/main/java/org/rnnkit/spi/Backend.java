package org.rnnkit.spi;

import org.rnnkit.nn.CellType;

/**
 * A usable backend: the kernels of one implementation strategy (plain Java, Vector API, native, ...).
 *
 * <p>Thread safety: implementations must be safe for concurrent use; one instance serves every layer
 * of the process.
 */
public interface Backend extends AutoCloseable {

    /** The provider's stable name, e.g. {@code scalar}. */
    String name();

    /** One line for logs and {@code rnnkit backends}, e.g. {@code "plain Java reference kernels"}. */
    String description();

    /** The kernel for a recurrence type. */
    RecurrentKernel kernel(CellType type);

    /**
     * This backend allowed to split one call over up to {@code threads} threads (the calling thread
     * included), choosing by shape how many help; results must not depend on the count. Backends that
     * never split return themselves. The returned backend owns no threads of its own beyond a shared,
     * process-wide pool of daemon threads.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    default Backend withThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
        return this;
    }

    /** Releases native resources, if any. Backends are process-wide; the registry never closes them. */
    @Override
    default void close() {}
}
