/**
 * Keras model files as rnnkit layers: {@link org.rnnkit.keras.KerasFile} reads a {@code .keras} or legacy
 * {@code .h5} file, {@link org.rnnkit.keras.KerasImport} builds the {@link org.rnnkit.nn.RecurrentLayer}.
 */
package org.rnnkit.keras;
