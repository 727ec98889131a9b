package org.rnnkit.backend;

/**
 * What discovery found about one backend: whether it runs here, and why.
 *
 * @param name the backend's name
 * @param priority auto-selection picks the {@linkplain Status#AVAILABLE available} backend of highest priority
 * @param status whether it can run here
 * @param detail what was found when it can run (vector width, library versions, ...), the reason when not
 *
 * <p>Thread safety: immutable.
 */
public record BackendInfo(String name, int priority, Status status, String detail) {
    /** Whether a backend can run here. */
    public enum Status {
        /** Usable at its intended speed: auto-selection may pick it. */
        AVAILABLE,
        /** Usable and correct but far below its intended speed here; it runs only when named. */
        DEGRADED,
        /** Cannot run here. */
        UNAVAILABLE
    }

    /** Whether it can run here (available or degraded). */
    public boolean usable() {
        return status != Status.UNAVAILABLE;
    }

    /** Whether {@code auto} may pick it. */
    public boolean autoSelectable() {
        return status == Status.AVAILABLE;
    }
}
