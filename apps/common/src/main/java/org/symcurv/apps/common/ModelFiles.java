package org.symcurv.apps.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.symcurv.core.data.ImageDataSet;

/** Reading a DL4J model zip given on the command line, with messages that say what is wrong with the file. */
public final class ModelFiles {
    private ModelFiles() {
    }

    /**
     * Restores a {@link MultiLayerNetwork} from a zip written by {@code ModelSerializer} (configuration.json +
     * coefficients.bin), without its updater state.
     *
     * @throws CommandFailure naming the file when it is missing, not a zip, not a DL4J model, a
     *                                   ComputationGraph, or corrupt
     */
    public static MultiLayerNetwork loadClassifier(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new CommandFailure(file + (Files.exists(file) ? " is not a regular file" : " does not exist")
                    + "; --model needs a DL4J model zip such as 'symcurv train' writes");
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (String entry : new String[] {"configuration.json", "coefficients.bin"}) {
                ZipEntry e = zip.getEntry(entry);
                if (e == null) {
                    throw new CommandFailure(file + " is a zip but not a DL4J model: it has no " + entry
                            + "; pass a model written by 'symcurv train' or ModelSerializer.writeModel");
                }
            }
        } catch (ZipException e) {
            throw new CommandFailure(file + " is not a DL4J model zip (not a readable zip archive: " + e.getMessage()
                    + "); pass a model written by 'symcurv train' or ModelSerializer.writeModel", e);
        } catch (IOException e) {
            throw new CommandFailure("cannot read " + file + ": " + CommandFailure.describe(e), e);
        }
        try {
            return ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        } catch (Exception | LinkageError e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage());
            throw new CommandFailure(file + " is not a readable DL4J MultiLayerNetwork zip (" + reason
                    + "); it may be corrupt or a ComputationGraph; pass a model written by 'symcurv train' or ModelSerializer.writeModel", e);
        }
    }

    /** Loads a DL4J MultiLayerNetwork zip, or fails with a message naming the file. */
    public static MultiLayerNetwork loadModel(Path model) {
        if (!Files.isRegularFile(model)) {
            throw new CommandFailure(model + (Files.exists(model) ? " is not a regular file" : " does not exist")
                    + "; --model needs a DL4J model zip such as 'symcurv train' writes");
        }
        try {
            return ModelSerializer.restoreMultiLayerNetwork(model.toFile(), false);
        } catch (Exception | LinkageError e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new CommandFailure(model + " is not a readable DL4J MultiLayerNetwork zip (" + reason
                    + "); pass a model written by 'symcurv train' or ModelSerializer.writeModel", e);
        }
    }

    /**
     * @throws CommandFailure when the network's input or output width does not fit the data set
     */
    public static void requireFits(MultiLayerNetwork net, Path file, ImageDataSet data) {
        long inputs;
        try {
            inputs = org.symcurv.core.model.ModelZip.inputWidth(net, file.toString());
        } catch (org.symcurv.core.data.DataMismatchException e) {
            throw new CommandFailure(e.getMessage(), e);
        }
        long outputs = net.layerSize(net.getnLayers() - 1);
        if (inputs != data.featureCount() || outputs != data.numClasses()) {
            throw new CommandFailure(file + " maps " + inputs + " inputs to " + outputs + " outputs, but the data has "
                    + data.featureCount() + " pixels per image and " + data.numClasses() + " classes");
        }
    }

    private static String firstLine(String s) {
        int newline = s.indexOf('\n');
        return newline < 0 ? s : s.substring(0, newline);
    }
}
