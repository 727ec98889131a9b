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

    /** Releases native resources, if any. Backends are process-wide; the registry never closes them. */
    @Override
    default void close() {}
}
