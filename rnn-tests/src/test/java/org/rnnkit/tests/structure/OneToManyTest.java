package org.rnnkit.tests.structure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;
import org.rnnkit.train.Adam;
import org.rnnkit.train.Clipping;
import org.rnnkit.train.OneToMany;
import org.rnnkit.train.SequenceModel;

/** {@link OneToMany} with token feedback: generation, its agreement with the training pass, learning, files. */
class OneToManyTest {

    /**
     * Free-running generation feeds back its own tokens; the teacher-forced training pass fed those same tokens
     * sees the same inputs, so its most likely token at every step is the generated one (the inference and
     * the training paths agree).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void generationAgreesWithTheTeacherForcedPass(Backend backend) {
        for (OneToMany.Form form : OneToMany.Form.values()) {
            OneToMany m = OneToMany.create(form, true, CellType.LSTM, 4, 12, 2, 7, 3, backend);
            Tensor x = TestData.normal(new SplittableRandom(5), 3, 4);
            int steps = 6;
            int[][] gen = m.generate(x, steps, -1);
            int[] targets = new int[steps * 3];
            for (int b = 0; b < 3; b++) {
                for (int t = 0; t < steps; t++) {
                    targets[t * 3 + b] = gen[b][t];
                }
            }
            SequenceModel.Step s = m.lossAndGradients(x, targets, null);
            float[] z = s.logits().data();
            for (int r = 0; r < steps * 3; r++) {
                int best = 0;
                for (int v = 1; v < 7; v++) {
                    if (z[r * 7 + v] > z[r * 7 + best]) {
                        best = v;
                    }
                }
                assertEquals(targets[r], best, form + ": step " + r / 3 + " row " + r % 3);
            }
        }
    }

    /** Learning: each of 12 "images" (one-hot vectors) has its own 5-token caption, written by free-running generation. */
    @Test
    void learnsACaptionPerImage() {
        int images = 12, vocab = 9, len = 5, end = 8;
        SplittableRandom rnd = new SplittableRandom(4);
        int[][] captions = new int[images][len];
        for (int[] c : captions) {
            for (int t = 0; t < len - 1; t++) {
                c[t] = 1 + rnd.nextInt(vocab - 2);
            }
            c[len - 1] = end;
        }
        Tensor x = Tensor.zeros(images, images);
        int[] targets = new int[len * images];
        for (int b = 0; b < images; b++) {
            x.data()[b * images + b] = 1f;
            for (int t = 0; t < len; t++) {
                targets[t * images + b] = captions[b][t];
            }
        }
        OneToMany m = OneToMany.create(OneToMany.Form.FIRST_STEP, true, CellType.GRU, images, 32, 1, vocab, 2,
                Backends.get());
        Adam adam = new Adam(0.02);
        for (int step = 0; step < 300; step++) {
            m.trainStep(x, targets, null, adam, Clipping.byNorm(1.0));
        }
        int[][] gen = m.generate(x, len + 2, end);
        for (int b = 0; b < images; b++) {
            int[] want = java.util.Arrays.copyOf(captions[b], len + 2);
            want[len] = want[len + 1] = end;
            assertArrayEquals(want, gen[b], "image " + b);
        }
    }

    @Test
    void savesAndLoadsWithItsFeedback(@TempDir Path tmp) throws Exception {
        OneToMany m = OneToMany.create(OneToMany.Form.EVERY_STEP, true, CellType.RNN_TANH, 3, 5, 1, 6, 9, Backends.get());
        Path f = tmp.resolve("g.safetensors");
        m.save(f, java.util.Map.of());
        OneToMany back = OneToMany.load(f, Backends.get());
        assertTrue(back.tokenFeedback() && back.parameters().get("generator.weight_ih_l0").dim(1) == 3 + 6);
        Tensor x = TestData.normal(new SplittableRandom(1), 2, 3);
        assertArrayEquals(m.generate(x, 4, -1)[1], back.generate(x, 4, -1)[1]);
        assertTrue(Files.size(f) > 0);
    }
}
