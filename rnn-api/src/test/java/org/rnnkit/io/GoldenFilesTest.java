package org.rnnkit.io;

import org.rnnkit.internal.json.Json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.rnnkit.tensor.Tensor;

/**
 * Reads every real golden case under {@code testdata/} (see {@link TestData}): the tensors and shapes must match
 * what {@code case.json} lists, and writing them back must reproduce the files byte for byte (so the writers
 * produce exactly what PyTorch's safetensors and numpy produce).
 */
class GoldenFilesTest {

    static List<Path> caseDirs() throws IOException {
        List<Path> dirs = new ArrayList<>();
        for (String set : List.of("golden", "golden-varlen", "golden-trained")) {
            Path root = TestData.root().resolve(set);
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> s = Files.list(root)) {
                s.filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted().forEach(dirs::add);
            }
        }
        return dirs;
    }

    static int[] ints(Object jsonList, String what) {
        return Json.asList(jsonList, what).stream().mapToInt(v -> Json.asInt(v, what)).toArray();
    }

    @Test
    void everyGoldenCaseReadsAndRewritesIdentically() throws Exception {
        List<Path> dirs = caseDirs();
        assertTrue(dirs.size() >= 63, "expected the golden cases under " + TestData.root() + ", found " + dirs.size());
        int npyFiles = 0;
        int lengthFiles = 0;
        for (Path dir : dirs) {
            Map<String, Object> c = Json.parseObject(Files.readString(dir.resolve("case.json")));

            Path model = dir.resolve("model.safetensors");
            SafeTensorsFile st = SafeTensors.read(model);
            Map<String, Object> params = Json.asObject(c.get("parameters"), dir + " parameters");
            assertEquals(new ArrayList<>(params.keySet()), new ArrayList<>(st.tensors().keySet()), dir.toString());
            for (Map.Entry<String, Object> p : params.entrySet()) {
                assertArrayEquals(ints(p.getValue(), p.getKey()), st.require(p.getKey()).shape(), dir + " " + p.getKey());
            }
            Map<String, Object> config = Json.asObject(c.get("config"), "config");
            for (Map.Entry<String, Object> e : config.entrySet()) {
                // metadata holds the config values as strings: 8 -> "8", true -> "true"
                assertEquals(String.valueOf(e.getValue()), st.metadata().get(e.getKey()), dir + " " + e.getKey());
            }
            assertArrayEquals(Files.readAllBytes(model), SafeTensors.toBytes(st.tensors(), st.metadata()), dir.toString());

            Map<String, Object> files = Json.asObject(c.get("files"), "files");
            for (Map.Entry<String, Object> f : files.entrySet()) {
                Path p = dir.resolve(f.getKey());
                int[] shape = ints(Json.asObject(f.getValue(), f.getKey()).get("shape"), f.getKey() + " shape");
                byte[] bytes = Files.readAllBytes(p);
                if (f.getKey().equals("lengths.npy")) {
                    long[] lengths = Npy.readInt64Vector(p);
                    long[] expected = Json.asList(c.get("lengths"), "lengths").stream()
                            .mapToLong(v -> Json.asLong(v, "lengths")).toArray();
                    assertArrayEquals(expected, lengths, p.toString());
                    assertArrayEquals(bytes, Npy.toBytes(lengths), p.toString());
                    lengthFiles++;
                } else {
                    Tensor t = Npy.readFloat32(p);
                    assertArrayEquals(shape, t.shape(), p.toString());
                    assertArrayEquals(bytes, Npy.toBytes(t), p.toString());
                }
                npyFiles++;
            }
        }
        assertTrue(npyFiles > 500, "npy files read: " + npyFiles);
        assertTrue(lengthFiles >= 18, "lengths.npy files read: " + lengthFiles);
    }

    @Test
    void manifestParses() throws Exception {
        Map<String, Object> m = Json.parseObject(Files.readString(TestData.root().resolve("golden/manifest.json")));
        assertEquals(1L, m.get("format_version"));
        assertEquals(Json.asLong(m.get("case_count"), "case_count"), Json.asList(m.get("cases"), "cases").size());
    }
}
