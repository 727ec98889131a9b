package org.rnnkit.keras;

import org.rnnkit.io.ModelFormatException;

/**
 * A Keras file that is malformed, truncated, unsupported or describes a model rnnkit refuses to build (a layer it
 * does not model, an option it cannot honour). The message starts with the file's name, then says what was
 * expected and what was found.
 *
 * <p>Thread safety: immutable once thrown.
 */
public final class KerasFormatException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    KerasFormatException(String source, String message) {
        super(source + ": " + message);
    }

    KerasFormatException(String source, String message, Throwable cause) {
        super(source + ": " + message, cause);
    }
}
