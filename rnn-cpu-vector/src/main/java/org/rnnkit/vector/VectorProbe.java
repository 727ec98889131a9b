package org.rnnkit.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

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

    /**
     * Whether the kernels' species is one this JVM runs on vector registers: no wider than the widest
     * {@code float} and {@code double} shapes C2 may use here, which the CPU and the JVM's own caps
     * ({@code -XX:UseAVX}, {@code -XX:MaxVectorSize}) decide together. A wider species (only by
     * {@value #BIT_SIZE_PROPERTY}) still computes the same bits, in the Vector API's Java fallback, which
     * allocates an object per vector operation and runs far slower. Loads the kernels' species.
     */
    static boolean hardwareBacked() {
        return VectorMath.bitSize() <= jvmMaxBits();
    }

    /**
     * The widest vector, in bits, that C2 compiles to registers in this JVM for every lane type the kernels
     * use: float products, double activations and the long lanes of their exponent arithmetic (on AVX
     * without AVX2, say, floats reach 256 bits but longs only 128).
     */
    static int jvmMaxBits() {
        return Math.min(VectorSpecies.ofLargestShape(float.class).vectorBitSize(),
                Math.min(VectorSpecies.ofLargestShape(double.class).vectorBitSize(),
                        VectorSpecies.ofLargestShape(long.class).vectorBitSize()));
    }

    /**
     * E.g. {@code FloatVector 256-bit, hardware-backed (this JVM's widest is 256 bits), FMA in hardware}; says
     * when the JVM is capped below the CPU, and when the species is emulated. Loads the kernels' species.
     */
    static String describe() {
        int bits = VectorMath.bitSize(), max = jvmMaxBits(), cpu = Cpu.VECTOR_BITS;
        String cap = cpu > max ? "; the CPU's is " + cpu + " bits: this JVM is capped by -XX:UseAVX or -XX:MaxVectorSize"
                : "";
        String how = bits <= max ? "hardware-backed (this JVM's widest is " + max + " bits" + cap + ")"
                : "emulated (wider than this JVM's " + max + "-bit maximum" + cap + "; the Vector API runs it in "
                        + "Java, allocating per operation, far slower; used only when named)";
        return "FloatVector " + bits + "-bit, " + how + ", " + fmaStatus();
    }

    /**
     * Whether the CPU has fused multiply-add, from the kernel's CPU flags (Linux): without it every
     * {@code fma} of the kernels is a slow exact software emulation (results unchanged).
     */
    static String fmaStatus() {
        return Cpu.FMA_STATUS;
    }

    /** The CPU's flags, read once: every backend instance ({@code withThreads} makes new ones) describes itself. */
    private static final class Cpu {
        static final String FLAGS = readFlags();
        static final String FMA_STATUS = FLAGS == null ? "FMA status unknown"
                : has("fma") || has("asimd") ? "FMA in hardware" : "no hardware FMA (fma emulated, slow)";
        /**
         * The CPU's widest vectors for every lane type, in bits (x86 AVX-512F, AVX2, SSE2; ARM NEON), or 0 if
         * unknown: what the JVM would use uncapped.
         */
        static final int VECTOR_BITS = FLAGS == null ? 0 : has("avx512f") ? 512 : has("avx2") ? 256
                : has("sse2") || has("asimd") ? 128 : 0;

        private static boolean has(String flag) {
            return FLAGS.contains(" " + flag + " ");
        }
    }

    /** The first CPU's flags as {@code " flag flag ... "}, or null when not Linux or not readable. */
    private static String readFlags() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags") || line.startsWith("Features")) {
                    return " " + line.substring(line.indexOf(':') + 1).trim().replaceAll("\\s+", " ") + " ";
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux, or not readable
        }
        return null;
    }
}
