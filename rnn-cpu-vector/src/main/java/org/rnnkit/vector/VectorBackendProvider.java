package org.rnnkit.vector;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.BackendProvider;

/**
 * Provider of the {@code vector} backend. It touches no Vector API type: {@link #probe()} first checks
 * that {@code jdk.incubator.vector} is in the boot layer, and only then lets {@link VectorProbe} read the
 * vector width, so a JVM started without {@code --add-modules jdk.incubator.vector} gets a reason instead
 * of a {@link NoClassDefFoundError}. A species forced wider than this JVM's vector registers makes it
 * {@linkplain Availability#degraded(String) degraded}: correct, but never chosen by auto-selection.
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

    @Override
    public Availability probe() {
        try {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                return Availability.unavailable("the Vector API module is not loaded: pass --add-modules "
                        + "jdk.incubator.vector to the JVM");
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
    public Backend create() {
        return new VectorBackend();
    }
}
