package org.rnnkit.torch;

import org.rnnkit.io.ModelFormatException;

/**
 * A PyTorch file that is malformed, truncated, unsupported or names something the reader refuses to model (a
 * global outside the allow-list). The message starts with the file's name, then says what was expected and
 * what was found.
 */
public final class TorchFormatException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    TorchFormatException(String source, String message) {
        super(source + ": " + message);
    }

    TorchFormatException(String source, String message, Throwable cause) {
        super(source + ": " + message, cause);
    }
}
