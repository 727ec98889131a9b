package org.rnnkit.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see the old file or the complete new one, never a part: the bytes go to a
 * hidden temporary file beside the target ({@code .NAME.RANDOM.tmp}, same folder, so same file system),
 * are flushed to the disk, and the temporary file is then renamed over the target in one atomic step. A
 * failure (a full disk, a quota, an I/O error) deletes the temporary file and leaves the target as it was.
 * Concurrent writers of one target each rename a complete file: the last one wins, none mixes.
 *
 * <p>Thread safety: stateless; safe from any thread.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Writes {@code bytes} to {@code target} atomically, replacing it. */
    public static void write(Path target, byte[] bytes) throws IOException {
        Path tmp = writeTemporary(target, bytes);
        try {
            moveIntoPlace(tmp, target);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * Writes {@code bytes} to a new hidden temporary file beside {@code target} and returns it; the caller
     * moves it into place ({@link #moveIntoPlace}) or deletes it.
     */
    public static Path writeTemporary(Path target, byte[] bytes) throws IOException {
        Path abs = target.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            throw new FileSystemException(target.toString(), null, "is a directory; expected a file name");
        }
        Path dir = abs.getParent();
        String name = abs.getFileName().toString();
        Path tmp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true); // on the disk before the rename makes it the target
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }

    /** Renames a temporary file of {@link #writeTemporary} over {@code target} in one atomic step. */
    public static void moveIntoPlace(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) { // a file system without rename(2) semantics
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
