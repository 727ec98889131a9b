package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.StateView;

/**
 * A bad call straight to a kernel (below the layer API, as a backend test or a third party would make it)
 * is refused by the SPI's checking base before the backend's code runs: every backend gives the same
 * exception with the same message for the same mistake, where the scalar and vector kernels used to die
 * with an {@code ArrayIndexOutOfBoundsException} deep in their loops.
 */
class KernelChecksTest {
    private static final int T = 4, B = 3, IN = 5, H = 6;

    /** One well-formed GRU call; each case breaks one argument of it. */
    private static final class Call {
        final RecurrentKernel<?> k;
        final PreparedWeights w;
        final float[] x = new float[T * B * IN], out = new float[T * B * H], h = new float[B * H], ws;
        final SequenceGeometry seq = new SequenceGeometry().set(T, B, null, false);
        final SequenceView xv = new SequenceView().timeMajor(x, 0, B, IN);
        final SequenceView outv = new SequenceView().timeMajor(out, 0, B, H);
        final StateView state = new StateView().set(h, 0, null, 0);
        final Scratch scratch;

        Call(Backend backend) {
            k = KernelAccess.kernels(backend).kernel(Recurrence.GRU);
            KernelShape s = new KernelShape(Recurrence.GRU, IN, H, 0, true);
            int rows = 3 * H;
            w = k.prepare(s, new DirectionWeights(new float[rows * IN], new float[rows * H], new float[rows],
                    new float[rows], null));
            ws = new float[Math.toIntExact(k.workspaceSize(s, T, B))];
            scratch = new Scratch().set(null, 0, ws, 0);
        }

        void run() {
            k.forward(w, seq, xv, outv, state, scratch);
        }
    }

    private static String refusal(Call c) {
        return assertThrows(IllegalArgumentException.class, c::run).getMessage();
    }

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void everyBackendRefusesTheSameBadCallInTheSameWords(Backend backend) {
        Call ok = new Call(backend);
        ok.run(); // the unbroken call runs

        Call c = new Call(backend);
        c.xv.set(c.x, 0, B * IN + 1, IN); // a time stride one too long: the last row ends past the array
        assertEquals("x: rows of 5 floats at offset 0 with strides 16 (time), 5 (batch) for 4 x 3 need 63 floats,"
                + " but the array has 60", refusal(c));

        c = new Call(backend);
        c.outv.set(c.out, 1, B * H, H);
        assertEquals("out: rows of 6 floats at offset 1 with strides 18 (time), 6 (batch) for 4 x 3 need 73 floats,"
                + " but the array has 72", refusal(c));

        c = new Call(backend);
        c.seq.set(T, B, new int[] {4, 0, 2}, true);
        assertEquals("seq.lengths[1]: expected 1..4, got 0", refusal(c));

        c = new Call(backend);
        c.state.set(new float[B * H - 1], 0, null, 0);
        assertEquals("state.h: expected 18 floats from offset 0, but the array has 17", refusal(c));

        c = new Call(backend);
        c.scratch.set(null, 0, new float[c.ws.length - 1], 0);
        assertEquals("scratch.ws: expected " + c.ws.length + " floats from offset 0, but the array has "
                + (c.ws.length - 1), refusal(c));

        Call other = new Call(backend);
        RecurrentKernel<?> lstm = KernelAccess.kernels(backend).kernel(Recurrence.LSTM);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> lstm.forward(other.w, other.seq, other.xv, other.outv, other.state, other.scratch));
        assertEquals("shape: expected a LSTM shape for this kernel, got GRU", e.getMessage());
    }
}
