package org.rnnkit.spi;

import java.util.Objects;
import java.util.Optional;

/**
 * Whether a backend can run here, and why: the result of {@link BackendProvider#probe()}.
 *
 * <p>Thread safety: immutable.
 */
public final class Availability {
    private final boolean available;
    private final String detail;
    private final Throwable cause;

    private Availability(boolean available, String detail, Throwable cause) {
        this.available = available;
        this.detail = Objects.requireNonNull(detail, "detail");
        this.cause = cause;
    }

    /** Usable; {@code details} says what was found (e.g. vector width, library version). */
    public static Availability available(String details) {
        return new Availability(true, details, null);
    }

    /** Not usable; {@code reason} says what is missing and, where possible, what to do about it. */
    public static Availability unavailable(String reason) {
        return new Availability(false, reason, null);
    }

    /** Not usable because of {@code cause}. */
    public static Availability unavailable(String reason, Throwable cause) {
        return new Availability(false, reason, cause);
    }

    public boolean isAvailable() {
        return available;
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
        return (available ? "available: " : "unavailable: ") + describe();
    }
}
