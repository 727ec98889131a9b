package org.rnnkit.nn;

/**
 * What a training forward pass keeps for its backward pass: a {@link LayerTrace} from
 * {@link RecurrentLayer#forwardTraining}, or a {@link CellTrace} from {@link RecurrentCell#forwardTraining}.
 *
 * <p>Thread safety: not thread-safe; one trace belongs to one forward/backward pair.
 */
public sealed interface Trace permits LayerTrace, CellTrace {}
