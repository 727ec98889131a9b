package org.rnnkit.tck;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;

/**
 * Runs golden cases on a backend and compares the results with PyTorch's under {@link Tolerance}.
 *
 * <p>Forward results ({@code output}, {@code h_n}, {@code c_n}) are checked with {@link Tolerance#FORWARD}
 * from an inference pass; gradients ({@code grad_*}) with {@link Tolerance#GRADIENT} from a training pass
 * and its backward pass, for the golden loss {@code sum(output*gout) + sum(h_n*ghn) [+ sum(c_n*gcn)]}.
 *
 * <p>Thread safety: stateless; safe for concurrent use.
 */
public final class GoldenVerifier {
    private GoldenVerifier() {}

    /** Runs one case; never throws for a failing backend or a malformed case (that is an ERROR result). */
    public static CaseResult verify(GoldenCase c, Backend backend) {
        if (c.isStructure()) {
            return StructureVerifier.verify(c.dir(), backend);
        }
        try {
            List<Tolerance.Check> fwd = new ArrayList<>(), grad = new ArrayList<>();
            Tensor input = c.tensor("input.npy"), h0 = optional(c, "h0.npy"), c0 = optional(c, "c0.npy");
            boolean wantGrads = !c.gradientFiles().isEmpty();
            Gradients g = null;
            if (c.isCell()) {
                RecurrentCell cell = RecurrentCell.load(c.model(), backend);
                CellOutput out = cell.forward(input, h0, c0, new Workspace());
                check(fwd, c, "h_n.npy", out.h(), Tolerance.FORWARD);
                check(fwd, c, "c_n.npy", out.c(), Tolerance.FORWARD);
                if (wantGrads) {
                    var t = cell.forwardTraining(input, h0, c0);
                    g = cell.backward(t, optional(c, "ghn.npy"), optional(c, "gcn.npy"));
                }
            } else {
                RecurrentLayer layer = RecurrentLayer.load(c.model(), backend);
                int[] lengths = c.lengths();
                LayerOutput out = layer.forward(input, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0));
                check(fwd, c, "output.npy", out.output(), Tolerance.FORWARD);
                check(fwd, c, "h_n.npy", out.hN(), Tolerance.FORWARD);
                check(fwd, c, "c_n.npy", out.cN(), Tolerance.FORWARD);
                if (wantGrads) {
                    var t = layer.forwardTraining(input, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0));
                    g = layer.backward(t, optional(c, "gout.npy"), optional(c, "ghn.npy"), optional(c, "gcn.npy"));
                }
            }
            if (g != null) {
                for (String file : c.gradientFiles()) {
                    String what = file.substring("grad_".length(), file.length() - 4);
                    Tensor got = switch (what) {
                        case "input" -> g.input();
                        case "h0" -> h0 == null ? null : g.h0();
                        case "c0" -> c0 == null ? null : g.c0();
                        default -> g.parameters().get(what);
                    };
                    if (got == null) {
                        throw new IllegalStateException(file + ": no such gradient was computed");
                    }
                    check(grad, c, file, got, Tolerance.GRADIENT);
                }
            }
            return CaseResult.of(c.name(), backend.name(), fwd, grad, null);
        } catch (IOException | RuntimeException e) {
            return new CaseResult(c.name(), backend.name(), CaseResult.Status.ERROR, null, null, null,
                    e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static Tensor optional(GoldenCase c, String file) throws IOException {
        return c.has(file) ? c.tensor(file) : null;
    }

    private static void check(List<Tolerance.Check> into, GoldenCase c, String file, Tensor got, Tolerance tol)
            throws IOException {
        boolean expected = c.has(file);
        if (got == null && !expected) {
            return;
        }
        String name = file.substring(0, file.length() - 4);
        if (got == null || !expected) {
            throw new IllegalStateException(name + ": " + (got == null ? "expected by the case but not produced"
                    : "produced but the case has no " + file));
        }
        Tensor want = c.tensor(file);
        if (!want.sameShape(got.shape())) {
            throw new IllegalStateException(name + ": shape " + got.shapeString() + ", expected " + want.shapeString());
        }
        into.add(tol.compare(name, got.data(), want.data()));
    }
}
