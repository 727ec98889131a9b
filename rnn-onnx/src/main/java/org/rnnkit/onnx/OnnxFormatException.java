package org.rnnkit.onnx;

import org.rnnkit.io.ModelFormatException;

/**
 * An ONNX file that this reader does not accept: malformed protobuf, a tensor whose data does not match its
 * shape or type, or a well-formed model that uses something rnnkit does not run (an operator, an attribute,
 * external data, a graph that is not a recurrent layer). The message starts with the file's name and says
 * what was found and what was expected, for example {@code model.onnx: node 'lstm' (LSTM): attribute
 * 'hidden_size': expected INT, got FLOAT}.
 *
 * <p>It is the only checked exception the readers of this package throw for a file's content; failing to
 * read the file at all stays a plain {@link java.io.IOException}.
 *
 * <p>Thread safety: immutable once thrown, like any exception.
 */
public class OnnxFormatException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public OnnxFormatException(String message) {
        super(message);
    }

    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
