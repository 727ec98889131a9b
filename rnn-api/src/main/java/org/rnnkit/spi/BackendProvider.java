package org.rnnkit.spi;

/**
 * Discovery entry of a backend, loaded with {@link java.util.ServiceLoader}. Cheap to construct: it must
 * not load native code or touch optional JDK modules until {@link #probe()}.
 *
 * <p>Register an implementation in {@code META-INF/services/org.rnnkit.spi.BackendProvider} and with
 * {@code provides org.rnnkit.spi.BackendProvider with ...} in {@code module-info.java}.
 *
 * <p>Thread safety: implementations must be safe for concurrent use.
 */
public interface BackendProvider {

    /** Stable, lower-case name used for selection: {@code scalar}, {@code vector}, {@code native}. */
    String name();

    /** Auto-selection picks the available (not degraded) provider with the highest priority. */
    int priority();

    /**
     * Whether the backend can run in this JVM on this machine, and whether at its intended speed
     * ({@link Availability#degraded(String)} when it would run correctly but far slower, e.g. on emulated
     * instructions). Never throws: every failure becomes {@link Availability#unavailable(String, Throwable)}
     * with a reason a user can act on.
     */
    Availability probe();

    /** Builds the backend's kernels. Called only after {@link #probe()} reported it available. */
    Kernels create();
}
