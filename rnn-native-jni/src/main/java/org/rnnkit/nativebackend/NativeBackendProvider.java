package org.rnnkit.nativebackend;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.BackendProvider;
import org.rnnkit.spi.ThreadCount;

/**
 * Provider of the {@code native} backend. Constructing it loads nothing; {@link #probe()} loads
 * {@code librnnkit.so} and OpenBLAS once per JVM ({@link NativeLoader}) and reports either what it found
 * (kernels' instruction set, OpenBLAS version and core) or every step that failed, for example
 * {@code disabled by -Drnnkit.native.skip=true} or {@code rnnkit.native.path: no file at /x/librnnkit.so}.
 * A {@value NativeBackend#THREADS_PROPERTY} that is not an integer from 1 to {@value ThreadCount#MAX} makes it
 * unusable with that reason too, so {@code auto} passes it over and naming it fails with the message.
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

    /** The thread count {@value NativeBackend#THREADS_PROPERTY}'s text asks for ({@link ThreadCount#parse}). */
    static int threads(String value) {
        return ThreadCount.parse(NativeBackend.THREADS_PROPERTY, value);
    }

    /** A bad {@value NativeBackend#THREADS_PROPERTY} makes the backend unusable, before anything is loaded. */
    @Override
    public Availability probe() {
        try {
            try {
                threads(System.getProperty(NativeBackend.THREADS_PROPERTY));
            } catch (IllegalArgumentException e) {
                return Availability.unavailable(e.getMessage());
            }
            NativeLoader.Status s = NativeLoader.status();
            return s.usable() ? Availability.available(s.detail())
                    : s.cause() == null ? Availability.unavailable(s.detail())
                    : Availability.unavailable(s.detail(), s.cause());
        } catch (Throwable t) { // a probe never throws
            return Availability.unavailable("the native backend failed to load", t);
        }
    }

    @Override
    public Kernels create() {
        int threads;
        try {
            threads = threads(System.getProperty(NativeBackend.THREADS_PROPERTY));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("native backend is not usable here: " + e.getMessage(), e);
        }
        NativeLoader.Status s = NativeLoader.status();
        if (!s.usable()) {
            throw new IllegalStateException("native backend is not usable here: " + s.detail());
        }
        return new NativeBackend(s.detail(), threads);
    }
}
