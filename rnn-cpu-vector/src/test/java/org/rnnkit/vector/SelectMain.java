package org.rnnkit.vector;

import org.rnnkit.backend.Backends;

/**
 * Child JVM entry for tests of what the registry makes of the vector backend under this JVM's properties:
 * prints the probe, {@code auto: NAME} and {@code named: DESCRIPTION} or {@code named: failed: MESSAGE}
 * for {@code Backends.named("vector")}.
 */
final class SelectMain {
    private SelectMain() {}

    public static void main(String[] args) {
        System.out.println(new VectorBackendProvider().probe());
        System.out.println("auto: " + Backends.autoChoice().orElse("none"));
        try {
            System.out.println("named: " + Backends.named(VectorBackend.NAME).description());
        } catch (RuntimeException e) {
            System.out.println("named: failed: " + e.getMessage());
        }
    }
}
