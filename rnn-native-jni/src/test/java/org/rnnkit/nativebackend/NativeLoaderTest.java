package org.rnnkit.nativebackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.spi.Availability;

/**
 * The loader explains itself: each way of failing gives a reason that names the property or file, and
 * never throws. (Only failures are provoked here: a second successful load in one JVM would map a second
 * copy of the library.)
 */
class NativeLoaderTest {

    private static Properties props(String... kv) {
        Properties p = new Properties();
        p.putAll(System.getProperties());
        p.remove(NativeLoader.SKIP);
        p.remove(NativeLoader.PATH);
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    void skipPropertyDisablesLoading() {
        NativeLoader.Status s = NativeLoader.load(props(NativeLoader.SKIP, "true"));
        assertFalse(s.usable());
        assertEquals("disabled by -Drnnkit.native.skip=true", s.detail());
    }

    @Test
    void aMissingExplicitPathIsNamed(@TempDir Path tmp) {
        Path missing = tmp.resolve("nope/librnnkit.so");
        NativeLoader.Status s = NativeLoader.load(props(NativeLoader.PATH, missing.toString()));
        assertFalse(s.usable());
        assertEquals("rnnkit.native.path: no file at " + missing, s.detail());
    }

    /** Refused by {@link SharedLibraryCheck} before System.load (every way it refuses: SharedLibraryCheckTest). */
    @Test
    void aFileThatIsNoLibraryIsRefusedBeforeLoading(@TempDir Path tmp) throws Exception {
        Path junk = Files.writeString(tmp.resolve("librnnkit.so"), "not an ELF file");
        NativeLoader.Status s = NativeLoader.load(props(NativeLoader.PATH, junk.toString()));
        assertFalse(s.usable());
        assertEquals("rnnkit.native.path: " + junk + " is not a shared library: 15 bytes, less than an ELF header's 64",
                s.detail());
        assertNull(s.cause());
        Path dir = Files.createDirectory(tmp.resolve("lib"));
        assertEquals("rnnkit.native.path: " + dir + " is a directory, not a shared library",
                NativeLoader.load(props(NativeLoader.PATH, dir.toString())).detail());
    }

    @Test
    void anUnknownPlatformIsNamedBeforeFallingBackToTheLibraryPath() {
        NativeLoader.Status s = NativeLoader.load(props("os.name", "Windows 11", "os.arch", "aarch64",
                "java.library.path", "/nonexistent"));
        // java.library.path is read at JVM start, so the fallback may still find a system copy: only check
        // the failure text when it did not
        if (!s.usable()) {
            assertTrue(s.detail().startsWith("no bundled library for windows 11/aarch64 (only linux-x86_64 is built); "
                    + "System.loadLibrary(\"rnnkit\"): "), s.detail());
        }
    }

    @Test
    void theThreadCountIsAnIntegerFromOneTo1024() {
        assertEquals(1, NativeBackendProvider.threads(null));
        assertEquals(1, NativeBackendProvider.threads(""));
        assertEquals(1, NativeBackendProvider.threads("  "));
        assertEquals(1, NativeBackendProvider.threads("1"));
        assertEquals(4, NativeBackendProvider.threads(" 4 "));
        assertEquals(10, NativeBackendProvider.threads("010")); // decimal (Integer.getInteger read octal 8)
        assertEquals(1024, NativeBackendProvider.threads("1024"));
        for (String bad : new String[] {"abc", "-1", "0", "1025", "2147483648", "99999999999", "+4", "0x10", "4.0",
                "\u0664", "4 threads"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NativeBackendProvider.threads(bad), bad);
            assertEquals("rnnkit.native.threads: expected an integer from 1 to 1024, got '" + bad + "'", e.getMessage());
        }
    }

    /** The property is read when probing and creating, so a bad value is seen by both (the registry's: child JVM test). */
    @Test
    void aBadThreadCountIsTheProbesReasonAndCreatesNothing() {
        String old = System.getProperty(NativeBackend.THREADS_PROPERTY);
        System.setProperty(NativeBackend.THREADS_PROPERTY, "-1");
        try {
            NativeBackendProvider p = new NativeBackendProvider();
            Availability a = p.probe();
            assertFalse(a.isAvailable());
            assertEquals("rnnkit.native.threads: expected an integer from 1 to 1024, got '-1'", a.detail());
            IllegalStateException e = assertThrows(IllegalStateException.class, p::create);
            assertEquals("native backend is not usable here: rnnkit.native.threads: expected an integer from 1 to "
                    + "1024, got '-1'", e.getMessage());
            System.setProperty(NativeBackend.THREADS_PROPERTY, "2");
            assertEquals(2, ((NativeBackend) p.create()).threads());
        } finally {
            if (old == null) {
                System.clearProperty(NativeBackend.THREADS_PROPERTY);
            } else {
                System.setProperty(NativeBackend.THREADS_PROPERTY, old);
            }
        }
    }

    @Test
    void theProviderReportsWhatItLoaded() {
        NativeBackendProvider p = new NativeBackendProvider();
        assertEquals("native", p.name());
        assertEquals(200, p.priority());
        Availability a = p.probe();
        assertTrue(a.isAvailable(), a.toString());
        assertTrue(a.detail().startsWith("fused C kernels ("), a.detail());
        assertTrue(a.detail().contains("OpenBLAS 0.") && a.detail().contains("(core "), a.detail());
        assertEquals("native", p.create().name());
    }
}
