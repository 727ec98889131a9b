package org.rnnkit.nativebackend;

import org.rnnkit.spi.Availability;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.BackendProvider;

/**
 * Provider of the {@code native} backend. Constructing it loads nothing; {@link #probe()} loads
 * {@code librnnkit.so} and OpenBLAS once per JVM ({@link NativeLoader}) and reports either what it found
 * (kernels' instruction set, OpenBLAS version and core) or every step that failed, for example
 * {@code disabled by -Drnnkit.native.skip=true} or {@code rnnkit.native.path: no file at /x/librnnkit.so}.
 * A {@value NativeBackend#THREADS_PROPERTY} that is not an integer from 1 to {@value #MAX_THREADS} makes it
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

    /**
     * The most {@value NativeBackend#THREADS_PROPERTY} takes. Far above any core count this runs on (the
     * native pool stops at 64 threads anyway), so that a typo such as 100000, or a value meant for another
     * setting, is reported rather than silently capped.
     */
    static final int MAX_THREADS = 1024;

    /**
     * The thread count that {@code value}, the text of {@value NativeBackend#THREADS_PROPERTY}, asks for: 1
     * when it is null or blank, else a decimal integer from 1 to {@value #MAX_THREADS} (spaces around it
     * allowed).
     *
     * @throws IllegalArgumentException for anything else, e.g. {@code rnnkit.native.threads: expected an
     *         integer from 1 to 1024, got 'abc'}
     */
    static int threads(String value) {
        if (value == null || value.isBlank()) {
            return 1;
        }
        String v = value.trim();
        // ASCII digits only: Integer.parseInt also takes "+4" and other scripts' digits, and the
        // Integer.getInteger this replaces read "010" as octal 8 and "0x10" as 16
        if (v.matches("[0-9]{1,10}")) {
            long n = Long.parseLong(v);
            if (n >= 1 && n <= MAX_THREADS) {
                return (int) n;
            }
        }
        throw new IllegalArgumentException(NativeBackend.THREADS_PROPERTY + ": expected an integer from 1 to "
                + MAX_THREADS + ", got '" + value + "'");
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
    public Backend create() {
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
