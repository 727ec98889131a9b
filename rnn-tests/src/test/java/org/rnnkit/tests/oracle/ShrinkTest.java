package org.rnnkit.tests.oracle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;

/**
 * The failure path of {@link PropertyTest}: a backend with a planted fault is caught by a drawn case,
 * shrunk to the smallest configuration that still shows the fault, and reported with everything needed
 * to act on it.
 */
class ShrinkTest {

    /** The scalar backend's kernels, except that the reverse direction leaves batch row 1's final h off by 1e-3. */
    record Planted(Backend inner) implements Backend {
        @Override
        public String name() {
            return "planted";
        }

        @Override
        public String description() {
            return "scalar with a planted fault";
        }

        @Override
        public RecurrentKernel kernel(CellType type) {
            RecurrentKernel k = inner.kernel(type);
            return new RecurrentKernel() {
                @Override
                public PreparedWeights prepare(KernelShape shape, DirectionWeights weights) {
                    return k.prepare(shape, weights);
                }

                @Override
                public long workspaceSize(KernelShape shape, int seqLen, int batch) {
                    return k.workspaceSize(shape, seqLen, batch);
                }

                @Override
                public long tapeSize(KernelShape shape, int seqLen, int batch) {
                    return k.tapeSize(shape, seqLen, batch);
                }

                @Override
                public void forward(PreparedWeights w, int seqLen, int batch, int[] lengths, boolean reverse,
                        float[] x, int xOff, int xTimeStride, int xBatchStride, float[] out, int outOff,
                        int outTimeStride, int outBatchStride, float[] h, int hOff, float[] c, int cOff,
                        float[] tape, int tapeOff, float[] ws, int wsOff) {
                    k.forward(w, seqLen, batch, lengths, reverse, x, xOff, xTimeStride, xBatchStride, out, outOff,
                            outTimeStride, outBatchStride, h, hOff, c, cOff, tape, tapeOff, ws, wsOff);
                    if (reverse && batch > 1) {
                        h[hOff + w.shape().hOut()] += 1e-3f;
                    }
                }

                @Override
                public void backward(PreparedWeights w, int seqLen, int batch, int[] lengths, boolean reverse,
                        float[] x, int xOff, int xTimeStride, int xBatchStride, float[] dOut, int dOutOff,
                        int dOutTimeStride, int dOutBatchStride, float[] dh, int dhOff, float[] dc, int dcOff,
                        float[] dx, int dxOff, int dxTimeStride, int dxBatchStride, DirectionWeights grads,
                        float[] tape, int tapeOff, float[] ws, int wsOff) {
                    k.backward(w, seqLen, batch, lengths, reverse, x, xOff, xTimeStride, xBatchStride, dOut,
                            dOutOff, dOutTimeStride, dOutBatchStride, dh, dhOff, dc, dcOff, dx, dxOff,
                            dxTimeStride, dxBatchStride, grads, tape, tapeOff, ws, wsOff);
                }
            };
        }
    }

    @Test
    void aPlantedFaultIsCaughtShrunkAndReported() {
        Backend planted = new Planted(Backends.named("scalar"));
        PropertyTest.Case drawn = null;
        for (long seed = PropertyTest.SEED; drawn == null; seed++) {
            PropertyTest.Case c = PropertyTest.draw(new SplittableRandom(seed), seed, false);
            if (c.layers() > 1 && c.batch() > 3 && c.seq() > 3 && PropertyTest.forward(planted, c).fails()) {
                drawn = c;
            }
        }
        PropertyTest.Case d = drawn;
        PropertyTest.Case small = PropertyTest.shrink(d, s -> PropertyTest.attempt(() -> PropertyTest.forward(planted, s)).fails());
        String where = "shrunk " + d + " to " + small;
        // what the fault needs stays; everything else is at its smallest
        assertTrue(small.bidirectional(), where);
        assertEquals(2, small.batch(), where);
        assertEquals(1, small.seq(), where);
        assertEquals(1, small.layers(), where);
        assertEquals(1, small.hidden(), where);
        assertEquals(1, small.input(), where);
        assertEquals(0, small.proj(), where);
        assertEquals(MergeMode.CONCAT, small.merge(), where);
        assertEquals(PropertyTest.Data.NORMAL, small.data(), where);
        assertFalse(small.varlen() || small.state() || small.batchFirst() || small.unbatched() || small.bias(), where);

        PropertyTest.Miss miss = PropertyTest.forward(planted, small);
        assertTrue(miss.fails() && miss.tensor().equals("h_n"), where + ": " + miss);
        String report = PropertyTest.failure("planted", "forward results differ from the double-precision oracle", d,
                small, miss);
        for (String part : new String[] {"planted: ", "smallest failing configuration: " + small, "h_n[1, 1, 0]",
            "got ", "expected ", " ulp", "of the tolerance", "drawn as: " + d, "-Drnnkit.tests.backends=planted",
            "-Drnnkit.tests.seed=" + d.seed(), "-Drnnkit.tests.tries=1"}) {
            assertTrue(report.contains(part), "report lacks '" + part + "':\n" + report);
        }
        System.out.println("[shrink] planted fault, as a failing run reports it:\n" + report);
    }
}
