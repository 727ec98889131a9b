package org.rnnkit.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import org.rnnkit.onnx.proto.Onnx;
import org.rnnkit.tensor.Tensor;

/**
 * A named ONNX tensor of the element types rnnkit reads: {@code float} (values, weights, states) and
 * {@code int32}/{@code int64} ({@code sequence_lens}, shapes). It is what an ONNX {@code TensorProto} file
 * holds (the {@code input_k.pb}/{@code output_k.pb} files of ONNX's test data sets), and the currency of
 * {@link OnnxLayer#run}, which takes and returns the graph's inputs and outputs by name.
 *
 * <pre>{@code
 * OnnxTensor x = OnnxTensor.read(Path.of("test_data_set_0/input_0.pb"));
 * Tensor values = x.toTensor();                       // float32 tensors only
 * }</pre>
 *
 * <p>Thread safety: immutable; the factories copy what they are given and the accessors return copies.
 */
public final class OnnxTensor {
    /** The element types rnnkit reads, with ONNX's {@code TensorProto.DataType} codes. */
    public enum DataType {
        FLOAT(1, 4),
        INT32(6, 4),
        INT64(7, 8);

        private final int code, bytes;

        DataType(int code, int bytes) {
            this.code = code;
            this.bytes = bytes;
        }

        /** ONNX's code for the type ({@code TensorProto.DataType}). */
        public int code() {
            return code;
        }

        /** Bytes per element. */
        public int bytes() {
            return bytes;
        }

        /** The type of an ONNX code, or null when rnnkit does not read it. */
        static DataType ofCode(int code) {
            for (DataType t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    private final String name;
    private final DataType type;
    private final int[] shape;
    private final float[] floats; // FLOAT
    private final long[] longs; // INT32 and INT64 (int32 values widened)

    OnnxTensor(String name, DataType type, int[] shape, float[] floats, long[] longs) {
        this.name = name == null ? "" : name;
        this.type = type;
        this.shape = shape;
        this.floats = floats;
        this.longs = longs;
    }

    /**
     * Reads an ONNX {@code TensorProto} file, e.g. an {@code input_0.pb} of an ONNX test data set.
     *
     * @throws OnnxFormatException if the file is not a well-formed tensor of a type rnnkit reads (float32,
     *     int32, int64), or stores its data outside the file
     * @throws org.rnnkit.tensor.MemoryBudgetException if the file is larger than the memory budget
     * @throws IOException if the file cannot be read
     */
    public static OnnxTensor read(Path file) throws IOException {
        return read(Protos.readFile(file), file.getFileName().toString());
    }

    /**
     * Parses the bytes of an ONNX {@code TensorProto}.
     *
     * @param sourceName the name messages start with, e.g. the file's name
     * @throws OnnxFormatException as {@link #read(Path)}
     */
    public static OnnxTensor read(byte[] bytes, String sourceName) throws OnnxFormatException {
        Objects.requireNonNull(bytes, "bytes");
        String source = sourceName == null ? "tensor" : sourceName;
        Onnx.TensorProto proto = Protos.parse(bytes, source, Onnx.TensorProto.parser(), "TensorProto");
        return Protos.tensor(proto, source + ": tensor");
    }

    /** A float32 tensor with the values and shape of {@code values} (copied). */
    public static OnnxTensor of(String name, Tensor values) {
        Objects.requireNonNull(values, "values");
        return new OnnxTensor(name, DataType.FLOAT, values.shape(), values.data().clone(), null);
    }

    /**
     * An integer tensor of type {@link DataType#INT32} or {@link DataType#INT64}.
     *
     * @throws IllegalArgumentException if {@code type} is FLOAT, the shape does not hold {@code values.length}
     *     elements, or an INT32 value is out of range
     */
    public static OnnxTensor ofIntegers(String name, DataType type, long[] values, int... shape) {
        Objects.requireNonNull(values, "values");
        if (type != DataType.INT32 && type != DataType.INT64) {
            throw new IllegalArgumentException("type: expected INT32 or INT64, got " + type);
        }
        long size = Tensor.checkedSize("shape", shape);
        if (size != values.length) {
            throw new IllegalArgumentException("values: expected " + size + " for shape " + Tensor.shapeString(shape)
                    + ", got " + values.length);
        }
        if (type == DataType.INT32) {
            for (int i = 0; i < values.length; i++) {
                if (values[i] != (int) values[i]) {
                    throw new IllegalArgumentException("values[" + i + "]: expected an int32, got " + values[i]);
                }
            }
        }
        return new OnnxTensor(name, type, shape.clone(), null, values.clone());
    }

    /** The tensor's name ({@code ""} when it has none). */
    public String name() {
        return name;
    }

    public DataType dataType() {
        return type;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public int size() {
        return floats != null ? floats.length : longs.length;
    }

    /**
     * The values as a float32 tensor (a copy).
     *
     * @throws IllegalStateException if the tensor is not FLOAT
     */
    public Tensor toTensor() {
        if (floats == null) {
            throw new IllegalStateException("tensor " + quotedName() + ": expected FLOAT, got " + type);
        }
        return Tensor.of(floats, shape);
    }

    /**
     * The values of an integer tensor (a copy; INT32 values widened).
     *
     * @throws IllegalStateException if the tensor is FLOAT
     */
    public long[] toLongs() {
        if (longs == null) {
            throw new IllegalStateException("tensor " + quotedName() + ": expected INT32 or INT64, got " + type);
        }
        return longs.clone();
    }

    /** The values without a copy, for this package. */
    float[] floatView() {
        return floats;
    }

    long[] longView() {
        return longs;
    }

    String quotedName() {
        return org.rnnkit.io.Untrusted.quote(name);
    }

    /**
     * The tensor as an ONNX {@code TensorProto} (values little-endian in {@code raw_data}, as ONNX's own
     * tools write them): what {@link #read(byte[], String)} reads back to an equal tensor.
     */
    public byte[] toBytes() {
        int n = size();
        ByteBuffer raw = ByteBuffer.allocate(n * type.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (type) {
                case FLOAT -> raw.putFloat(floats[i]);
                case INT32 -> raw.putInt((int) longs[i]);
                case INT64 -> raw.putLong(longs[i]);
            }
        }
        Onnx.TensorProto.Builder b = Onnx.TensorProto.newBuilder().setName(name).setDataType(type.code())
                .setRawData(com.google.protobuf.ByteString.copyFrom(raw.array()));
        for (int d : shape) {
            b.addDims(d);
        }
        return b.build().toByteArray();
    }

    /** Writes {@link #toBytes()} to {@code file}. */
    public void write(Path file) throws IOException {
        Files.write(file, toBytes());
    }

    /** Same name, type, shape and bitwise-equal values. */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof OnnxTensor t) || t.type != type || !t.name.equals(name) || !Arrays.equals(t.shape, shape)) {
            return false;
        }
        if (floats == null) {
            return Arrays.equals(longs, t.longs);
        }
        for (int i = 0; i < floats.length; i++) {
            if (Float.floatToRawIntBits(floats[i]) != Float.floatToRawIntBits(t.floats[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return "OnnxTensor " + quotedName() + " " + type + Tensor.shapeString(shape);
    }
}
