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
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx256m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path")));
        if (property != null) {
            cmd.add("-Drnnkit.openblas.coretype=" + property);
        }
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

    @Test
    void anUnknownTypeMakesNativeUnusableWithTheReason() throws Exception {
        String p = probe("Pentium", null);
        assertEquals("unavailable: rnnkit.openblas.coretype: expected detect, Nehalem, Sandybridge, Haswell, Zen or"
                + " SkylakeX, got 'Pentium'", p);
    }
}
