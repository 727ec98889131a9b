package org.rnnkit.tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * A dense float32 tensor in row-major (C) order: a shape and the {@code float[]} that holds its values.
 *
 * <p>A tensor is a thin view: {@link #wrap} does not copy, and {@link #data()} returns the backing array so
 * that large inputs and outputs cross the API without copies. The shape is fixed.
 *
 * <p>Thread safety: the shape is immutable; the values are as safe as the array behind them. Reading a
 * tensor from many threads is safe when nobody writes its array.
 */
public final class Tensor {
    private final int[] shape;
    private final float[] data;

    private Tensor(int[] shape, float[] data) {
        this.shape = shape;
        this.data = data;
    }

    /** A tensor of zeros. */
    public static Tensor zeros(int... shape) {
        return new Tensor(shape.clone(), new float[Math.toIntExact(checkedSize("shape", shape))]);
    }

    /**
     * Wraps {@code data} without copying.
     *
     * @throws IllegalArgumentException if the shape has a negative dimension or does not hold
     *     exactly {@code data.length} elements
     */
    public static Tensor wrap(float[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        long size = checkedSize("shape", shape);
        if (size != data.length) {
            throw new IllegalArgumentException(
                    "data: expected " + size + " values for shape " + Arrays.toString(shape) + ", got " + data.length);
        }
        return new Tensor(shape.clone(), data);
    }

    /** A copy of {@code data} with the given shape. */
    public static Tensor of(float[] data, int... shape) {
        return wrap(Objects.requireNonNull(data, "data").clone(), shape);
    }

    /** Number of elements of a shape, checked: no negative dimension and at most {@code Integer.MAX_VALUE - 8}. */
    public static long checkedSize(String what, int... shape) {
        Objects.requireNonNull(shape, what);
        long size = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(what + ": negative dimension in " + Arrays.toString(shape));
            }
            size *= d;
            if (size > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(what + ": " + Arrays.toString(shape) + " holds more than 2^31-9 elements");
            }
        }
        return size;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code axis}; negative axes count from the end. */
    public int dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    public int size() {
        return data.length;
    }

    /** The backing array, not a copy. */
    public float[] data() {
        return data;
    }

    /** A deep copy. */
    public Tensor copy() {
        return new Tensor(shape.clone(), data.clone());
    }

    /** The same values with another shape of the same size; shares the array. */
    public Tensor reshape(int... newShape) {
        return wrap(data, newShape);
    }

    /** True when {@code other} has the same shape as this tensor. */
    public boolean sameShape(int... other) {
        return Arrays.equals(shape, other);
    }

    /** Shape as PyTorch prints it, e.g. {@code (2, 3, 4)}. */
    public static String shapeString(int... shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        if (shape.length == 1) {
            sb.append(',');
        }
        return sb.append(')').toString();
    }

    public String shapeString() {
        return shapeString(shape);
    }

    /** Same shape and bitwise-equal values (so NaN equals NaN, and 0.0 differs from -0.0). */
    public boolean bitEquals(Tensor other) {
        if (other == null || !Arrays.equals(shape, other.shape)) {
            return false;
        }
        for (int i = 0; i < data.length; i++) {
            if (Float.floatToRawIntBits(data[i]) != Float.floatToRawIntBits(other.data[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString();
    }
}
