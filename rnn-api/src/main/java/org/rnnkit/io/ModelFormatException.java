package org.rnnkit.io;

import java.io.IOException;

/**
 * A model or tensor file is malformed: its bytes do not follow the format the reader expects.
 *
 * <p>The message names the file (when known), what was wrong, and the expected and actual values, for example
 * {@code model.safetensors: tensor 'weight_ih_l0' data_offsets [0, 40] hold 10 floats, but shape (3, 4) needs 12}.
 * Failures to open or read a file at all (missing file, permissions) stay plain {@link IOException}s.
 *
 * <p>Thread safety: immutable once thrown, like any exception.
 */
public class ModelFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
