package org.rnnkit.tck;

import java.util.List;

/**
 * The outcome of one golden case on one backend.
 *
 * @param caseName the case
 * @param backend the backend's name
 * @param status overall status
 * @param forward worst forward check ({@code output}, {@code h_n}, {@code c_n}), or null if not run
 * @param gradient worst gradient check, or null when gradients were not checked
 * @param gradientNote why gradients were not checked (null when they were, or the case has none)
 * @param detail the failing checks, the error, or the reason it did not run; empty when it passed
 *
 * <p>Thread safety: immutable.
 */
public record CaseResult(String caseName, String backend, Status status, Tolerance.Check forward,
        Tolerance.Check gradient, String gradientNote, String detail) {

    /** How a case ended. Only {@link #PASS} is a pass. */
    public enum Status {
        /** Every checked tensor within the tolerance. */
        PASS,
        /** A tensor outside the tolerance. */
        FAIL,
        /** The case could not be run: the backend or case threw. */
        ERROR,
        /** Not run, for a stated reason (e.g. the backend is not usable here). */
        NOT_RUN
    }

    static CaseResult of(String caseName, String backend, List<Tolerance.Check> fwd, List<Tolerance.Check> grad,
            String gradientNote) {
        Tolerance.Check worstF = worst(fwd), worstG = worst(grad);
        List<Tolerance.Check> failed = java.util.stream.Stream.concat(fwd.stream(), grad.stream())
                .filter(c -> !c.passed()).toList();
        String detail = String.join("; ", failed.stream().map(Tolerance.Check::toString).toList());
        return new CaseResult(caseName, backend, failed.isEmpty() ? Status.PASS : Status.FAIL, worstF, worstG,
                gradientNote, detail);
    }

    private static Tolerance.Check worst(List<Tolerance.Check> checks) {
        Tolerance.Check w = null;
        for (Tolerance.Check c : checks) {
            if (w == null || !(c.fraction() <= w.fraction())) {
                w = c;
            }
        }
        return w;
    }
}
