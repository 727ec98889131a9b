package org.rnnkit.nativebackend;

import org.rnnkit.backend.Backends;

/**
 * Prints the native backend's probe, for tests that need a JVM of their own (OpenBLAS loads once per process).
 * With {@code --select} it then prints what the registry makes of it: {@code auto: NAME} (the backend
 * {@code auto} picks) and {@code named: DESCRIPTION} or {@code named: failed: MESSAGE} for
 * {@code Backends.named("native")}.
 */
public final class ProbeMain {
    private ProbeMain() {}

    public static void main(String[] args) {
        System.out.println(new NativeBackendProvider().probe());
        if (args.length > 0 && args[0].equals("--select")) {
            System.out.println("auto: " + Backends.autoChoice().orElse("none"));
            try {
                System.out.println("named: " + Backends.named(NativeBackend.NAME).description());
            } catch (RuntimeException e) {
                System.out.println("named: failed: " + e.getMessage());
            }
        }
    }
}
