/** Reading ONNX recurrent models and tensors into rnnkit. */
package org.rnnkit.onnx;
