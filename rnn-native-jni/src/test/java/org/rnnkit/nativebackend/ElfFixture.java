package org.rnnkit.nativebackend;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A real library's bytes for the tests of {@link SharedLibraryCheck}, with the few header fields the tests
 * need read here independently (little-endian ELF64, field offsets from the ELF-64 Object File Format), so
 * the expected messages do not come from the code under test.
 *
 * <p>Thread safety: not thread-safe (a test fixture; each test makes its own).
 */
final class ElfFixture {
    /** One program header: its index, type, file offset, bytes in the file and in memory. */
    record Segment(int index, int type, long offset, long filesz, long memsz) {
        long end() {
            return offset + filesz;
        }
    }

    final byte[] bytes;

    private ElfFixture(byte[] bytes) {
        this.bytes = bytes;
    }

    /** The librnnkit.so the build bundled (from the class path: target/classes or the jar). */
    static ElfFixture bundled() throws IOException {
        return resource(NativeLoader.RESOURCE.substring(1));
    }

    /** A file of the org.bytedeco:openblas linux-x86_64 jar, e.g. libopenblas.so.0. */
    static ElfFixture openBlas(String name) throws IOException {
        return resource(NativeLoader.OPENBLAS_RESOURCES + name);
    }

    private static ElfFixture resource(String name) throws IOException {
        try (InputStream in = ElfFixture.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " is not on the test class path");
            }
            return new ElfFixture(in.readAllBytes());
        }
    }

    /** Copies the resource straight to {@code to}, without holding it in memory. */
    static Path copyOpenBlas(String name, Path to) throws IOException {
        try (InputStream in = ElfFixture.class.getClassLoader().getResourceAsStream(NativeLoader.OPENBLAS_RESOURCES + name)) {
            if (in == null) {
                throw new IOException(name + " is not on the test class path");
            }
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
        return to;
    }

    private ByteBuffer le() {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    int size() {
        return bytes.length;
    }

    long phoff() {
        return le().getLong(32);
    }

    int phnum() {
        return le().getShort(56) & 0xffff;
    }

    long shoff() {
        return le().getLong(40);
    }

    int shnum() {
        return le().getShort(60) & 0xffff;
    }

    /** Where the program header table ends. */
    long phEnd() {
        return phoff() + 56L * phnum();
    }

    List<Segment> segments() {
        List<Segment> all = new ArrayList<>();
        ByteBuffer b = le();
        for (int i = 0; i < phnum(); i++) {
            int at = (int) phoff() + 56 * i;
            all.add(new Segment(i, b.getInt(at), b.getLong(at + 8), b.getLong(at + 32), b.getLong(at + 40)));
        }
        return all;
    }

    /** The first PT_LOAD segment that has bytes in the file. */
    Segment firstLoad() {
        return segments().stream().filter(s -> s.type() == 1 && s.filesz() > 0).findFirst().orElseThrow();
    }

    /** The first {@code length} bytes written to {@code file}. */
    Path writePrefix(Path file, int length) throws IOException {
        return Files.write(file, java.util.Arrays.copyOf(bytes, length));
    }

    /** The whole file written to {@code file}. */
    Path write(Path file) throws IOException {
        return Files.write(file, bytes);
    }

    ElfFixture setByte(int at, int value) {
        bytes[at] = (byte) value;
        return this;
    }

    ElfFixture setShort(int at, int value) {
        le().putShort(at, (short) value);
        return this;
    }

    /** Sets field {@code fieldOffset} (8 bytes) of program header {@code index}. */
    ElfFixture setSegmentLong(int index, int fieldOffset, long value) {
        le().putLong((int) phoff() + 56 * index + fieldOffset, value);
        return this;
    }

    /** Sets the type of program header {@code index}. */
    ElfFixture setSegmentType(int index, int type) {
        le().putInt((int) phoff() + 56 * index, type);
        return this;
    }
}
