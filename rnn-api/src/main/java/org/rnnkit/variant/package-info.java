/**
 * How a recurrent cell may differ from PyTorch's form: the activation functions of its slots (with ONNX's
 * names and parameters), cell clipping, LSTM peepholes and coupled input-forget gate, and the GRU whose
 * reset gate multiplies {@code h} before the recurrent product. Plain values, shared by the user API
 * ({@code org.rnnkit.nn}) and the SPI ({@code org.rnnkit.spi}); they depend on nothing.
 */
package org.rnnkit.variant;
