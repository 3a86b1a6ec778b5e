package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.data.MinibatchIterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv train}: fits an MLP classifier to Fashion-MNIST with Adam on shuffled minibatches, reports
 * test accuracy and loss after every epoch, and writes the network as a standard DL4J model zip
 * ({@link ModelSerializer}, updater state included) that plain DL4J can restore. The zip is written to a
 * temporary sibling and renamed into place, so a failed run never leaves half a model, and an existing model
 * is kept unless {@code --force} is given.
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        description = {"Train an MLP classifier on Fashion-MNIST and save it as a DL4J model zip.",
                "Inputs are pixel/255 in [0, 1], flattened row-major to 784; labels 0-9."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Directory with the four Fashion-MNIST IDX files (default: $SYMCURV_DATA, then "
                    + "/usr/share/datasets/fashion-mnist from the Debian package dataset-fashion-mnist).")
    Path dataDir;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "reports/model.zip",
            description = "Where to write the model zip (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--force", description = "Replace an existing model file.")
    boolean force;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "5", description = "Passes over the training set (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--hidden", paramLabel = "W[,W...]", hideParamSyntax = true, split = ",", defaultValue = "256,256",
            description = "Hidden layer widths (default: ${DEFAULT-VALUE}).")
    List<Integer> hidden;

    @Option(names = "--activation", paramLabel = "NAME", defaultValue = "relu", completionCandidates = HiddenActivation.CliNames.class,
            converter = HiddenActivation.Converter.class,
            description = "Hidden nonlinearity, one of: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    HiddenActivation activation;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "1e-3", description = "Adam step size (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "128", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the weight initialisation and the minibatch shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--no-progress", description = "Do not show a progress bar (none is shown without a console anyway).")
    boolean noProgress;

    @Override
    public Integer call() throws IOException {
        validateOptions();
        PrintWriter stdout = spec.commandLine().getOut();
        Path target = out.toAbsolutePath().normalize();
        if (Files.isDirectory(target)) {
            throw new SymcurvCli.CommandFailure(out + " is a directory; --out needs a file name such as " + out.resolve("model.zip"));
        }
        if (Files.exists(target) && !force) {
            throw new SymcurvCli.CommandFailure(out + " already exists; pass --force to replace it or choose another --out");
        }
        Path dir = FashionMnist.locate(dataDir);
        Path tmp = createTemporaryOutput(target);
        try {
            ImageDataSet train = FashionMnist.loadTrain(dir);
            ImageDataSet test = FashionMnist.loadTest(dir);
            MlpArchitecture architecture = new MlpArchitecture(train.featureCount(), hidden, activation, train.numClasses());
            MultiLayerNetwork network = architecture.newNetwork(learningRate, seed);
            stdout.printf(Locale.ROOT, "training %s MLP (%,d parameters) on %,d Fashion-MNIST images from %s%n",
                    architecture.describe(), architecture.parameterCount(), train.size(), dir);
            stdout.printf(Locale.ROOT, "Adam lr %s, batch %d, seed %d, %d epoch%s; testing on %,d images%n",
                    learningRate, batchSize, seed, epochs, epochs == 1 ? "" : "s", test.size());
            stdout.flush();

            MinibatchIterator batches = train.minibatches(batchSize, seed);
            for (int epoch = 1; epoch <= epochs; epoch++) {
                batches.reset();
                long started = System.nanoTime();
                double trainLoss = trainOneEpoch(network, batches, epoch, train.size());
                double seconds = (System.nanoTime() - started) / 1e9;
                ClassifierEvaluation evaluation = ClassifierEvaluation.of(network, test);
                stdout.printf(Locale.ROOT, "epoch %d/%d: train loss %.4f, test loss %.4f, test accuracy %.4f (%d/%d), %.1f s%n",
                        epoch, epochs, trainLoss, evaluation.meanLoss(), evaluation.accuracy(), evaluation.correct(),
                        evaluation.count(), seconds);
                stdout.flush();
            }
            try {
                ModelSerializer.writeModel(network, tmp.toFile(), true);
                AtomicFiles.moveIntoPlace(tmp, target, force);
            } catch (IOException e) {
                throw new SymcurvCli.CommandFailure("could not write the model to " + out + ": " + SymcurvCli.describe(e), e);
            }
            stdout.printf(Locale.ROOT, "model written to %s%n", out);
            stdout.flush();
            return 0;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void validateOptions() {
        if (epochs < 1) {
            throw new ParameterException(spec.commandLine(), "--epochs must be at least 1, got " + epochs);
        }
        if (batchSize < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batchSize);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new ParameterException(spec.commandLine(), "--lr must be a positive number, got " + learningRate);
        }
        if (hidden.isEmpty() || hidden.stream().anyMatch(width -> width == null || width < 1)) {
            throw new ParameterException(spec.commandLine(), "--hidden needs positive layer widths such as 256,256, got " + hidden);
        }
    }

    /** Creates the temporary sibling now, so an unwritable destination fails before any training. */
    private Path createTemporaryOutput(Path target) {
        try {
            return AtomicFiles.createSiblingTemp(target);
        } catch (IOException e) {
            throw new SymcurvCli.CommandFailure("cannot write the model to " + out + ": " + SymcurvCli.describe(e)
                    + "; choose a writable --out", e);
        }
    }

    private double trainOneEpoch(MultiLayerNetwork network, MinibatchIterator batches, int epoch, int examples) {
        double lossSum = 0;
        long seen = 0;
        try (ProgressBar bar = progressBar(epoch, examples)) {
            while (batches.hasNext()) {
                DataSet batch = batches.next();
                network.fit(batch);
                lossSum += network.score() * batch.numExamples();
                seen += batch.numExamples();
                if (bar != null) {
                    bar.stepBy(batch.numExamples());
                    bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", lossSum / seen));
                }
            }
        }
        return lossSum / seen;
    }

    /** A progress bar on stderr, or null when there is no console or --no-progress was given. */
    private ProgressBar progressBar(int epoch, int examples) {
        if (noProgress || System.console() == null) {
            return null;
        }
        PrintStream err = System.err;
        return new ProgressBarBuilder()
                .setTaskName("epoch " + epoch + "/" + epochs)
                .setInitialMax(examples)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(" img", 1)
                .setConsumer(new ConsoleProgressBarConsumer(err))
                .setUpdateIntervalMillis(250)
                .build();
    }
}
