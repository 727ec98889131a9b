package org.rnnkit.nativebackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loader and the registry in child JVMs ({@link ProbeMain} {@code --select}) given what used to kill
 * the JVM or be silently ignored: truncated copies of real libraries as {@code rnnkit.native.path} and
 * {@code rnnkit.openblas.path} (the dynamic loader mapped past the end of the file: SIGBUS, exit 134),
 * and thread counts that are not one. Each child must end normally, report the backend unusable with the
 * reason, let {@code auto} fall back to {@code scalar} (the only other backend on this module's test class
 * path) and fail {@code Backends.named("native")} with the same reason.
 */
class NativeLoaderChildTest {

    /** The child's lines: the probe, {@code auto: ...}, {@code named: ...}; asserts that it exited with 0. */
    private static List<String> select(String... properties) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx256m", "--enable-native-access=ALL-UNNAMED",
                // no hs_err_pid*.log in the module folder if a child does crash: the exit code says enough
                "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/rnnkit-child-hs_err_%p.log",
                "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(properties));
        cmd.addAll(List.of(ProbeMain.class.getName(), "--select"));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        child.getOutputStream().close();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child finished");
        assertNotEquals(134, child.exitValue(), "the child JVM crashed (SIGABRT after a fatal signal):\n" + out);
        assertEquals(0, child.exitValue(), out);
        List<String> lines = out.lines().filter(l -> l.matches("(available|unavailable|degraded|auto|named): .*")).toList();
        assertEquals(3, lines.size(), out);
        return lines;
    }

    private static void assertUnusable(String reason, List<String> lines) {
        assertEquals(List.of("unavailable: " + reason, "auto: scalar",
                "named: failed: backend: backend 'native' is not usable here: " + reason), lines);
    }

    @Test
    void aTruncatedNativeLibraryIsRefusedNotLoaded(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.bundled();
        ElfFixture.Segment load = elf.firstLoad();
        int cut = (int) (load.offset() + load.filesz() / 2);
        Path f = elf.writePrefix(tmp.resolve("librnnkit.so"), cut);
        assertUnusable("rnnkit.native.path: " + f + " is not a complete shared library: segment " + load.index()
                + " ends at byte " + load.end() + ", the file has " + cut + " bytes (truncated?)",
                select("-Drnnkit.native.path=" + f));
        // one byte short: before the check, this one loaded (nothing of the segments was missing) and nothing failed
        Path shortOne = elf.writePrefix(tmp.resolve("short.so"), elf.size() - 1);
        assertUnusable("rnnkit.native.path: " + shortOne + " is not a complete shared library: its section headers end "
                + "at byte " + elf.size() + ", the file has " + (elf.size() - 1) + " bytes (truncated?)",
                select("-Drnnkit.native.path=" + shortOne));
    }

    @Test
    void aTruncatedOpenBlasIsRefusedNotLoaded(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.openBlas("libopenblas.so.0");
        int cut = 2 << 20;
        ElfFixture.Segment first = elf.segments().stream().filter(s -> s.type() == 1 && s.end() > cut)
                .findFirst().orElseThrow();
        Path f = elf.writePrefix(tmp.resolve("libopenblas.so.0"), cut);
        assertUnusable("OpenBLAS not loaded: rnnkit.openblas.path: " + f + " is not a complete shared library: segment "
                + first.index() + " ends at byte " + first.end() + ", the file has " + cut + " bytes (truncated?)",
                select("-Drnnkit.openblas.path=" + f));
    }

    @Test
    void aBadThreadCountMakesTheBackendUnusable() throws Exception {
        // every kind of bad value is NativeLoaderTest's; here the way from the property to the user
        assertUnusable("rnnkit.native.threads: expected an integer from 1 to 1024, got 'abc'",
                select("-Drnnkit.native.threads=abc"));
        List<String> three = select("-Drnnkit.native.threads=3");
        assertTrue(three.get(0).startsWith("available: fused C kernels ("), three.toString());
        assertEquals("auto: native", three.get(1));
        assertTrue(three.get(2).startsWith("named: fused C kernels (") && three.get(2).endsWith(", up to 3 threads"),
                three.toString());
    }
}
