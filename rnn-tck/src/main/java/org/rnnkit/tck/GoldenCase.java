package org.rnnkit.tck;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.rnnkit.internal.json.Json;
import org.rnnkit.internal.json.JsonException;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.Npy;
import org.rnnkit.tensor.Tensor;

/**
 * One case in the golden format ({@code testdata/golden/README.md}): a directory with {@code case.json},
 * {@code model.safetensors} and {@code .npy} tensors.
 *
 * <p>Thread safety: immutable; tensors are read from disk on each call.
 */
public final class GoldenCase {
    private final Path dir;
    private final String name;
    private final boolean cell, structure;
    private final boolean unbatched;

    private GoldenCase(Path dir, String name, boolean cell, boolean structure, boolean unbatched) {
        this.dir = dir;
        this.name = name;
        this.cell = cell;
        this.structure = structure;
        this.unbatched = unbatched;
    }

    /**
     * Reads the description of the case in {@code dir}.
     *
     * @throws ModelFormatException if {@code case.json} is missing or malformed
     */
    public static GoldenCase load(Path dir) throws IOException {
        Path json = dir.resolve("case.json");
        if (!Files.isRegularFile(json)) {
            throw new ModelFormatException(dir + ": no case.json: not a case directory");
        }
        try {
            Map<String, Object> c = Json.parseObject(Files.readString(json, StandardCharsets.UTF_8));
            if (c.get("kind") == null && c.get("optimizer") != null) {
                throw new ModelFormatException(json + ": a training case (an optimizer, no kind): verify checks"
                        + " layer and cell cases; training cases run in rnn-tests (GoldenTrainingTest, ./rnnkit test)");
            }
            String kind = Json.asString(c.get("kind"), "kind");
            if (!kind.equals("layer") && !kind.equals("cell") && !kind.equals("structure")) {
                throw new ModelFormatException(json + ": kind: expected 'layer', 'cell' or 'structure', got '" + kind + "'");
            }
            Object name = c.get("name");
            return new GoldenCase(dir, name == null ? dir.getFileName().toString() : Json.asString(name, "name"),
                    kind.equals("cell"), kind.equals("structure"),
                    c.get("unbatched") != null && Json.asBoolean(c.get("unbatched"), "unbatched"));
        } catch (JsonException e) {
            throw new ModelFormatException(json + ": " + e.getMessage(), e);
        }
    }

    /**
     * The cases under {@code path}: the path itself when it is a case directory, else every
     * subdirectory holding a {@code case.json}, sorted by name.
     */
    public static List<GoldenCase> discover(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            throw new java.nio.file.NoSuchFileException(path + " (expected a directory of golden cases)");
        }
        if (Files.isRegularFile(path.resolve("case.json"))) {
            return List.of(load(path));
        }
        List<GoldenCase> cases = new ArrayList<>();
        try (Stream<Path> children = Files.list(path)) {
            for (Path p : children.sorted().toList()) {
                if (Files.isRegularFile(p.resolve("case.json"))) {
                    cases.add(load(p));
                }
            }
        }
        return cases;
    }

    public Path dir() {
        return dir;
    }

    public String name() {
        return name;
    }

    /** True for a structure case (seq2seq or one-to-many, run by {@link StructureVerifier}). */
    public boolean isStructure() {
        return structure;
    }

    /** True for a cell case ({@code nn.*Cell}), false for a layer. */
    public boolean isCell() {
        return cell;
    }

    public boolean isUnbatched() {
        return unbatched;
    }

    public Path model() {
        return dir.resolve("model.safetensors");
    }

    /** Whether the case has the file, e.g. {@code h0.npy}. */
    public boolean has(String file) {
        return Files.isRegularFile(dir.resolve(file));
    }

    /** A float32 tensor of the case, e.g. {@code input.npy}. */
    public Tensor tensor(String file) throws IOException {
        return Npy.readFloat32(dir.resolve(file));
    }

    /** The per-row lengths of a variable-length case, or null. */
    public int[] lengths() throws IOException {
        if (!has("lengths.npy")) {
            return null;
        }
        long[] l = Npy.readInt64Vector(dir.resolve("lengths.npy"));
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            if (l[i] < Integer.MIN_VALUE || l[i] > Integer.MAX_VALUE) {
                throw new ModelFormatException(dir.resolve("lengths.npy") + ": length " + l[i] + " out of range");
            }
            out[i] = (int) l[i];
        }
        return out;
    }

    /** The names of the expected gradient files ({@code grad_*.npy}) present. */
    public List<String> gradientFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(f -> f.startsWith("grad_") && f.endsWith(".npy")).sorted().toList();
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
