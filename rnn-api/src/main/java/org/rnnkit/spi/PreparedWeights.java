package org.rnnkit.spi;

/**
 * A backend's own form of one layer direction's weights (transposed, blocked, padded, off-heap, ...),
 * made once by {@link RecurrentKernel#prepare} when a layer is built.
 *
 * <p>Thread safety: implementations must be immutable after construction, since one layer is shared by
 * many threads; the one exception is {@link RecurrentKernel#update}, which their sole owner (a model in
 * training) calls between its own kernel calls.
 */
public interface PreparedWeights {
    /** The shape these weights were prepared for. */
    KernelShape shape();
}
