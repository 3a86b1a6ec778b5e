package org.symcurv.core.model;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.dataset.api.preprocessor.Normalizer;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.DataMismatchException;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.MalformedDataException;
import org.symcurv.core.data.PredictionTask;

/**
 * A DL4J model zip ({@code ModelSerializer}: {@code configuration.json}, {@code coefficients.bin}) and the DL4J
 * normaliser it may carry ({@code normalizer.bin}, {@code ModelSerializer.addNormalizerToModel}). The normaliser
 * {@code T} is part of the model: the network computes {@code f(T(x))}, so every command applies it to the features
 * before the network sees them ({@link Contents#prepare}) and every model file written from it carries it
 * ({@link #write}).
 */
public final class ModelZip {
    private ModelZip() {
    }

    /**
     * A restored model.
     *
     * @param network    the network, without updater state
     * @param normalizer the stored normaliser, or null when the zip has none
     * @param file       the file it was read from
     */
    public record Contents(MultiLayerNetwork network, DataNormalization normalizer, Path file) {
        /** Classification for a softmax output, regression for identity with mean squared error. */
        public PredictionTask task() throws DataMismatchException {
            return ModelZip.task(network, file.toString());
        }

        /** The network's flat input width ({@link ModelZip#inputWidth}). */
        public long inputs() throws DataMismatchException {
            return inputWidth(network, file.toString());
        }

        /** The network's output width. */
        public long outputs() {
            return network.layerSize(network.getnLayers() - 1);
        }

        /**
         * The examples as this model sees them: checked against its inputs, task and outputs
         * ({@link LabelledData#requireFits}), then normalised by its normaliser (when it has one).
         *
         * @throws DataMismatchException naming the data and this file when they do not fit
         */
        public LabelledData prepare(LabelledData data) throws DataMismatchException {
            return data.requireFits(inputs(), outputs(), task(), file.toString()).normalized(normalizer);
        }
    }

    /**
     * Reads a model zip and its normaliser.
     *
     * @throws NoSuchFileException    when the file does not exist
     * @throws MalformedDataException naming the file when it is not a zip, not a DL4J model, a ComputationGraph,
     *                                corrupt, or carries a normaliser of another kind than a {@link DataNormalization}
     */
    public static Contents read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, (Files.exists(file) ? "not a regular file" : "no such file")
                    + "; a model is a DL4J model zip such as 'symcurv train' writes");
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (String entry : new String[] {"configuration.json", "coefficients.bin"}) {
                ZipEntry e = zip.getEntry(entry);
                if (e == null) {
                    throw new MalformedDataException(file + " is a zip but not a DL4J model: it has no " + entry
                            + "; pass a model written by 'symcurv train' or ModelSerializer.writeModel");
                }
            }
        } catch (ZipException e) {
            throw new MalformedDataException(file + " is not a DL4J model zip (not a readable zip archive: " + e.getMessage()
                    + "); pass a model written by 'symcurv train' or ModelSerializer.writeModel", e);
        }
        Pair<MultiLayerNetwork, Normalizer> restored;
        try {
            restored = ModelSerializer.restoreMultiLayerNetworkAndNormalizer(file.toFile(), false);
        } catch (Exception | LinkageError e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new MalformedDataException(file + " is not a readable DL4J MultiLayerNetwork zip (" + reason + "); it may be "
                    + "corrupt or a ComputationGraph; pass a model written by 'symcurv train' or ModelSerializer.writeModel", e);
        }
        Normalizer<?> normalizer = restored.getSecond();
        if (normalizer != null && !(normalizer instanceof DataNormalization)) {
            throw new MalformedDataException(file + " carries a normalizer of type " + normalizer.getClass().getSimpleName()
                    + ", which does not apply to a single feature array; store a DataNormalization (e.g. NormalizerStandardize)");
        }
        return new Contents(restored.getFirst(), (DataNormalization) normalizer, file);
    }

    /**
     * Writes a model zip without updater state, with {@code normalizer} inside when it is not null, to a temporary
     * sibling renamed onto {@code target}: the target appears whole or not at all.
     *
     * @param replace whether an existing {@code target} may be replaced
     * @throws java.nio.file.FileAlreadyExistsException when {@code target} exists and {@code replace} is false
     */
    public static void write(Path target, MultiLayerNetwork network, DataNormalization normalizer, boolean replace) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path tmp = AtomicFiles.createSiblingTemp(absolute);
        try {
            // writeModel(model, file, saveUpdater, normalizer) fails in 1.0.0-M2.1 (the normalizer serializer closes the
            // zip stream: "flush() failed: stream is closed"); adding the normalizer to the written zip works.
            ModelSerializer.writeModel(network, tmp.toFile(), false);
            if (normalizer != null) {
                ModelSerializer.addNormalizerToModel(tmp.toFile(), normalizer);
            }
            AtomicFiles.moveIntoPlace(tmp, absolute, replace);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The number of features per example the network takes as a flat row, the form every command feeds it: {@code nIn}
     * of a dense first layer, or {@code height · width · channels} when DL4J reshapes flat rows into images before the
     * first layer (a {@link FeedForwardToCnnPreProcessor}, which {@code InputType.convolutionalFlat} inserts).
     *
     * @param name the model's name (its file) for the message
     * @throws DataMismatchException when the first layer takes images that arrive unflattened (no preprocessor), naming
     *                               the remedy
     */
    public static long inputWidth(MultiLayerNetwork network, String name) throws DataMismatchException {
        InputPreProcessor pre = network.getLayerWiseConfigurations().getInputPreProcess(0);
        if (pre instanceof FeedForwardToCnnPreProcessor image) {
            return image.getInputHeight() * image.getInputWidth() * image.getNumChannels();
        }
        var first = network.getLayerWiseConfigurations().getConf(0).getLayer();
        if (pre == null && first instanceof FeedForwardLayer dense && !(first instanceof ConvolutionLayer) && !(first instanceof SubsamplingLayer)) {
            return dense.getNIn();
        }
        throw new DataMismatchException(name + " starts with a " + first.getClass().getSimpleName() + (pre == null ? "" : " after a "
                + pre.getClass().getSimpleName()) + " that does not take flat feature rows; build a CNN with "
                + "setInputType(InputType.convolutionalFlat(height, width, channels)) so that it reads flattened images");
    }

    /**
     * What a network predicts: {@link PredictionTask#CLASSIFICATION} for a softmax output with cross-entropy,
     * {@link PredictionTask#REGRESSION} for an identity output with mean squared error.
     *
     * @param name the model's name (its file) for the message
     * @throws DataMismatchException for any other output layer, naming it
     */
    public static PredictionTask task(MultiLayerNetwork network, String name) throws DataMismatchException {
        var layer = network.getLayerWiseConfigurations().getConf(network.getnLayers() - 1).getLayer();
        if (layer instanceof BaseOutputLayer output) {
            var loss = OutputLoss.fromDl4j(output.getActivationFn(), output.getLossFn());
            if (loss.isPresent() && loss.get() == OutputLoss.SOFTMAX_CROSS_ENTROPY) {
                return PredictionTask.CLASSIFICATION;
            }
            if (loss.isPresent() && loss.get() == OutputLoss.IDENTITY_MEAN_SQUARED_ERROR) {
                return PredictionTask.REGRESSION;
            }
            throw new DataMismatchException(name + " ends in an output layer with " + output.getActivationFn() + " and "
                    + output.getLossFn() + "; the data commands take a softmax classifier (MCXENT) or an identity/MSE regressor");
        }
        throw new DataMismatchException(name + " does not end in an OutputLayer (its last layer is "
                + layer.getClass().getSimpleName() + ")");
    }
}
