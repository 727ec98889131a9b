package org.rnnkit.nativebackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Who chooses OpenBLAS's kernel type, and that the probe says so: OpenBLAS (its detection or the
 * environment's {@code OPENBLAS_CORETYPE}) unless {@code rnnkit.openblas.coretype} names one this CPU runs.
 * Each case runs in a JVM of its own, since OpenBLAS reads the choice once, when it loads.
 */
class NativeCoreTypeTest {

    /** The probe ("available: ..." or "unavailable: ...") from a fresh JVM with the given property (null: unset) and OPENBLAS_CORETYPE (null: unset). */
    private static String probe(String property, String env) throws IOException, InterruptedException {
        return property == null ? probeWith(env) : probeWith(env, "-Drnnkit.openblas.coretype=" + property);
    }

    /** The probe from a fresh JVM with the given OPENBLAS_CORETYPE (null: unset) and system properties. */
    static String probeWith(String env, String... properties) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx256m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(properties));
        cmd.add(ProbeMain.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Map<String, String> e = pb.environment();
        e.remove("OPENBLAS_CORETYPE");
        if (env != null) {
            e.put("OPENBLAS_CORETYPE", env);
        }
        Process child = pb.start();
        child.getOutputStream().close();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the probe finished");
        assertEquals(0, child.exitValue(), out);
        return out.lines().filter(l -> l.contains("available: ")).findFirst().orElse(out);
    }

    @Test
    void aNamedTypeIsUsedAndNamedAsTheProperty() throws Exception {
        // Haswell: the AVX2 kernels, which every machine this project runs on executes
        String p = probe("haswell", "Zen");
        assertTrue(p.contains("(core Haswell, set by -Drnnkit.openblas.coretype;"), p);
    }

    @Test
    void withoutThePropertyTheEnvironmentOrOpenBlasChooses() throws Exception {
        String p = probe(null, "Zen");
        assertTrue(p.contains("(core Zen, from OPENBLAS_CORETYPE;"), p);
        String q = probe("detect", null);
        assertTrue(q.contains(", OpenBLAS's own detection;"), q);
    }

    /**
     * OpenBLAS's AVX-512 (SkylakeX) kernels and rnnkit's own are used where the CPU runs them, and refused
     * with the reason where it does not (an AVX2-only machine): never loaded to die on an illegal
     * instruction. Which branch runs is decided from {@code /proc/cpuinfo}, read here independently of the
     * C code's own CPUID check.
     */
    @Test
    void avx512KernelsRunWhereTheCpuHasThemAndAreRefusedElsewhere() throws Exception {
        boolean avx512 = CpuFlags.has("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
        System.out.println("[native cpu] this CPU " + (avx512 ? "has" : "lacks") + " AVX-512: the avx512 kernels and "
                + "OpenBLAS's SkylakeX type are checked to " + (avx512 ? "load and run" : "be refused with the reason"));
        String blas = probe("SkylakeX", null);
        String kernels = probeWith(null, "-Drnnkit.native.kernels=avx512");
        if (avx512) {
            assertTrue(blas.contains("(core SkylakeX, set by -Drnnkit.openblas.coretype;"), blas);
            assertTrue(kernels.startsWith("available: fused C kernels (avx512)"), kernels);
        } else {
            assertEquals("unavailable: rnnkit.openblas.coretype: SkylakeX kernels need instructions this CPU lacks", blas);
            assertEquals("unavailable: rnnkit.native.kernels: kernels 'avx512' cannot run here: expected one of "
                    + (CpuFlags.has("avx2", "fma") ? "avx2, " : "") + "generic", kernels);
        }
        if (CpuFlags.has("avx2", "fma")) { // every machine of this project
            String avx2 = probeWith(null, "-Drnnkit.native.kernels=avx2");
            assertTrue(avx2.startsWith("available: fused C kernels (avx2)"), avx2);
        }
        String generic = probeWith(null, "-Drnnkit.native.kernels=generic");
        assertTrue(generic.startsWith("available: fused C kernels (generic)"), generic);
    }

    @Test
    void anUnknownTypeMakesNativeUnusableWithTheReason() throws Exception {
        String p = probe("Pentium", null);
        assertEquals("unavailable: rnnkit.openblas.coretype: expected detect, Nehalem, Sandybridge, Haswell, Zen or"
                + " SkylakeX, got 'Pentium'", p);
    }
}
