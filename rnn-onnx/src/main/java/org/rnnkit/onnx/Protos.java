package org.rnnkit.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.rnnkit.io.Untrusted;
import org.rnnkit.onnx.proto.Onnx;
import org.rnnkit.tensor.MemoryBudget;

/**
 * The protobuf boundary: bytes to generated messages with limits, and tensors out of {@code TensorProto}s
 * with every count checked against the bytes actually present before anything is allocated.
 *
 * <p>Thread safety: stateless.
 */
final class Protos {
    /**
     * Nesting limit of messages. An ONNX model rnnkit reads nests Model, Graph, Node, Attribute, Tensor and a
     * few TypeProto levels; subgraphs (If/Loop bodies) are refused anyway. 64 is far above any file it
     * accepts and far below a depth that could exhaust the stack.
     */
    static final int RECURSION_LIMIT = 64;

    /** Protobuf's own ceiling for one message (its sizes are 32-bit); larger models use external data. */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;

    private Protos() {}

    /** The whole file, once its size is known to fit protobuf's limit and the memory budget. */
    static byte[] readFile(Path file) throws IOException {
        long size = Files.size(file);
        String name = file.getFileName().toString();
        if (size > MAX_FILE_BYTES) {
            throw new OnnxFormatException(name + ": " + size + " bytes, more than a protobuf message can hold (2 GB);"
                    + " a model this large keeps its weights as external data, which rnnkit does not read");
        }
        MemoryBudget.require(size, name + ": the file");
        return Files.readAllBytes(file);
    }

    /**
     * Parses a whole message from {@code bytes} with the recursion limit, and refuses bytes after it (a
     * zero tag ends a message early: what follows would be silently ignored).
     */
    static <T extends MessageLite> T parse(byte[] bytes, String source, Parser<T> parser, String what)
            throws OnnxFormatException {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        in.setRecursionLimit(RECURSION_LIMIT);
        in.setSizeLimit(bytes.length);
        try {
            T message = parser.parseFrom(in);
            if (!in.isAtEnd()) {
                throw new OnnxFormatException(source + ": not a valid ONNX " + what + ": " + (bytes.length
                        - in.getTotalBytesRead()) + " bytes after the end of the message (at byte "
                        + in.getTotalBytesRead() + ")");
            }
            return message;
        } catch (InvalidProtocolBufferException e) {
            throw new OnnxFormatException(source + ": not a valid ONNX " + what + " (" + bytes.length + " bytes): "
                    + Untrusted.line(String.valueOf(e.getMessage()), 300), e);
        } catch (IOException e) { // CodedInputStream over an array reports everything as the above; kept exact
            throw new OnnxFormatException(source + ": not a valid ONNX " + what + ": " + e, e);
        }
    }

    /** ONNX's name of a data type code, for messages. */
    static String typeName(int code) {
        try {
            Onnx.TensorProto.DataType t = Onnx.TensorProto.DataType.forNumber(code);
            return t == null ? "unknown type " + code : t.name() + " (" + code + ")";
        } catch (RuntimeException e) {
            return "unknown type " + code;
        }
    }

    /**
     * The tensor a {@code TensorProto} holds, checked: a type rnnkit reads, data inside the file, no
     * negative dimension, a size that fits an array, and exactly as many values present as the shape says
     * (in {@code raw_data} or in the field of its type, not both).
     *
     * @param where the message prefix, e.g. {@code model.onnx: initializer 'W'}
     */
    static OnnxTensor tensor(Onnx.TensorProto t, String where) throws OnnxFormatException {
        String at = where + (t.hasName() && !where.contains("'") ? " " + Untrusted.quote(t.getName()) : "");
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
            throw new OnnxFormatException(at + ": its data is stored outside the file (data_location=EXTERNAL),"
                    + " which rnnkit does not read (no file outside the model is opened); save the model with its"
                    + " data inside (onnx.save_model(m, path, save_as_external_data=False))");
        }
        if (t.hasSegment()) {
            throw new OnnxFormatException(at + ": a segment of a larger tensor, which rnnkit does not read");
        }
        OnnxTensor.DataType type = OnnxTensor.DataType.ofCode(t.getDataType());
        if (type == null) {
            throw new OnnxFormatException(at + ": data_type: expected FLOAT (1), INT32 (6) or INT64 (7), got "
                    + typeName(t.getDataType()));
        }
        int[] shape = new int[t.getDimsCount()];
        long size = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = t.getDims(i);
            if (d < 0) {
                throw new OnnxFormatException(at + ": dims[" + i + "]: expected >= 0, got " + d);
            }
            if (d > Integer.MAX_VALUE || (size = size * d) > Integer.MAX_VALUE - 8) { // d <= 2^31 and size <= 2^31: no overflow
                throw new OnnxFormatException(at + ": dims " + t.getDimsList() + " hold more than 2^31-9 elements");
            }
            shape[i] = (int) d;
        }
        int n = (int) size;
        int floats = t.getFloatDataCount(), int32s = t.getInt32DataCount(), int64s = t.getInt64DataCount();
        int others = t.getDoubleDataCount() + t.getUint64DataCount() + t.getStringDataCount();
        int typed = switch (type) {
            case FLOAT -> floats;
            case INT32 -> int32s;
            case INT64 -> int64s;
        };
        if (others > 0 || floats + int32s + int64s != typed) {
            throw new OnnxFormatException(at + ": holds values in a field of another type than its data_type "
                    + type + " (float_data " + floats + ", int32_data " + int32s + ", int64_data " + int64s
                    + ", double/uint64/string data " + others + ")");
        }
        ByteString raw = t.hasRawData() ? t.getRawData() : null;
        if (raw != null && typed > 0) {
            throw new OnnxFormatException(at + ": holds values both in raw_data and in its typed field");
        }
        if (raw != null && raw.size() != (long) n * type.bytes()) {
            throw new OnnxFormatException(at + ": raw_data holds " + raw.size() + " bytes, but shape "
                    + t.getDimsList() + " of " + type + " needs " + (long) n * type.bytes());
        }
        if (raw == null && typed != n) {
            throw new OnnxFormatException(at + ": holds " + typed + " values, but shape " + t.getDimsList() + " needs "
                    + n);
        }
        // n is now bounded by what the file holds; the copy still has to fit the budget.
        MemoryBudget.require(MemoryBudget.bytesOf(n, type == OnnxTensor.DataType.INT64 || type
                == OnnxTensor.DataType.INT32 ? 8 : 4), at);
        String name = t.getName();
        if (type == OnnxTensor.DataType.FLOAT) {
            float[] v = new float[n];
            if (raw != null) {
                raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            } else {
                for (int i = 0; i < n; i++) {
                    v[i] = t.getFloatData(i);
                }
            }
            return new OnnxTensor(name, type, shape, v, null);
        }
        long[] v = new long[n];
        if (raw != null) {
            ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                v[i] = type == OnnxTensor.DataType.INT32 ? b.getInt() : b.getLong();
            }
        } else {
            for (int i = 0; i < n; i++) {
                v[i] = type == OnnxTensor.DataType.INT32 ? t.getInt32Data(i) : t.getInt64Data(i);
            }
        }
        return new OnnxTensor(name, type, shape, null, v);
    }

    /** An attribute type's name for messages. */
    static String attributeType(Onnx.AttributeProto a) {
        Onnx.AttributeProto.AttributeType t = a.getType();
        return t == null ? "unknown" : t.name();
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
