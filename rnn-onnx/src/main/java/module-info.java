/**
 * rnnkit's ONNX reader: ONNX recurrent models ({@code LSTM}, {@code GRU}, {@code RNN} nodes with every
 * attribute of the operators, and the graphs PyTorch's exporter writes for {@code nn.LSTM}/{@code GRU}/
 * {@code RNN}) as rnnkit layers, and ONNX {@code TensorProto} files as tensors.
 */
module org.rnnkit.onnx {
    requires transitive org.rnnkit.api;
    requires com.google.protobuf;

    exports org.rnnkit.onnx;

    provides org.rnnkit.io.ModelFormat with org.rnnkit.onnx.OnnxModelFormat;
}
