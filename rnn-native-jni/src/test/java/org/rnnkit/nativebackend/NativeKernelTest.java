package org.rnnkit.nativebackend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.scalar.ScalarBackendProvider;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.StateView;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;

/**
 * A quick check of every kernel against the scalar reference on small shapes (forward, backward, lengths,
 * reverse, projection); the full equivalence suite is rnn-tests, which runs on every backend.
 */
class NativeKernelTest {

    private static float[] fill(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextDouble() - 0.5);
        }
        return a;
    }

    private static void close(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            float tol = 1e-5f + 1e-4f * Math.abs(want[i]);
            if (Math.abs(want[i] - got[i]) > tol) {
                throw new AssertionError(what + "[" + i + "]: expected " + want[i] + ", got " + got[i]);
            }
        }
    }

    @Test
    void everyKernelMatchesTheScalarReference() {
        Kernels nat = new NativeBackendProvider().create(), ref = new ScalarBackendProvider().create();
        SplittableRandom rnd = new SplittableRandom(3);
        for (Recurrence type : Recurrence.values()) {
            for (int proj : type == Recurrence.LSTM ? new int[] {0, 3} : new int[] {0}) {
                for (boolean reverse : new boolean[] {false, true}) {
                    int in = 5, hid = 7, t = 6, b = 3;
                    KernelShape s = new KernelShape(type, in, hid, proj, true);
                    int rows = s.gateRows(), hOut = s.hOut();
                    DirectionWeights w = new DirectionWeights(fill(rnd, rows * in), fill(rnd, rows * hOut), fill(rnd, rows),
                            fill(rnd, rows), proj > 0 ? fill(rnd, proj * hid) : null);
                    int[] lengths = {6, 2, 4};
                    float[] x = fill(rnd, t * b * in), h0 = fill(rnd, b * hOut), c0 = fill(rnd, b * hid);
                    float[] dOut = fill(rnd, t * b * hOut), dh0 = fill(rnd, b * hOut), dc0 = fill(rnd, b * hid);
                    float[][] results = new float[2][];
                    int k = 0;
                    String what = type + " proj=" + proj + " reverse=" + reverse;
                    float[][] outs = new float[2][], hs = new float[2][], dxs = new float[2][], gih = new float[2][],
                            ghh = new float[2][], gb = new float[2][];
                    for (Kernels be : new Kernels[] {ref, nat}) {
                        RecurrentKernel<?> kern = be.kernel(type);
                        PreparedWeights p = kern.prepare(s, w);
                        float[] ws = new float[(int) kern.workspaceSize(s, t, b)], tape = new float[(int) kern.tapeSize(s, t, b)];
                        float[] out = new float[t * b * hOut], h = h0.clone(), c = c0.clone();
                        kern.forward(p, new SequenceGeometry().set(t, b, lengths, reverse), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, type == Recurrence.LSTM ? c : null, 0), new Scratch().set(tape, 0, ws, 0));
                        float[] dh = dh0.clone(), dc = dc0.clone(), dx = new float[x.length];
                        DirectionWeights g = new DirectionWeights(new float[rows * in], new float[rows * hOut],
                                new float[rows], new float[rows], proj > 0 ? new float[proj * hid] : null);
                        kern.backward(p, new SequenceGeometry().set(t, b, lengths, reverse), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(dOut, 0, b * hOut, hOut), new StateView().set(dh, 0, type == Recurrence.LSTM ? dc : null, 0), new SequenceView().set(dx, 0, b * in, in), g, new Scratch().set(tape, 0, ws, 0));
                        outs[k] = out;
                        hs[k] = h;
                        dxs[k] = dx;
                        gih[k] = g.weightIh();
                        ghh[k] = g.weightHh();
                        gb[k] = g.biasHh();
                        results[k++] = dh;
                    }
                    close(outs[0], outs[1], what + " out");
                    close(hs[0], hs[1], what + " h");
                    close(results[0], results[1], what + " dh");
                    close(dxs[0], dxs[1], what + " dx");
                    close(gih[0], gih[1], what + " dW_ih");
                    close(ghh[0], ghh[1], what + " dW_hh");
                    close(gb[0], gb[1], what + " db_hh");
                    for (int bb = 0; bb < b; bb++) { // padded steps are zeros
                        for (int tt = lengths[bb]; tt < t; tt++) {
                            float[] row = java.util.Arrays.copyOfRange(outs[1], (tt * b + bb) * hOut, (tt * b + bb + 1) * hOut);
                            assertArrayEquals(new float[hOut], row, what);
                        }
                    }
                }
            }
        }
    }
}
