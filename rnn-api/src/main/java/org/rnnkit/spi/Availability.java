package org.rnnkit.spi;

import java.util.Objects;
import java.util.Optional;

/**
 * Whether a backend can run here, and why: the result of {@link BackendProvider#probe()}. One of three
 * verdicts:
 * <ul>
 *   <li>{@linkplain #available(String) available}: usable at its intended speed; auto-selection may pick it;
 *   <li>{@linkplain #degraded(String) degraded}: usable and correct, but far below its intended speed on this
 *       machine (for example, vector instructions wider than the CPU's, emulated in Java). It runs when it is
 *       named, and auto-selection passes it over;
 *   <li>{@linkplain #unavailable(String) unavailable}: cannot run here.
 * </ul>
 *
 * <p>Thread safety: immutable.
 */
public final class Availability {
    private final boolean available;
    private final boolean degraded;
    private final String detail;
    private final Throwable cause;

    private Availability(boolean available, boolean degraded, String detail, Throwable cause) {
        this.available = available;
        this.degraded = degraded;
        this.detail = Objects.requireNonNull(detail, "detail");
        this.cause = cause;
    }

    /** Usable; {@code details} says what was found (e.g. vector width, library version). */
    public static Availability available(String details) {
        return new Availability(true, false, details, null);
    }

    /**
     * Usable and correct but slow here; {@code details} says what was found and why it is slow. Such a
     * backend runs only when named: auto-selection never picks it.
     */
    public static Availability degraded(String details) {
        return new Availability(true, true, details, null);
    }

    /** Not usable; {@code reason} says what is missing and, where possible, what to do about it. */
    public static Availability unavailable(String reason) {
        return new Availability(false, false, reason, null);
    }

    /** Not usable because of {@code cause}. */
    public static Availability unavailable(String reason, Throwable cause) {
        return new Availability(false, false, reason, cause);
    }

    /** Whether the backend can run here (at full speed, or {@linkplain #isDegraded() degraded}). */
    public boolean isAvailable() {
        return available;
    }

    /** Whether it can run here but far below its intended speed, so that only naming it selects it. */
    public boolean isDegraded() {
        return degraded;
    }

    /** The details when available, the reason when not; never null. */
    public String detail() {
        return detail;
    }

    public Optional<Throwable> cause() {
        return Optional.ofNullable(cause);
    }

    /** The detail with the cause's own message appended, for one-line reports. */
    public String describe() {
        if (cause == null) {
            return detail;
        }
        String msg = cause.getMessage();
        return detail + " (" + cause.getClass().getSimpleName() + (msg == null ? "" : ": " + msg) + ")";
    }

    @Override
    public String toString() {
        return (degraded ? "degraded: " : available ? "available: " : "unavailable: ") + describe();
    }
}
