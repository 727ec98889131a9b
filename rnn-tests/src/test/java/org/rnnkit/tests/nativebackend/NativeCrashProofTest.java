package org.rnnkit.tests.nativebackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backend;
import org.rnnkit.tests.BackendSource;

/**
 * The native backend cannot be crashed by bad input: {@link NativeMisuseMain} throws the API's whole
 * bad-input suite, misuses of the SPI below the API's validation, and a seeded fuzz of kernel calls at it in
 * a child JVM started with {@code -Xcheck:jni} (which also reports any misuse of JNI by the native code).
 * A crash kills only the child; this test then fails with its exit status and output.
 */
class NativeCrashProofTest {

    @Test
    void badInputNeverCrashesTheJvm() throws IOException, InterruptedException {
        Backend nativeBackend = BackendSource.all().filter(n -> n.getPayload().name().equals("native"))
                .map(Named::getPayload).findFirst().orElse(null);
        Assumptions.assumeTrue(nativeBackend != null, "the native backend is not among the backends under test");
        BackendSource.require(nativeBackend); // skipped (or failed with CI=true) when it is unusable here

        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xcheck:jni", "-Xmx512m",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
        for (String p : new String[] {"rnnkit.native.kernels", "rnnkit.openblas.path", "rnnkit.tests.seed"}) {
            if (System.getProperty(p) != null) {
                cmd.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        cmd.add("-Drnnkit.tests.fuzz=" + Integer.getInteger("rnnkit.native.tests.fuzz", 20_000));
        cmd.add(NativeMisuseMain.class.getName());
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        child.getOutputStream().close();
        byte[] out = child.getInputStream().readAllBytes();
        assertTrue(child.waitFor(10, TimeUnit.MINUTES), "the child JVM did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        System.out.print(text.lines().filter(l -> l.startsWith("native misuse")).map(l -> "[crash-proof] " + l + "\n")
                .reduce("", String::concat));
        assertEquals(0, child.exitValue(), "child JVM exit status; its output:\n" + text);
        assertTrue(text.contains("native misuse: OK"), text);
        assertFalse(text.contains("WARNING in native method") || text.contains("FATAL ERROR in native method"),
                "-Xcheck:jni reported a JNI misuse:\n" + text);
    }
}
