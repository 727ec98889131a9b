package org.rnnkit.vector;

import jdk.incubator.vector.FloatVector;

/**
 * The Vector API checks of the provider's probe, in their own class so that the provider itself never
 * links a Vector API type: this class is loaded only once the module is known to be present.
 */
final class VectorProbe {
    /** {@code -Drnnkit.vector.bitSize=128|256|512} forces the vector width (default: the CPU's preferred). */
    static final String BIT_SIZE_PROPERTY = "rnnkit.vector.bitSize";

    private VectorProbe() {}

    /** Null when the Vector API is usable with the configured width, else the reason. */
    static String problem() {
        String forced = System.getProperty(BIT_SIZE_PROPERTY);
        if (forced != null && !forced.isBlank()) {
            String v = forced.trim();
            if (!v.equals("128") && !v.equals("256") && !v.equals("512")) {
                return BIT_SIZE_PROPERTY + ": expected 128, 256 or 512, got '" + forced + "'";
            }
            return null;
        }
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (preferred < 128) {
            return "the CPU's preferred vector width is " + preferred + " bits; the vector backend needs at least 128";
        }
        return null;
    }

    /** E.g. {@code FloatVector 256-bit, FMA in hardware}; loads the kernels' species. */
    static String describe() {
        int bits = VectorMath.bitSize(), max = FloatVector.SPECIES_MAX.vectorBitSize();
        return "FloatVector " + bits + "-bit, " + fmaStatus() + (bits > max ? " (above the CPU's " + max
                + "-bit maximum: emulated, slow)" : "");
    }

    /**
     * Whether the CPU has fused multiply-add, from the kernel's CPU flags (Linux): without it every
     * {@code fma} of the kernels is a slow exact software emulation (results unchanged).
     */
    static String fmaStatus() {
        return Fma.STATUS;
    }

    /** Read once: every backend instance ({@code withThreads} makes new ones) describes itself with it. */
    private static final class Fma {
        static final String STATUS = readFmaStatus();
    }

    private static String readFmaStatus() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags") || line.startsWith("Features")) {
                    boolean fma = (" " + line.substring(line.indexOf(':') + 1) + " ").matches(".* (fma|asimd) .*");
                    return fma ? "FMA in hardware" : "no hardware FMA (fma emulated, slow)";
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux, or not readable
        }
        return "FMA status unknown";
    }
}
