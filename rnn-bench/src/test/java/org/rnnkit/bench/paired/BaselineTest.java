package org.rnnkit.bench.paired;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.bench.Contender;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.tensor.Tensor;

/**
 * The baseline's class loader and set-up errors, without a baseline build: the loader is tried on this
 * build's own rnn-api classes, which it must define a second time rather than take from the parent.
 */
class BaselineTest {
    @TempDir
    Path dir;

    private static Baseline.BaselineLoader overRnnApi() {
        URL rnnApi = Tensor.class.getProtectionDomain().getCodeSource().getLocation();
        return new Baseline.BaselineLoader(Path.of("unused"), new URL[] {rnnApi}, BaselineTest.class.getClassLoader());
    }

    @Test
    void rnnkitClassesComeFromTheBaselineOnlyEverythingElseFromTheParent() throws Exception {
        try (Baseline.BaselineLoader loader = overRnnApi()) {
            Class<?> tensor = loader.loadClass(Tensor.class.getName());
            assertNotSame(Tensor.class, tensor);
            assertSame(loader, tensor.getClassLoader());
            assertSame(tensor, loader.loadClass(Tensor.class.getName())); // defined once
            assertSame(Contender.class, loader.loadClass(Contender.class.getName())); // the one shared class
            assertSame(String.class, loader.loadClass("java.lang.String"));
            assertSame(Test.class, loader.loadClass(Test.class.getName()));
            // in the parent, not in the baseline's jars: missing, never this build's
            assertThrows(ClassNotFoundException.class, () -> loader.loadClass(Scenario.class.getName()));
            assertNull(loader.getResource("org/rnnkit/bench/Scenario.class"));
            // rnn-api is a classes folder (file:...) or, after packaging, a jar (jar:file:...!/...)
            String where = loader.getResource("org/rnnkit/tensor/Tensor.class").toString();
            assertTrue(where.contains(Tensor.class.getProtectionDomain().getCodeSource().getLocation().getPath()), where);
            assertTrue(loader.defined.get() >= 1);
        }
    }

    @Test
    void tensorsReadsEitherBuildsRecordsByReflection() throws Exception {
        Tensor out = Tensor.wrap(new float[] {1, 2}, 1, 1, 2), h = Tensor.wrap(new float[] {3}, 1, 1, 1);
        Map<String, float[]> t = Baseline.tensors(new LayerOutput(out, h, null));
        assertEquals(java.util.Set.of("output", "hN"), t.keySet());
        assertArrayEquals(new float[] {1, 2}, t.get("output"));
        try (Baseline.BaselineLoader loader = overRnnApi()) {
            Class<?> tensor = loader.loadClass(Tensor.class.getName()), layerOutput = loader.loadClass(LayerOutput.class.getName());
            Object oldOut = tensor.getMethod("wrap", float[].class, int[].class).invoke(null, new float[] {4, 5}, new int[] {2});
            Object old = layerOutput.getConstructors()[0].newInstance(oldOut, null, null);
            assertArrayEquals(new float[] {4, 5}, Baseline.tensors(old).get("output"));
        }
    }

    @Test
    void setUpFailsNamingThePropertyOrTheMissingJars() throws Exception {
        String saved = System.getProperty(Baseline.PROPERTY);
        try {
            System.clearProperty(Baseline.PROPERTY);
            var unset = assertThrows(IllegalArgumentException.class, () -> Baseline.contender("S1", "native", false));
            assertTrue(unset.getMessage().contains("-D" + Baseline.PROPERTY + "=DIR"), unset.getMessage());
            Files.createFile(dir.resolve("rnn-api.jar"));
            System.setProperty(Baseline.PROPERTY, dir.toString());
            var missing = assertThrows(IllegalArgumentException.class, () -> Baseline.contender("S1", "native", false));
            assertTrue(missing.getMessage().startsWith(Baseline.PROPERTY + "=" + dir + ": missing rnn-tck.jar, rnn-cpu-scalar.jar, "
                    + "rnn-cpu-vector.jar, rnn-native-jni.jar, rnn-bench.jar"), missing.getMessage());
        } finally {
            if (saved == null) {
                System.clearProperty(Baseline.PROPERTY);
            } else {
                System.setProperty(Baseline.PROPERTY, saved);
            }
        }
    }
}
