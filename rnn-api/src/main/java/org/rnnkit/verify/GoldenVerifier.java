package org.rnnkit.verify;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.spi.Backend;
import org.rnnkit.tensor.Tensor;

/**
 * Runs golden cases on a backend and compares the results with PyTorch's under {@link Tolerance}.
 *
 * <p>Forward results ({@code output}, {@code h_n}, {@code c_n}) are checked. Gradients ({@code grad_*})
 * need the backward pass, which is not implemented yet: they are reported as not checked, never as passed.
 *
 * <p>Thread safety: stateless; safe for concurrent use.
 */
public final class GoldenVerifier {
    /** Why the gradient column is empty for now. */
    public static final String GRADIENTS_PENDING = "not checked: no backward pass yet";

    private GoldenVerifier() {}

    /** Runs one case; never throws for a failing backend or a malformed case (that is an ERROR result). */
    public static CaseResult verify(GoldenCase c, Backend backend) {
        try {
            List<Tolerance.Check> fwd = new ArrayList<>();
            if (c.isCell()) {
                RecurrentCell cell = RecurrentCell.load(c.model(), backend);
                CellOutput out = cell.forward(c.tensor("input.npy"), optional(c, "h0.npy"), optional(c, "c0.npy"),
                        new Workspace());
                check(fwd, c, "h_n.npy", out.h());
                check(fwd, c, "c_n.npy", out.c());
            } else {
                RecurrentLayer layer = RecurrentLayer.load(c.model(), backend);
                LayerOutput out = layer.forward(c.tensor("input.npy"), c.lengths(), optional(c, "h0.npy"),
                        optional(c, "c0.npy"), new Workspace());
                check(fwd, c, "output.npy", out.output());
                check(fwd, c, "h_n.npy", out.hN());
                check(fwd, c, "c_n.npy", out.cN());
            }
            String gradNote = c.gradientFiles().isEmpty() ? null : GRADIENTS_PENDING;
            return CaseResult.of(c.name(), backend.name(), fwd, List.of(), gradNote);
        } catch (IOException | RuntimeException e) {
            return new CaseResult(c.name(), backend.name(), CaseResult.Status.ERROR, null, null, null,
                    e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static Tensor optional(GoldenCase c, String file) throws IOException {
        return c.has(file) ? c.tensor(file) : null;
    }

    private static void check(List<Tolerance.Check> into, GoldenCase c, String file, Tensor got) throws IOException {
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
        into.add(Tolerance.FORWARD.compare(name, got.data(), want.data()));
    }
}
