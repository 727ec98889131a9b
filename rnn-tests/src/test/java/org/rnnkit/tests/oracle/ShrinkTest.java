package org.rnnkit.tests.oracle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.StateView;

/**
 * The failure path of {@link PropertyTest}: a backend with a planted fault is caught by a drawn case,
 * shrunk to the smallest configuration that still shows the fault, and reported with everything needed
 * to act on it.
 */
class ShrinkTest {

    /** The scalar backend's kernels, except that the reverse direction leaves batch row 1's final h off by 1e-3. */
    static final class Planted extends Kernels {
        Planted(Kernels inner) {
            super(type -> new PlantedKernel(inner.kernel(type)), inner.dense());
        }

        @Override
        public String name() {
            return "planted";
        }

        @Override
        public String description() {
            return "scalar with a planted fault";
        }
    }

    /** Delegates to a real kernel through its public (checked) methods, then plants the fault. */
    static final class PlantedKernel extends RecurrentKernel<PreparedWeights> {
        private final RecurrentKernel<?> k;

        PlantedKernel(RecurrentKernel<?> k) {
            super(k.type(), PreparedWeights.class);
            this.k = k;
        }

        @Override
        protected PreparedWeights pack(KernelShape shape, DirectionWeights weights) {
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
        protected void runForward(PreparedWeights w, SequenceGeometry seq, SequenceView x, SequenceView out,
                StateView state, Scratch scratch) {
            k.forward(w, seq, x, out, state, scratch);
            if (seq.reverse() && seq.batch() > 1) {
                state.h()[state.hOffset() + w.shape().hOut()] += 1e-3f;
            }
        }

        @Override
        protected void runBackward(PreparedWeights w, SequenceGeometry seq, SequenceView x, SequenceView dOut,
                StateView dState, SequenceView dx, DirectionWeights grads, Scratch scratch) {
            k.backward(w, seq, x, dOut, dState, dx, grads, scratch);
        }
    }

    @Test
    void aPlantedFaultIsCaughtShrunkAndReported() {
        Backend planted = (Backend) KernelAccess.backend(new Planted(KernelAccess.kernels(Backends.named("scalar"))));
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
