package org.rnnkit.vector;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.BackendProvider;

/**
 * Provider of the {@code vector} backend. It touches no Vector API type itself: the probe first checks
 * that the incubator module is in the boot layer, and only then loads {@link VectorMath} to read the
 * vector width, so a JVM without {@code --add-modules jdk.incubator.vector} gets a reason, not an error.
 *
 * <p>Thread safety: stateless.
 */
public final class VectorBackendProvider implements BackendProvider {
    /** Above scalar (0), below a native backend. */
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
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return Availability.unavailable("the Vector API module is not loaded: pass --add-modules jdk.incubator.vector"
                    + " to the JVM");
        }
        try {
            int bits = VectorMath.bitSize();
            if (bits < 128) {
                return Availability.unavailable("vector width " + bits + " bits is below 128: no SIMD to use");
            }
            return Availability.available(VectorMath.describe());
        } catch (Throwable t) { // a probe never throws (e.g. a bad rnnkit.vector.bitSize)
            return Availability.unavailable("the Vector API failed to initialise", t);
        }
    }

    @Override
    public Backend create() {
        return new VectorBackend();
    }
}
