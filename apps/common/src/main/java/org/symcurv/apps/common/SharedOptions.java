package org.symcurv.apps.common;

import java.nio.file.Path;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.core.data.DataNotFoundException;
import org.symcurv.core.data.FashionMnist;
import picocli.CommandLine.Option;

/**
 * The options several commands share, as picocli mixins ({@code @Mixin SharedOptions.Progress progress;}): one name, one
 * wording and one default each, declared here and nowhere else. New shared options (data sources, …) belong here too.
 */
public final class SharedOptions {
    private SharedOptions() {
    }

    /** {@code --data DIR}: where the Fashion-MNIST files are. */
    public static final class Data {
        @Option(names = "--data", paramLabel = "DIR",
                description = "Directory with the four Fashion-MNIST IDX files (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
        Path dir;

        /** The directory given, or null (then the default places are searched). */
        public Path dir() {
            return dir;
        }

        /** {@link FashionMnist#locate}: the given directory, else {@code $SYMCURV_DATA}, else the Debian package's. */
        public Path locate() throws DataNotFoundException {
            return FashionMnist.locate(dir);
        }
    }

    /** {@code --seed S}, default 42: seeds every random choice of the command. */
    public static final class Seed {
        /** The default seed of the commands that take this mixin. */
        public static final long DEFAULT = 42;

        @Option(names = "--seed", paramLabel = "S", defaultValue = "" + DEFAULT,
                description = "Seed of every random choice: initial weights, data order and subsets, Monte Carlo draws (default: ${DEFAULT-VALUE}).")
        long seed;

        public long value() {
            return seed;
        }
    }

    /** {@code --force}: replace outputs that exist. Without it an existing output is kept and the command stops. */
    public static final class Force {
        @Option(names = "--force", description = "Replace output files that exist already (without it they are kept and the command stops).")
        boolean force;

        public boolean given() {
            return force;
        }
    }

    /** {@code --model FILE}, required: a DL4J model zip to read. */
    public static final class Model {
        @Option(names = "--model", paramLabel = "FILE", required = true,
                description = "The DL4J model zip, e.g. written by 'symcurv train' (DenseLayers and an OutputLayer).")
        Path file;

        public Path file() {
            return file;
        }

        /** {@link ModelFiles#loadClassifier}: the network, or a message naming what is wrong with the file. */
        public MultiLayerNetwork load() {
            return ModelFiles.loadClassifier(file);
        }
    }

    /** {@code --no-progress}: progress bars (or, for {@code stream}, the periodic status lines) on the console. */
    public static final class Progress {
        @Option(names = "--no-progress", description = "Do not show progress (none is shown without a console anyway).")
        boolean off;

        /** Whether to show progress: not switched off, and a console is attached. */
        public boolean shown() {
            return !off && System.console() != null;
        }

        /** Whether {@code --no-progress} was given (progress that is not a console bar, such as status lines, follows it alone). */
        public boolean switchedOff() {
            return off;
        }

        /**
         * A progress bar on stderr counting {@code total} {@code unit}s (e.g. {@code " img"}), or null when progress is not
         * {@link #shown()}; close it when done.
         */
        public ProgressBar bar(String task, long total, String unit) {
            if (!shown()) {
                return null;
            }
            return new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setStyle(ProgressBarStyle.ASCII).setUnit(unit, 1)
                    .setConsumer(new ConsoleProgressBarConsumer(System.err)).setUpdateIntervalMillis(250).build();
        }
    }
}
