package org.rnnkit.nativebackend;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.BackendProvider;

/**
 * Provider of the {@code native} backend. Constructing it loads nothing; {@link #probe()} loads
 * {@code librnnkit.so} and OpenBLAS once per JVM ({@link NativeLoader}) and reports either what it found
 * (kernels' instruction set, OpenBLAS version and core) or every step that failed, for example
 * {@code disabled by -Drnnkit.native.skip=true} or {@code rnnkit.native.path: no file at /x/librnnkit.so}.
 *
 * <p>Thread safety: stateless; the loading it triggers happens once, under a lock.
 */
public final class NativeBackendProvider implements BackendProvider {
    /** Above vector (100) and scalar (0): auto picks native whenever it loads. */
    public static final int PRIORITY = 200;

    @Override
    public String name() {
        return NativeBackend.NAME;
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public Availability probe() {
        try {
            NativeLoader.Status s = NativeLoader.status();
            return s.usable() ? Availability.available(s.detail())
                    : s.cause() == null ? Availability.unavailable(s.detail())
                    : Availability.unavailable(s.detail(), s.cause());
        } catch (Throwable t) { // a probe never throws
            return Availability.unavailable("the native backend failed to load", t);
        }
    }

    @Override
    public Backend create() {
        NativeLoader.Status s = NativeLoader.status();
        if (!s.usable()) {
            throw new IllegalStateException("native backend is not usable here: " + s.detail());
        }
        return new NativeBackend(s.detail());
    }
}
