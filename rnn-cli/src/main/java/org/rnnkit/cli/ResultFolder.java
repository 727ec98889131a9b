package org.rnnkit.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.rnnkit.io.AtomicFile;

/**
 * Puts a run's set of result files into a folder as one unit. Each file is first written completely to a
 * hidden temporary file in the folder; then, holding an exclusive lock on {@value #LOCK} in the folder,
 * the result files of an earlier run that this run does not write are deleted and the new files are renamed
 * into place. So a run that fails leaves the folder as it was (no partial file, nothing that looks like a
 * result), two runs into one folder leave one run's complete set, never a mix, and a GRU run after an LSTM
 * run leaves no stale {@code c_n.npy}. A reader that needs the set consistent takes a shared lock on the
 * same file while reading (each file alone is always complete).
 *
 * <p>Thread safety: not thread-safe; one instance per run. The lock also excludes other threads and
 * processes that use this class.
 */
final class ResultFolder {
    /** The lock file that serialises commits into a folder. */
    static final String LOCK = ".rnnkit.lock";

    private final Path dir;
    private final Set<String> resultNames;
    private final Map<String, Path> staged = new LinkedHashMap<>();

    /**
     * @param resultNames every file name a run of this kind may write: those this run does not write are
     *     removed at commit, being an earlier run's
     */
    ResultFolder(Path dir, Set<String> resultNames) {
        this.dir = dir;
        this.resultNames = resultNames;
    }

    /** Writes {@code bytes} to a hidden temporary file, to become {@code name} at {@link #commit}. */
    void stage(String name, byte[] bytes) throws IOException {
        if (!resultNames.contains(name)) {
            throw new IllegalArgumentException("name: expected one of " + resultNames + ", got " + name);
        }
        staged.put(name, AtomicFile.writeTemporary(dir.resolve(name), bytes));
    }

    /** Moves every staged file into place under the folder's lock, after deleting the earlier run's others. */
    List<Path> commit() throws IOException {
        List<Path> written = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            for (String name : resultNames) {
                if (!staged.containsKey(name)) {
                    Files.deleteIfExists(dir.resolve(name));
                }
            }
            for (Map.Entry<String, Path> e : staged.entrySet()) {
                Path target = dir.resolve(e.getKey());
                AtomicFile.moveIntoPlace(e.getValue(), target);
                written.add(target);
            }
            staged.clear();
        } finally {
            discard();
        }
        return written;
    }

    /** Deletes what was staged and not committed (after a failure). */
    void discard() {
        for (Path p : staged.values()) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a hidden .tmp file left behind is not mistaken for a result
            }
        }
        staged.clear();
    }
}
