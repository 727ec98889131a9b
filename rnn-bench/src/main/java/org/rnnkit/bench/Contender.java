package org.rnnkit.bench;

/**
 * One participant of a benchmark, set up and already checked against rnnkit's reference: an rnnkit
 * backend or a peer running one scenario. The JMH benchmarks time {@link #call()}; the paired benchmark
 * alternates the calls of several contenders in one process.
 *
 * <p>Thread safety: not thread-safe; one contender per benchmark trial and thread.
 */
public interface Contender extends AutoCloseable {
    /** One call: a forward pass, or a training step; returns something for the blackhole. */
    Object call() throws Exception;

    /** Frees native resources; the default holds none. */
    @Override
    default void close() throws Exception {}
}
