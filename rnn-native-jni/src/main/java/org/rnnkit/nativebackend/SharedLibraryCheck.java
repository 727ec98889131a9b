package org.rnnkit.nativebackend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Checks that a file is a complete 64-bit ELF shared library for this machine before {@code System.load} or
 * {@code dlopen} sees it. The dynamic loader trusts the program headers: it maps each loadable segment
 * from the file and touches it while relocating, so a truncated library (a cut download, a full disk,
 * a half-copied file) makes it access pages past the end of the file, and the JVM dies of {@code SIGBUS}
 * instead of getting an {@link UnsatisfiedLinkError}. Reading the ELF header and the program headers is
 * enough to see that beforehand.
 *
 * <p>Checked, in order (the first failure is the answer): a regular file (a directory, FIFO, socket or
 * device is refused before it is opened, so a FIFO cannot block the probe); at least an ELF header (64
 * bytes); the ELF magic; 64-bit class; this machine's byte order; type {@code ET_DYN}; the machine of
 * {@code os.arch} ({@code amd64}/{@code x86_64}: x86-64, {@code aarch64}: AArch64; others are not
 * checked); 56-byte program header entries, all inside the file; every {@code PT_LOAD} segment's file bytes
 * inside the file and no more of them than of its memory; a {@code PT_DYNAMIC} segment inside the file;
 * the section header table, if any, inside the file (the loader never reads it, but it sits at the very end
 * of a library as linkers write it, so a file cut short by a few bytes is caught there).
 *
 * <p>Not checked: the contents of the segments (a library crafted to crash the loader still can: it is
 * code the user asked to run anyway), libraries the loader finds by itself (dependencies, a name without a
 * slash), and a file changed between this check and the load.
 *
 * <p>Thread safety: stateless; safe for concurrent use.
 */
final class SharedLibraryCheck {
    /** Size of the ELF64 file header, and where its fields sit (System V gABI, ELF-64 Object File Format). */
    static final int EHDR_SIZE = 64;
    private static final int EI_CLASS = 4, EI_DATA = 5, E_TYPE = 16, E_MACHINE = 18, E_PHOFF = 32, E_SHOFF = 40,
            E_PHENTSIZE = 54, E_PHNUM = 56, E_SHENTSIZE = 58, E_SHNUM = 60;
    private static final int ELFCLASS64 = 2, ELFDATA2LSB = 1, ELFDATA2MSB = 2, ET_DYN = 3;
    static final int EM_X86_64 = 62, EM_AARCH64 = 183;
    static final int PHDR_SIZE = 56, SHDR_SIZE = 64;
    private static final int PT_LOAD = 1, PT_DYNAMIC = 2;
    /** e_phnum's escape value: the real count is in section header 0's sh_info. */
    private static final int PN_XNUM = 0xffff;
    /** More program headers than any linker writes for a library (tens): refused rather than read. */
    private static final int MAX_PHNUM = 1 << 16;

    private SharedLibraryCheck() {}

    /** {@link #problem(Path, String, String)} naming the file by its path, for this JVM's {@code os.arch}. */
    static String problem(Path file) {
        return problem(file, file.toString(), System.getProperty("os.arch", ""));
    }

    /**
     * Null if {@code file} looks like a complete shared library for {@code osArch}, else one line saying what
     * is wrong, e.g. {@code /x/libopenblas.so.0 is not a complete shared library: segment 2 ends at byte
     * 34940973, the file has 2097152 bytes (truncated?)}, or {@code no file at /x/librnnkit.so}. In a 32-bit
     * JVM (no 64-bit layout to expect) always null.
     *
     * @param name how the messages name the file (its path, or e.g. "the extracted libgfortran.so.5")
     * @param osArch the JVM's {@code os.arch}: decides the expected ELF machine
     */
    static String problem(Path file, String name, String osArch) {
        if (!"64".equals(System.getProperty("sun.arch.data.model", "64"))) {
            return null; // only the ELF64 layout is read here; a 32-bit JVM leaves the check to the loader
        }
        // Files.isRegularFile only stats: a FIFO is never opened (opening one blocks until a writer comes)
        if (!Files.isRegularFile(file)) {
            return Files.exists(file) ? name + " is " + kindOf(file) + ", not a shared library" : "no file at " + name;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return check(ch, name, osArch);
        } catch (IOException | RuntimeException e) {
            return name + " cannot be read: " + e;
        }
    }

    private static String check(FileChannel ch, String name, String osArch) throws IOException {
        long size = ch.size();
        if (size == 0) {
            return name + " is not a shared library: the file is empty";
        }
        if (size < EHDR_SIZE) {
            return name + " is not a shared library: " + size + " bytes, less than an ELF header's " + EHDR_SIZE;
        }
        ByteBuffer h = read(ch, 0, EHDR_SIZE);
        if (h.get(0) != 0x7f || h.get(1) != 'E' || h.get(2) != 'L' || h.get(3) != 'F') {
            return name + " is not a shared library: no ELF magic 7f454c46 at its start (found "
                    + HexFormat.of().formatHex(h.array(), 0, 4) + ")";
        }
        int cls = h.get(EI_CLASS) & 0xff;
        if (cls != ELFCLASS64) {
            return name + " is not a 64-bit library (ELF class " + cls + (cls == 1 ? ", 32-bit" : "")
                    + "): this JVM is 64-bit";
        }
        int data = h.get(EI_DATA) & 0xff;
        boolean little = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
        if (data != (little ? ELFDATA2LSB : ELFDATA2MSB)) {
            return name + " has the wrong byte order (ELF data " + data + ", expected " + (little ? ELFDATA2LSB
                    + ", little-endian" : ELFDATA2MSB + ", big-endian") + " like this machine)";
        }
        h.order(ByteOrder.nativeOrder());
        int type = h.getShort(E_TYPE) & 0xffff;
        if (type != ET_DYN) {
            return name + " is not a shared library (ELF type " + type + typeName(type) + ", expected "
                    + ET_DYN + ")";
        }
        int machine = h.getShort(E_MACHINE) & 0xffff;
        int expected = machineOf(osArch);
        if (expected != 0 && machine != expected) {
            return name + " is built for another processor (ELF machine " + machine + machineName(machine)
                    + "), this JVM runs on " + osArch + " (" + expected + machineName(expected) + ")";
        }
        long phoff = h.getLong(E_PHOFF), shoff = h.getLong(E_SHOFF);
        int phentsize = h.getShort(E_PHENTSIZE) & 0xffff, shentsize = h.getShort(E_SHENTSIZE) & 0xffff;
        int phnum = h.getShort(E_PHNUM) & 0xffff, shnum = h.getShort(E_SHNUM) & 0xffff;
        if (phentsize != PHDR_SIZE) {
            return name + " is not a valid shared library: program header entries of " + phentsize
                    + " bytes, expected " + PHDR_SIZE;
        }
        if (phnum == PN_XNUM) { // the real count is in section header 0's sh_info
            if (shoff == 0 || beyond(shoff, SHDR_SIZE, size) != null) {
                return incomplete(name, "its program header count (in section header 0) is past the end", size);
            }
            phnum = read(ch, shoff + 44, 4).order(ByteOrder.nativeOrder()).getInt(0);
        }
        if (phnum <= 0 || phnum > MAX_PHNUM) {
            return name + " is not a valid shared library: " + Integer.toUnsignedString(phnum) + " program headers";
        }
        String phEnd = beyond(phoff, (long) phnum * PHDR_SIZE, size);
        if (phEnd != null) {
            return incomplete(name, "its program headers end at byte " + phEnd, size);
        }
        ByteBuffer ph = read(ch, phoff, phnum * PHDR_SIZE).order(ByteOrder.nativeOrder());
        boolean dynamic = false;
        for (int i = 0; i < phnum; i++) {
            int at = i * PHDR_SIZE;
            int pType = ph.getInt(at);
            long offset = ph.getLong(at + 8), filesz = ph.getLong(at + 32), memsz = ph.getLong(at + 40);
            if (pType == PT_LOAD && filesz != 0) { // filesz 0 (a .bss only segment) maps nothing of the file
                String end = beyond(offset, filesz, size);
                if (end != null) {
                    return incomplete(name, "segment " + i + " ends at byte " + end, size);
                }
                if (Long.compareUnsigned(filesz, memsz) > 0) {
                    return name + " is not a valid shared library: segment " + i + " has "
                            + Long.toUnsignedString(filesz) + " bytes in the file but " + Long.toUnsignedString(memsz)
                            + " in memory";
                }
            } else if (pType == PT_DYNAMIC) {
                dynamic = true;
                String end = beyond(offset, filesz, size);
                if (end != null) {
                    return incomplete(name, "its dynamic segment (" + i + ") ends at byte " + end, size);
                }
            }
        }
        if (!dynamic) {
            return name + " is not a shared library: it has no dynamic segment (PT_DYNAMIC)";
        }
        if (shnum > 0) { // only its bounds: where linkers put it, at the end, it catches a file a few bytes short
            if (shentsize != SHDR_SIZE) {
                return name + " is not a valid shared library: section header entries of " + shentsize
                        + " bytes, expected " + SHDR_SIZE;
            }
            String end = beyond(shoff, (long) shnum * SHDR_SIZE, size);
            if (end != null) {
                return incomplete(name, "its section headers end at byte " + end, size);
            }
        }
        return null;
    }

    private static String incomplete(String name, String what, long size) {
        return name + " is not a complete shared library: " + what + ", the file has " + size + " bytes (truncated?)";
    }

    /**
     * Null when {@code offset + length} (both unsigned, from the file) is at most {@code size}, else that end
     * as text. The sum is taken without overflow: a value of 2^63 or more is past any file there is.
     */
    static String beyond(long offset, long length, long size) {
        if (offset >= 0 && length >= 0) {
            try {
                long end = Math.addExact(offset, length);
                return end <= size ? null : Long.toString(end);
            } catch (ArithmeticException e) {
                // falls through: past 2^63
            }
        }
        return Long.toUnsignedString(offset) + " + " + Long.toUnsignedString(length) + " (past 2^63)";
    }

    private static ByteBuffer read(FileChannel ch, long at, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) {
                throw new IOException("the file ended at byte " + (at + b.position()) + " while reading it");
            }
        }
        return b;
    }

    /** The ELF machine a library for {@code osArch} has, or 0 for an architecture not checked here. */
    static int machineOf(String osArch) {
        return switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> EM_X86_64;
            case "aarch64" -> EM_AARCH64;
            default -> 0;
        };
    }

    private static String machineName(int machine) {
        return switch (machine) {
            case 3 -> ", x86";
            case 40 -> ", ARM";
            case EM_X86_64 -> ", x86-64";
            case EM_AARCH64 -> ", AArch64";
            case 243 -> ", RISC-V";
            default -> "";
        };
    }

    private static String typeName(int type) {
        return switch (type) {
            case 1 -> ", a relocatable object";
            case 2 -> ", an executable";
            case 4 -> ", a core dump";
            default -> "";
        };
    }

    /** What a path that exists but is no regular file is, from the POSIX file type bits where available. */
    private static String kindOf(Path file) {
        if (Files.isDirectory(file)) {
            return "a directory";
        }
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode");
            return switch (mode & 0170000) { // S_IFMT
                case 0010000 -> "a FIFO";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "something other than a regular file";
            };
        } catch (IOException | RuntimeException e) { // no "unix" view on this file system
            return "something other than a regular file";
        }
    }
}
