package org.symcurv.core.model;

/**
 * A DL4J layer that a {@code core.model} operation does not understand. The message names the layer index,
 * the layer's configuration class, what is not supported and the remedy; the index and class are also
 * available to callers that want to react programmatically.
 */
public final class UnsupportedLayerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int layerIndex;
    private final String layerClass;

    /**
     * @param layerIndex index of the layer in the network
     * @param layerClass simple name of the layer's configuration class, e.g. {@code "BatchNormalization"}
     * @param problem    what is wrong, e.g. {@code "has no exact oracle"}
     * @param remedy     what the caller can do instead
     */
    public UnsupportedLayerException(int layerIndex, String layerClass, String problem, String remedy) {
        super("layer " + layerIndex + " (" + layerClass + ") " + problem + "; " + remedy);
        this.layerIndex = layerIndex;
        this.layerClass = layerClass;
    }

    public int layerIndex() {
        return layerIndex;
    }

    public String layerClass() {
        return layerClass;
    }
}
