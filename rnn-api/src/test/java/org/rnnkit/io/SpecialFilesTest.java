package org.rnnkit.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The readers refuse what is not a regular file before opening it: a pipe would block, a device never end. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpecialFilesTest {

    @Test
    void pipesDevicesDirectoriesAndMissingFilesAreRefusedUnopened(@TempDir Path tmp) throws Exception {
        Path fifo = tmp.resolve("model.safetensors");
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        } catch (java.io.IOException e) {
            Assumptions.abort("mkfifo is not available: " + e.getMessage());
            return;
        }
        assertEquals(0, p.waitFor());
        for (Path special : new Path[] {fifo, Path.of("/dev/zero")}) {
            FileSystemException e = assertThrows(FileSystemException.class, () -> SafeTensors.read(special));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
            e = assertThrows(FileSystemException.class, () -> Npy.readFloat32(special));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        }
        FileSystemException dir = assertThrows(FileSystemException.class, () -> Npy.readFloat32(tmp));
        assertTrue(dir.getMessage().contains("a directory; expected a regular file"), dir.getMessage());
        assertThrows(NoSuchFileException.class, () -> SafeTensors.read(tmp.resolve("absent.safetensors")));
    }
}
