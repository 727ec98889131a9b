package org.rnnkit.nativebackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link SharedLibraryCheck} says about damaged copies of the real bundled {@code librnnkit.so} and of
 * files that are no library at all; the expected byte positions come from {@link ElfFixture}'s own reading
 * of the headers. Nothing here loads a library: the loader's side, in child JVMs, is
 * {@link NativeLoaderChildTest}.
 */
class SharedLibraryCheckTest {
    private static final String X86 = "amd64";

    private static String check(Path file) {
        return SharedLibraryCheck.problem(file, file.toString(), X86);
    }

    private static String truncated(Path file, String what, long size) {
        return file + " is not a complete shared library: " + what + ", the file has " + size + " bytes (truncated?)";
    }

    @Test
    void theIntactBundledLibraryPasses(@TempDir Path tmp) throws Exception {
        Path lib = ElfFixture.bundled().write(tmp.resolve("librnnkit.so"));
        assertNull(check(lib));
        assertNull(SharedLibraryCheck.problem(lib, "x", "x86_64"));
        assertNull(SharedLibraryCheck.problem(lib)); // this JVM's os.arch: the module is built for x86-64 only
        // an architecture the check has no machine number for is not refused for its machine
        assertNull(SharedLibraryCheck.problem(lib, "x", "riscv64"));
    }

    @Test
    void theIntactOpenBlasFilesPass(@TempDir Path tmp) throws Exception {
        for (String name : new String[] {"libopenblas.so.0", "libgfortran.so.5", "libquadmath.so.0", "libgcc_s.so.1"}) {
            Path f = ElfFixture.copyOpenBlas(name, tmp.resolve(name));
            assertNull(check(f), name);
        }
    }

    @Test
    void aLibraryCutAfterItsHeaderIsTruncated(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.bundled();
        Path f = elf.writePrefix(tmp.resolve("header-only.so"), 64);
        assertEquals(truncated(f, "its program headers end at byte " + elf.phEnd(), 64), check(f));
    }

    @Test
    void aLibraryCutInItsProgramHeadersIsTruncated(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.bundled();
        int cut = (int) elf.phoff() + 56 * 2 + 20; // in the third program header
        Path f = elf.writePrefix(tmp.resolve("mid-phdrs.so"), cut);
        assertEquals(truncated(f, "its program headers end at byte " + elf.phEnd(), cut), check(f));
    }

    @Test
    void aLibraryCutInItsFirstLoadSegmentIsTruncated(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.bundled();
        ElfFixture.Segment load = elf.firstLoad();
        int cut = (int) (load.offset() + load.filesz() / 2);
        assertTrue(cut > elf.phEnd(), "the fixture's first segment reaches past the program headers");
        Path f = elf.writePrefix(tmp.resolve("mid-load.so"), cut);
        assertEquals(truncated(f, "segment " + load.index() + " ends at byte " + load.end(), cut), check(f));
    }

    @Test
    void aLibraryOneByteShortIsTruncated(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.bundled();
        // linkers write the section header table last: the byte missing is one of it
        assertEquals(elf.size(), elf.shoff() + 64L * elf.shnum(), "section headers end the file");
        Path f = elf.writePrefix(tmp.resolve("short.so"), elf.size() - 1);
        assertEquals(truncated(f, "its section headers end at byte " + elf.size(), elf.size() - 1), check(f));
    }

    @Test
    void aTruncatedOpenBlasNamesTheSegmentCut(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.openBlas("libopenblas.so.0");
        int cut = 2 << 20;
        ElfFixture.Segment first = elf.segments().stream().filter(s -> s.type() == 1 && s.end() > cut)
                .findFirst().orElseThrow();
        Path f = elf.writePrefix(tmp.resolve("libopenblas.so.0"), cut);
        assertEquals(truncated(f, "segment " + first.index() + " ends at byte " + first.end(), cut), check(f));
    }

    @Test
    void aLibraryForAnotherMachineIsNamedAsSuch(@TempDir Path tmp) throws Exception {
        Path x86 = ElfFixture.bundled().setShort(18, 3).write(tmp.resolve("x86.so"));
        assertEquals(x86 + " is built for another processor (ELF machine 3, x86), this JVM runs on amd64 (62, x86-64)",
                check(x86));
        Path real = ElfFixture.bundled().write(tmp.resolve("real.so"));
        assertEquals(real + " is built for another processor (ELF machine 62, x86-64), this JVM runs on aarch64 "
                + "(183, AArch64)", SharedLibraryCheck.problem(real, real.toString(), "aarch64"));
    }

    @Test
    void aThirtyTwoBitLibraryIsRefused(@TempDir Path tmp) throws Exception {
        Path f = ElfFixture.bundled().setByte(4, 1).write(tmp.resolve("elf32.so"));
        assertEquals(f + " is not a 64-bit library (ELF class 1, 32-bit): this JVM is 64-bit", check(f));
    }

    @Test
    void aBigEndianLibraryIsRefused(@TempDir Path tmp) throws Exception {
        Path f = ElfFixture.bundled().setByte(5, 2).write(tmp.resolve("be.so"));
        assertEquals(f + " has the wrong byte order (ELF data 2, expected 1, little-endian like this machine)", check(f));
    }

    @Test
    void anExecutableIsNoSharedLibrary(@TempDir Path tmp) throws Exception {
        Path f = ElfFixture.bundled().setShort(16, 2).write(tmp.resolve("exec"));
        assertEquals(f + " is not a shared library (ELF type 2, an executable, expected 3)", check(f));
    }

    @Test
    void oddProgramHeadersAreRefused(@TempDir Path tmp) throws Exception {
        Path f = ElfFixture.bundled().setShort(54, 32).write(tmp.resolve("phentsize.so"));
        assertEquals(f + " is not a valid shared library: program header entries of 32 bytes, expected 56", check(f));
        Path none = ElfFixture.bundled().setShort(56, 0).write(tmp.resolve("phnum.so"));
        assertEquals(none + " is not a valid shared library: 0 program headers", check(none));
    }

    @Test
    void segmentsAreCheckedOneByOne(@TempDir Path tmp) throws Exception {
        ElfFixture elf = ElfFixture.bundled();
        ElfFixture.Segment load = elf.firstLoad();
        // more file bytes than memory bytes
        Path big = ElfFixture.bundled().setSegmentLong(load.index(), 40, load.filesz() - 1).write(tmp.resolve("memsz.so"));
        assertEquals(big + " is not a valid shared library: segment " + load.index() + " has " + load.filesz()
                + " bytes in the file but " + (load.filesz() - 1) + " in memory", check(big));
        // an offset near 2^64: the end is past any file, and computing it must not wrap around to a small number
        Path wrap = ElfFixture.bundled().setSegmentLong(load.index(), 8, -16L).write(tmp.resolve("wrap.so"));
        assertEquals(truncated(wrap, "segment " + load.index() + " ends at byte 18446744073709551600 + " + load.filesz()
                + " (past 2^63)", elf.size()), check(wrap));
        // no dynamic segment, and one that lies past the end
        ElfFixture.Segment dyn = elf.segments().stream().filter(s -> s.type() == 2).findFirst().orElseThrow();
        Path noDyn = ElfFixture.bundled().setSegmentType(dyn.index(), 0).write(tmp.resolve("nodyn.so"));
        assertEquals(noDyn + " is not a shared library: it has no dynamic segment (PT_DYNAMIC)", check(noDyn));
        Path farDyn = ElfFixture.bundled().setSegmentLong(dyn.index(), 8, elf.size()).write(tmp.resolve("fardyn.so"));
        assertEquals(truncated(farDyn, "its dynamic segment (" + dyn.index() + ") ends at byte "
                + (elf.size() + dyn.filesz()), elf.size()), check(farDyn));
    }

    @Test
    void theEndOfARangeIsComputedWithoutOverflow() {
        assertNull(SharedLibraryCheck.beyond(10, 5, 15));
        assertEquals("16", SharedLibraryCheck.beyond(10, 6, 15));
        assertEquals("9223372036854775807 + 1 (past 2^63)", SharedLibraryCheck.beyond(Long.MAX_VALUE, 1, Long.MAX_VALUE));
        assertEquals("18446744073709551615 + 2 (past 2^63)", SharedLibraryCheck.beyond(-1, 2, 100));
        assertEquals("1 + 18446744073709551615 (past 2^63)", SharedLibraryCheck.beyond(1, -1, 100));
    }

    @Test
    void filesThatAreNoLibraryAtAll(@TempDir Path tmp) throws Exception {
        Path empty = Files.createFile(tmp.resolve("empty.so"));
        assertEquals(empty + " is not a shared library: the file is empty", check(empty));
        Path shortText = Files.writeString(tmp.resolve("short.so"), "not an ELF file");
        assertEquals(shortText + " is not a shared library: 15 bytes, less than an ELF header's 64", check(shortText));
        Path text = Files.writeString(tmp.resolve("text.so"), "not an ELF file, but long enough to hold an ELF header of"
                + " sixty-four bytes");
        assertEquals(text + " is not a shared library: no ELF magic 7f454c46 at its start (found 6e6f7420)", check(text));
        Path dir = Files.createDirectory(tmp.resolve("dir.so"));
        assertEquals(dir + " is a directory, not a shared library", check(dir));
        Path missing = tmp.resolve("missing.so");
        assertEquals("no file at " + missing, check(missing));
    }

    /**
     * A FIFO is refused without being opened: opening one for reading blocks until a writer comes, so the
     * timeout is only a guard against hanging the build if that ever regressed, not a timing assertion.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFifoIsRefusedUnopened(@TempDir Path tmp) throws Exception {
        Path fifo = tmp.resolve("fifo.so");
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("mkfifo is not installed: " + e.getMessage());
            return;
        }
        assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes()));
        assertEquals(fifo + " is a FIFO, not a shared library", check(fifo));
    }
}
