package org.rnnkit.scalar;

/**
 * The scalar backend's arithmetic: a left-to-right float32 dot product and activations that are
 * computed in double and rounded once to float, i.e. within half an ulp of the exact value and unbiased.
 */
final class ScalarMath {
    private ScalarMath() {}

    /** {@code sum_i a[aOff+i] * b[bOff+i]} for {@code i < n}, accumulated left to right in float. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-(double) x)));
    }

    static float tanh(float x) {
        return (float) Math.tanh(x);
    }

    /** PyTorch's relu: {@code max(x, 0)}, NaN stays NaN. */
    static float relu(float x) {
        return x > 0f || Float.isNaN(x) ? x : 0f;
    }
}
