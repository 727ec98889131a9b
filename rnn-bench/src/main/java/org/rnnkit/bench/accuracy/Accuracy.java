package org.rnnkit.bench.accuracy;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.rnnkit.bench.Scenario;
import org.rnnkit.bench.peer.LibTorch;
import org.rnnkit.bench.peer.Ort;

/**
 * {@code rnnkit bench --accuracy}: how far each contender's float output is from the same function
 * computed in double precision, on the benchmark scenarios' weights and inputs. The reference is LibTorch
 * running the scenario's module in double ({@link LibTorch#referenceOutput}), which shares no code with
 * rnnkit and none of the float kernels being compared; so the numbers say how much error each contender's
 * float arithmetic (summation order, FMA, activations) adds, not which one agrees with which.
 *
 * <p>Thread safety: stateless; not for concurrent use with the benchmarks (LibTorch's settings are global).
 */
public final class Accuracy {
    private Accuracy() {}

    /** The error of {@code got} against {@code ref}: largest and root-mean-square |got - ref|, their mean (the bias), and the share equal to ref rounded to float. */
    public record Error(double maxAbs, double rms, double mean, double exactShare) {
        public static Error of(float[] got, double[] ref) {
            if (got.length != ref.length) {
                throw new IllegalArgumentException("got: expected " + ref.length + " values, got " + got.length);
            }
            double max = 0, sq = 0, sum = 0;
            long exact = 0;
            for (int i = 0; i < got.length; i++) {
                double d = got[i] - ref[i];
                max = Math.max(max, Math.abs(d));
                sq += d * d;
                sum += d;
                exact += got[i] == (float) ref[i] ? 1 : 0;
            }
            int n = Math.max(1, got.length);
            return new Error(max, Math.sqrt(sq / n), sum / n, (double) exact / n);
        }
    }

    /** Prints one table per scenario: every rnnkit backend named, then the peers asked for. */
    public static void print(String[] scenarios, List<String> backends, boolean ort, boolean libtorch, PrintStream out)
            throws Exception {
        out.println("Forward output against LibTorch in double precision (same weights and input):");
        for (String name : scenarios) {
            Scenario s = Scenario.valueOf(name);
            double[] ref = LibTorch.referenceOutput(name);
            List<String> who = new ArrayList<>();
            List<Error> errors = new ArrayList<>();
            for (String b : backends) {
                who.add(b);
                errors.add(Error.of(s.layer(Scenario.backend(b)).forward(s.input()).output().data(), ref));
            }
            if (libtorch) {
                who.add("LibTorch");
                errors.add(Error.of(LibTorch.output(name), ref));
            }
            if (ort) {
                who.add("ONNX Runtime");
                errors.add(Error.of(Ort.output(name), ref));
            }
            out.println();
            out.printf(Locale.ROOT, "%s forward — %s, %d outputs%n", name, s.describe(), ref.length);
            out.printf(Locale.ROOT, "  %-14s %12s %12s %12s %8s%n", "who", "max |error|", "rms error", "mean error", "exact");
            for (int i = 0; i < who.size(); i++) {
                Error e = errors.get(i);
                out.printf(Locale.ROOT, "  %-14s %12.3e %12.3e %+12.2e %7.1f%%%n", who.get(i), e.maxAbs(), e.rms(), e.mean(),
                        100 * e.exactShare());
            }
        }
        out.println();
        out.println("exact = share of outputs equal to the double result rounded to float. Errors grow along the"
                + " sequence (each step's error feeds the next), so they compare across rows of one table only.");
    }
}
