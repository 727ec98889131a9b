package org.rnnkit.nn;

import org.rnnkit.tensor.Tensor;

/** Argument checks with messages that name the argument, the expected and the actual value. */
final class Checks {
    private Checks() {}

    static Tensor requireNonNull(String name, Tensor t) {
        if (t == null) {
            throw new NullPointerException(name + ": expected a tensor, got null");
        }
        return t;
    }

    static void requireShape(String name, Tensor t, int... expected) {
        if (!t.sameShape(expected)) {
            throw new IllegalArgumentException(name + ": expected shape " + Tensor.shapeString(expected)
                    + ", got " + t.shapeString());
        }
    }
}
