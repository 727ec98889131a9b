package org.rnnkit.nativebackend;

/** Prints the native backend's probe, for tests that need a JVM of their own (OpenBLAS loads once per process). */
public final class ProbeMain {
    private ProbeMain() {}

    public static void main(String[] args) {
        System.out.println(new NativeBackendProvider().probe());
    }
}
