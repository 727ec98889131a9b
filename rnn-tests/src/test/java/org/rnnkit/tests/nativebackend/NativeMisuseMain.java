package org.rnnkit.tests.nativebackend;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.Kernels;
import org.rnnkit.spi.MatrixView;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.backend.Backend;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.StateView;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;

/**
 * Run in a child JVM by {@link NativeCrashProofTest}: throws misuse at the native backend and exits 0 only
 * if every call ended in a Java exception of the expected kind (or ran), never in a crash, which would
 * kill this JVM (a non-zero exit status and no final line).
 *
 * <ol>
 *   <li>every misuse of the API's bad-input suite ({@code BadInputTest.MISUSES}), with its exception type;
 *   <li>hand-made misuses of the SPI itself, below the API's validation: short arrays, offsets past the
 *       end, negative and overflowing strides, bad lengths, foreign prepared weights, null arrays;
 *   <li>a seeded fuzz of kernel calls with random sizes, offsets, strides and array lengths around what
 *       the call needs ({@code rnnkit.tests.fuzz} calls, default 20 000), a third of them with one-hot
 *       classes (some out of range, some too few) and some after an update of the weights;
 *   <li>the dense kernel's JNI calls with views past their arrays (below {@code DenseKernel}'s checks), then
 *       a seeded run of valid products and softmaxes whose operands share arrays (in place, {@code a} and
 *       {@code c} in one array), on one to three threads.
 * </ol>
 * Prints one line per part and {@code native misuse: OK} at the end.
 */
public final class NativeMisuseMain {
    private static int refused, ran;

    private NativeMisuseMain() {}

    public static void main(String[] args) throws Exception {
        Backend backend = Backends.named("native");
        apiSuite(backend);
        spiMisuses(backend);
        long seed = Long.getLong("rnnkit.tests.seed", 20261124L);
        int calls = Integer.getInteger("rnnkit.tests.fuzz", 20_000);
        fuzz(backend, new SplittableRandom(seed), new SplittableRandom(~seed), calls);
        System.out.println("native misuse: fuzz seed " + seed + ", " + calls + " calls");
        dense(backend, new SplittableRandom(seed), Math.max(1, calls / 10));
        System.out.println("native misuse: " + refused + " refused, " + ran + " ran");
        System.out.println("native misuse: OK");
    }

    /** BadInputTest's misuses, through reflection (the suite is package-private in another package). */
    @SuppressWarnings("unchecked")
    private static void apiSuite(Backend backend) throws Exception {
        Class<?> suite = Class.forName("org.rnnkit.tests.api.BadInputTest");
        Field f = suite.getDeclaredField("MISUSES");
        f.setAccessible(true);
        List<?> misuses = (List<?>) f.get(null);
        for (Object m : misuses) {
            Method name = m.getClass().getDeclaredMethod("name"), type = m.getClass().getDeclaredMethod("type"),
                    call = m.getClass().getDeclaredMethod("call");
            name.setAccessible(true);
            type.setAccessible(true);
            call.setAccessible(true);
            Class<? extends Throwable> expected = (Class<? extends Throwable>) type.invoke(m);
            Function<Backend, Object> body = (Function<Backend, Object>) call.invoke(m);
            expect("api: " + name.invoke(m), expected, () -> body.apply(backend));
        }
        System.out.println("native misuse: " + misuses.size() + " misuses of the API suite refused");
    }

    interface Call {
        void run() throws Exception;
    }

    private static void expect(String what, Class<? extends Throwable> type, Call call) {
        try {
            call.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                refused++;
                return;
            }
            throw new AssertionError(what + ": expected " + type.getSimpleName() + ", got " + t, t);
        }
        throw new AssertionError(what + ": expected " + type.getSimpleName() + ", nothing was thrown");
    }

    private static DirectionWeights weights(KernelShape s, SplittableRandom rnd) {
        int rows = s.gateRows();
        return new DirectionWeights(fill(rnd, rows * s.inputSize()), fill(rnd, rows * s.hOut()),
                s.bias() ? fill(rnd, rows) : null, s.bias() ? fill(rnd, rows) : null,
                s.projSize() > 0 ? fill(rnd, s.projSize() * s.hiddenSize()) : null);
    }

    private static float[] fill(SplittableRandom rnd, int n) {
        float[] a = new float[Math.max(0, n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** Misuses below the API: the native kernels' own checks. */
    private static void spiMisuses(Backend user) {
        Kernels backend = KernelAccess.kernels(user);
        SplittableRandom rnd = new SplittableRandom(7);
        RecurrentKernel<?> k = backend.kernel(Recurrence.LSTM);
        KernelShape s = new KernelShape(Recurrence.LSTM, 3, 4, 2, true);
        PreparedWeights w = k.prepare(s, weights(s, rnd));
        final int t = 5, b = 2, in = 3, hid = 4, hOut = 2;
        float[] x = fill(rnd, t * b * in), out = new float[t * b * hOut], h = new float[b * hOut], c = new float[b * hid];
        float[] ws = new float[(int) k.workspaceSize(s, t, b)], tape = new float[(int) k.tapeSize(s, t, b)];
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        Class<NullPointerException> npe = NullPointerException.class;
        // a valid call first
        k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(tape, 0, ws, 0));
        expect("x one float short", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(java.util.Arrays.copyOf(x, x.length - 1), 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("x offset past the end", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 1, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("negative x offset", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, -1, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("negative time stride", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 24, -b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("overflowing stride", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, Integer.MAX_VALUE, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("out too short", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(new float[3], 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("h null", npe, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(null, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("c null for an LSTM", npe, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, null, 0), new Scratch().set(null, 0, ws, 0)));
        expect("c offset past the end", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 1), new Scratch().set(null, 0, ws, 0)));
        expect("workspace one float short", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, new float[ws.length - 1], 0)));
        expect("workspace offset", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, Integer.MAX_VALUE)));
        expect("tape too short", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(new float[tape.length - 1], 0, ws, 0)));
        expect("lengths of the wrong size", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, new int[] {5}, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("a length of 0", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, new int[] {5, 0}, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("a length past seqLen", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, new int[] {6, 1}, true), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("seqLen 0", iae, () -> k.forward(w, new SequenceGeometry().set(0, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("negative batch", iae, () -> k.forward(w, new SequenceGeometry().set(t, -1, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        PreparedWeights foreign = KernelAccess.kernels(Backends.named("scalar")).kernel(Recurrence.LSTM).prepare(s, weights(s, rnd));
        expect("weights of another backend", iae, () -> k.forward(foreign, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("weights of another cell type", iae, () -> backend.kernel(Recurrence.GRU).forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), null, new StateView().set(new float[b * hid], 0, null, 0), new Scratch().set(null, 0, ws, 0)));
        expect("short weight_hh", iae, () -> k.prepare(s, new DirectionWeights(fill(rnd, 16 * in), fill(rnd, 10),
                fill(rnd, 16), fill(rnd, 16), fill(rnd, 8))));
        expect("no weight_hr with a projection", npe, () -> k.prepare(s, new DirectionWeights(fill(rnd, 16 * in),
                fill(rnd, 16 * hOut), fill(rnd, 16), fill(rnd, 16), null)));
        expect("null weights", npe, () -> k.prepare(s, null));
        DirectionWeights g = weights(s, rnd);
        float[] dh = new float[b * hOut], dc = new float[b * hid], dx = new float[x.length];
        k.backward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(dh, 0, dc, 0), new SequenceView().set(dx, 0, b * in, in), g, new Scratch().set(tape, 0, ws, 0));
        expect("backward without a tape", npe, () -> k.backward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(dh, 0, dc, 0), new SequenceView().set(dx, 0, b * in, in), g, new Scratch().set(null, 0, ws, 0)));
        expect("short gradient of weight_ih", iae, () -> k.backward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(dh, 0, dc, 0), new SequenceView().set(dx, 0, b * in, in), new DirectionWeights(new float[3], g.weightHh(), g.biasIh(), g.biasHh(), g.weightHr()), new Scratch().set(tape, 0, ws, 0)));
        expect("dx too short", iae, () -> k.backward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(dh, 0, dc, 0), new SequenceView().set(new float[5], 0, b * in, in), g, new Scratch().set(tape, 0, ws, 0)));
        expect("dOut stride past the end", iae, () -> k.backward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut + 1, hOut), new StateView().set(dh, 0, dc, 0), new SequenceView().set(dx, 0, b * in, in), g, new Scratch().set(tape, 0, ws, 0)));
        expect("tape offset past the end", iae, () -> k.backward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(dh, 0, dc, 0), new SequenceView().set(dx, 0, b * in, in), g, new Scratch().set(tape, 1, ws, 0)));
        // one-hot classes and updates: valid calls, then misuses (a class out of range would index past W_ih)
        int[] classes = {0, 1, 2, 2, 1, 0, 0, 0, 2, 1};
        SequenceView hinted = new SequenceView().set(x, 0, b * in, in).oneHot(classes);
        k.forward(w, new SequenceGeometry().set(t, b, new int[] {5, 3}, true), hinted, new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(tape, 0, ws, 0));
        k.backward(w, new SequenceGeometry().set(t, b, new int[] {5, 3}, true), hinted, new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(dh, 0, dc, 0), new SequenceView().set(dx, 0, b * in, in), g, new Scratch().set(tape, 0, ws, 0));
        expect("a class past inputSize", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in).oneHot(new int[] {0, 1, 2, 3, 1, 0, 0, 0, 2, 1}), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        expect("a negative class", iae, () -> k.backward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in).oneHot(new int[] {0, 1, 2, 0, 1, 0, 0, 0, 2, Integer.MIN_VALUE}), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(dh, 0, dc, 0), null, g, new Scratch().set(tape, 0, ws, 0)));
        expect("too few classes", iae, () -> k.forward(w, new SequenceGeometry().set(t, b, null, false), new SequenceView().set(x, 0, b * in, in).oneHot(new int[9]), new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0)));
        PreparedWeights updated = k.update(w, weights(s, rnd));
        k.forward(updated, new SequenceGeometry().set(t, b, null, false), hinted, new SequenceView().set(out, 0, b * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(null, 0, ws, 0));
        expect("update of weights of another backend", iae, () -> k.update(foreign, weights(s, rnd)));
        expect("update of weights of another cell type", iae, () -> backend.kernel(Recurrence.GRU).update(w, weights(s, rnd)));
        expect("update with a short weight_hr", iae, () -> k.update(w, new DirectionWeights(fill(rnd, 16 * in), fill(rnd, 16 * hOut), fill(rnd, 16), fill(rnd, 16), fill(rnd, 7))));
        expect("update without bias_ih", npe, () -> k.update(w, new DirectionWeights(fill(rnd, 16 * in), fill(rnd, 16 * hOut), null, fill(rnd, 16), fill(rnd, 8))));
        System.out.println("native misuse: SPI misuses refused");
    }

    /**
     * Random calls around what is needed; each either runs or is refused with IAE/NPE. {@code hints} draws the
     * one-hot classes and updates, apart from {@code rnd}, so that the calls without them stay those of
     * earlier versions of this fuzz.
     */
    private static void fuzz(Backend user, SplittableRandom rnd, SplittableRandom hints, int calls) {
        Kernels backend = KernelAccess.kernels(user);
        Recurrence[] types = Recurrence.values();
        for (int n = 0; n < calls; n++) {
            Recurrence type = types[rnd.nextInt(types.length)];
            int in = 1 + rnd.nextInt(9), hid = 1 + rnd.nextInt(9);
            int proj = type == Recurrence.LSTM && rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(hid) : 0;
            KernelShape s = new KernelShape(type, in, hid, proj, rnd.nextBoolean());
            RecurrentKernel<?> k = backend.kernel(type);
            PreparedWeights w = k.prepare(s, weights(s, rnd));
            int t = rnd.nextInt(5) - 1 + 1, b = rnd.nextInt(4) - 1 + 1; // mostly 1.., sometimes 0
            int hOut = s.hOut();
            int ts = jitter(rnd, Math.max(b, 1) * in), bs = jitter(rnd, in);
            int[] lengths = rnd.nextInt(3) == 0 ? randomLengths(rnd, b, t) : null;
            float[] x = fill(rnd, jitter(rnd, Math.max(t, 1) * Math.max(b, 1) * in));
            float[] out = rnd.nextInt(4) == 0 ? null : new float[jitter(rnd, Math.max(t, 1) * Math.max(b, 1) * hOut)];
            float[] h = new float[jitter(rnd, Math.max(b, 1) * hOut)], c = new float[jitter(rnd, Math.max(b, 1) * hid)];
            long need = t >= 0 && b >= 0 ? k.workspaceSize(s, Math.max(t, 0), Math.max(b, 0)) : 0;
            float[] ws = new float[jitter(rnd, (int) Math.min(need, 1 << 20))];
            long tapeNeed = t >= 0 && b >= 0 ? k.tapeSize(s, Math.max(t, 0), Math.max(b, 0)) : 0;
            float[] tape = rnd.nextBoolean() ? null : new float[jitter(rnd, (int) Math.min(tapeNeed, 1 << 20))];
            int xOff = rnd.nextInt(8) == 0 ? rnd.nextInt(3) - 1 : 0, wsOff = rnd.nextInt(8) == 0 ? rnd.nextInt(3) - 1 : 0;
            int[] classes = hints.nextInt(3) == 0 ? randomClasses(hints, t, b, in) : null;
            try {
                if (hints.nextInt(8) == 0) {
                    w = k.update(w, weights(s, hints));
                }
                k.forward(w, new SequenceGeometry().set(t, b, lengths, rnd.nextBoolean()), new SequenceView().set(x, xOff, ts, bs).oneHot(classes), new SequenceView().set(out, 0, ts / Math.max(in, 1) * hOut, hOut), new StateView().set(h, 0, c, 0), new Scratch().set(tape, 0, ws, wsOff));
                ran++;
                if (tape != null) {
                    DirectionWeights g = weights(s, rnd);
                    float[] dx = rnd.nextBoolean() ? null : new float[jitter(rnd, x.length)];
                    k.backward(w, new SequenceGeometry().set(t, b, lengths, false), new SequenceView().set(x, xOff, ts, bs).oneHot(classes), new SequenceView().set(out, 0, ts / Math.max(in, 1) * hOut, hOut), new StateView().set(new float[jitter(rnd, h.length)], 0, new float[jitter(rnd, c.length)], 0), new SequenceView().set(dx, 0, ts, bs), g, new Scratch().set(tape, 0, ws, wsOff));
                    ran++;
                }
            } catch (IllegalArgumentException | NullPointerException e) {
                refused++;
            }
        }
    }

    /** The dense kernel's native entry points with bad views, then valid calls whose operands share arrays. */
    private static void dense(Backend user, SplittableRandom rnd, int calls) throws Exception {
        Class<?> methods = Class.forName("org.rnnkit.nativebackend.NativeMethods");
        Method multiply = methods.getDeclaredMethod("multiply", int.class, int.class, int.class,
                float[].class, int.class, int.class, boolean.class, float[].class, int.class, int.class, boolean.class,
                float[].class, int.class, int.class, boolean.class, int.class);
        Method softmax = methods.getDeclaredMethod("softmax", int.class, int.class, float[].class, int.class, int.class,
                float[].class, int.class, int.class, float[].class, int.class);
        multiply.setAccessible(true);
        softmax.setAccessible(true);
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        float[] a = new float[12], b = new float[12], c = new float[9];
        // c (3 x 3) = a (3 x 4) b (4 x 3)
        invoke(multiply, 3, 3, 4, a, 0, 4, false, b, 0, 3, false, c, 0, 3, false, 1);
        expect("multiply: a one float short", iae, () -> invoke(multiply, 3, 3, 4, new float[11], 0, 4, false, b, 0, 3, false, c, 0, 3, false, 1));
        expect("multiply: a^T one float short", iae, () -> invoke(multiply, 3, 3, 4, new float[11], 0, 3, true, b, 0, 3, false, c, 0, 3, false, 1));
        expect("multiply: b offset past the end", iae, () -> invoke(multiply, 3, 3, 4, a, 0, 4, false, b, 1, 3, false, c, 0, 3, false, 2));
        expect("multiply: negative c offset", iae, () -> invoke(multiply, 3, 3, 4, a, 0, 4, false, b, 0, 3, false, c, -1, 3, false, 1));
        expect("multiply: stride below the width", iae, () -> invoke(multiply, 3, 3, 4, a, 0, 3, false, b, 0, 3, false, c, 0, 3, false, 1));
        expect("multiply: overflowing stride", iae, () -> invoke(multiply, 3, 3, 4, a, 0, Integer.MAX_VALUE, false, b, 0, 3, false, c, 0, 3, false, 1));
        expect("multiply: no c", iae, () -> invoke(multiply, 3, 3, 4, a, 0, 4, false, b, 0, 3, false, null, 0, 3, true, 1));
        expect("multiply: m = 0", iae, () -> invoke(multiply, 0, 3, 4, a, 0, 4, false, b, 0, 3, false, c, 0, 3, false, 1));
        expect("multiply: k < 0", iae, () -> invoke(multiply, 3, 3, -1, a, 0, 4, false, b, 0, 3, false, c, 0, 3, false, 1));
        float[] z = new float[12], lse = new float[3];
        invoke(softmax, 3, 4, z, 0, 4, z, 0, 4, lse, 0);
        expect("softmax: p one float short", iae, () -> invoke(softmax, 3, 4, z, 0, 4, new float[11], 0, 4, lse, 0));
        expect("softmax: z stride past the end", iae, () -> invoke(softmax, 3, 4, z, 0, 5, z, 0, 4, lse, 0));
        expect("softmax: logSumExp one float short", iae, () -> invoke(softmax, 3, 4, z, 0, 4, z, 0, 4, lse, 1));
        expect("softmax: negative logSumExp offset", iae, () -> invoke(softmax, 3, 4, z, 0, 4, z, 0, 4, lse, -1));
        expect("softmax: no z", iae, () -> invoke(softmax, 3, 4, null, 0, 4, z, 0, 4, lse, 0));
        expect("softmax: no columns", iae, () -> invoke(softmax, 3, 0, z, 0, 4, z, 0, 4, lse, 0));

        DenseKernel[] dense = {KernelAccess.kernels(user).dense(), KernelAccess.kernels(user.withThreads(2)).dense(),
            KernelAccess.kernels(user.withThreads(3)).dense()};
        MatrixView av = new MatrixView(), bv = new MatrixView(), cv = new MatrixView();
        for (int i = 0; i < calls; i++) {
            // the first large enough to split over the threads
            DenseKernel d = i == 0 ? dense[2] : dense[rnd.nextInt(dense.length)];
            int m = i == 0 ? 1100 : 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 600 : 40);
            int n = i == 0 ? 96 : 1 + rnd.nextInt(40), k = i == 0 ? 96 : rnd.nextInt(40);
            boolean ta = rnd.nextBoolean(), tb = rnd.nextBoolean();
            int aLen = (ta ? k * m : m * k), bLen = (tb ? n * k : k * n);
            // one array for a and c (c after a), or for a and b, or three
            int share = rnd.nextInt(3);
            float[] x = fill(rnd, aLen + (share == 0 ? m * n : share == 1 ? bLen : 0));
            float[] y = share == 1 ? x : fill(rnd, bLen), w = share == 0 ? x : new float[m * n];
            if (ta) {
                av.transposeOf(x, 0, m, k, m);
            } else {
                av.rowMajor(x, 0, m, k, k);
            }
            int bOff = share == 1 ? aLen : 0, cOff = share == 0 ? aLen : 0;
            if (tb) {
                bv.transposeOf(y, bOff, k, n, k);
            } else {
                bv.rowMajor(y, bOff, k, n, n);
            }
            d.multiply(av, bv, cv.rowMajor(w, cOff, m, n), rnd.nextBoolean());
            ran++;
            // softmax of c's rows: in place, into another array, or in place with logSumExp after z in its array
            int form = rnd.nextInt(3);
            float[] zs = w;
            int zOff = cOff;
            if (form == 2) {
                zs = new float[m * n + m];
                System.arraycopy(w, cOff, zs, 0, m * n);
                zOff = 0;
            }
            float[] p = form == 1 ? new float[m * n] : zs, l = form == 2 ? zs : new float[m];
            d.softmax(cv.rowMajor(zs, zOff, m, n), av.rowMajor(p, form == 1 ? 0 : zOff, m, n), l, form == 2 ? m * n : 0);
            ran++;
        }
        System.out.println("native misuse: dense kernel misuses refused, " + calls + " products and softmaxes ran");
    }

    private static void invoke(Method m, Object... args) throws Exception {
        try {
            m.invoke(null, args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw (Error) e.getCause();
        }
    }

    /** n, or now and then one less or one more (never negative). */
    private static int jitter(SplittableRandom rnd, int n) {
        int r = rnd.nextInt(6);
        return Math.max(0, r == 0 ? n - 1 : r == 1 ? n + 1 : n);
    }

    /** About t*b classes of 0..in-1, now and then one too few, or one out of range. */
    private static int[] randomClasses(SplittableRandom rnd, int t, int b, int in) {
        int[] c = new int[jitter(rnd, Math.max(t, 0) * Math.max(b, 0))];
        for (int i = 0; i < c.length; i++) {
            c[i] = rnd.nextInt(in);
        }
        if (c.length > 0 && rnd.nextInt(6) == 0) {
            c[rnd.nextInt(c.length)] = rnd.nextBoolean() ? in : -1;
        }
        return c;
    }

    private static int[] randomLengths(SplittableRandom rnd, int b, int t) {
        int[] l = new int[Math.max(0, b + (rnd.nextInt(6) == 0 ? 1 : 0))];
        for (int i = 0; i < l.length; i++) {
            l[i] = rnd.nextInt(Math.max(1, t) + 2) - (rnd.nextInt(10) == 0 ? 1 : 0);
        }
        return l;
    }
}
