package org.rnnkit.vector;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.BackendProvider;
import org.rnnkit.spi.ThreadCount;

/**
 * Provider of the {@code vector} backend. It touches no Vector API type: {@link #probe()} first checks
 * that {@code jdk.incubator.vector} is in the boot layer, and only then lets {@link VectorProbe} read the
 * vector width, so a JVM started without {@code --add-modules jdk.incubator.vector} gets a reason instead
 * of a {@link NoClassDefFoundError}. A species forced wider than this JVM's vector registers makes it
 * {@linkplain Availability#degraded(String) degraded}: correct, but never chosen by auto-selection. A
 * {@value VectorBackend#THREADS_PROPERTY} that is not an integer from 1 to {@value ThreadCount#MAX} makes it
 * unusable with that reason, so {@code auto} passes it over and naming it fails with the message.
 *
 * <p>Thread safety: stateless.
 */
public final class VectorBackendProvider implements BackendProvider {
    /** Above scalar (0), below a native backend (200). */
    public static final int PRIORITY = 100;

    @Override
    public String name() {
        return VectorBackend.NAME;
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    /** The thread count {@value VectorBackend#THREADS_PROPERTY}'s text asks for ({@link ThreadCount#parse}). */
    static int threads(String value) {
        return ThreadCount.parse(VectorBackend.THREADS_PROPERTY, value);
    }

    /** A bad {@value VectorBackend#THREADS_PROPERTY} makes the backend unusable with the reason. */
    @Override
    public Availability probe() {
        try {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                return Availability.unavailable("the Vector API module is not loaded: pass --add-modules "
                        + "jdk.incubator.vector to the JVM");
            }
            try {
                threads(System.getProperty(VectorBackend.THREADS_PROPERTY));
            } catch (IllegalArgumentException e) {
                return Availability.unavailable(e.getMessage());
            }
            String problem = VectorProbe.problem();
            if (problem != null) {
                return Availability.unavailable(problem);
            }
            // a species wider than the JVM's registers computes the same bits, but boxed: only when named
            return VectorProbe.hardwareBacked() ? Availability.available(VectorProbe.describe())
                    : Availability.degraded(VectorProbe.describe());
        } catch (Throwable t) { // a probe never throws
            return Availability.unavailable("the Vector API failed to initialise", t);
        }
    }

    @Override
    public Kernels create() {
        int threads;
        try {
            threads = threads(System.getProperty(VectorBackend.THREADS_PROPERTY));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("vector backend is not usable here: " + e.getMessage(), e);
        }
        return new VectorBackend(threads);
    }
}
