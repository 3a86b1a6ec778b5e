package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.TopicPartition;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.apps.common.NativeThreads;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.apps.stream.ContinualLearners;
import org.symcurv.apps.stream.EmbeddedBroker;
import org.symcurv.apps.stream.KafkaSettings;
import org.symcurv.apps.stream.ModelStream;
import org.symcurv.apps.stream.StreamService;
import org.symcurv.continual.ContinualMethod;
import org.symcurv.continual.EwcSettings;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv stream}: the continual-learning service. Consumes task records from a Kafka topic, learns each model's
 * tasks one after another with EWC on the symmetry-averaged Fisher, publishes events, dead-letters malformed records and
 * checkpoints; see {@link StreamService} for the delivery guarantee. Runs until interrupted (Ctrl-C or SIGTERM: it
 * checkpoints and commits first), or as {@code --stop-when-idle} / {@code --stop-after-tasks} say.
 */
@Command(name = "stream",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Learn task after task from a Kafka topic with EWC (the continual-learning service).",
                "Record format, events, delivery and scale-out: README, section 'The streaming service'."})
public final class StreamCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafkaOptions = new KafkaOptions();

    @Mixin
    SharedOptions.Progress progress;

    @Option(names = "--topic", paramLabel = "NAME", defaultValue = "symcurv-tasks", description = "Input topic of task records (default: ${DEFAULT-VALUE}).")
    String topic;

    @Option(names = "--events-topic", paramLabel = "NAME", defaultValue = "symcurv-events", description = "Output topic of events (default: ${DEFAULT-VALUE}).")
    String eventsTopic;

    @Option(names = "--dead-letter-topic", paramLabel = "NAME", defaultValue = "symcurv-dead-letters",
            description = "Topic of malformed records, with the reason in header symcurv.reason (default: ${DEFAULT-VALUE}).")
    String deadLetterTopic;

    @Option(names = "--predictions-topic", paramLabel = "NAME", defaultValue = "symcurv-predictions",
            description = "Topic of the answers to predict records (default: ${DEFAULT-VALUE}).")
    String predictionsTopic;

    @Option(names = "--group", paramLabel = "ID", defaultValue = "symcurv-stream",
            description = "Consumer group; instances in one group share the partitions (default: ${DEFAULT-VALUE}).")
    String group;

    @Option(names = "--instance-id", paramLabel = "ID",
            description = "Static group membership (group.instance.id): a restarted instance gets its partitions back without a rebalance.")
    String instanceId;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", defaultValue = "reports/stream/checkpoints",
            description = "Checkpoints, one file per input partition under DIR/GROUP/ (default: ${DEFAULT-VALUE}).")
    Path checkpointDir;

    @Option(names = "--features", paramLabel = "N", defaultValue = "784", description = "Features per example (default: ${DEFAULT-VALUE}).")
    int features;

    @Option(names = "--classes", paramLabel = "K", defaultValue = "10", description = "Classes (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--hidden", paramLabel = "W[,W...]", hideParamSyntax = true, split = ",", defaultValue = "100",
            description = "Hidden layer widths of a new model (default: ${DEFAULT-VALUE}).")
    List<Integer> hidden;

    @Option(names = "--activation", paramLabel = "NAME", defaultValue = "relu", completionCandidates = HiddenActivation.CliNames.class,
            converter = HiddenActivation.Converter.class, description = "Hidden nonlinearity: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    HiddenActivation activation;

    @Option(names = "--method", paramLabel = "NAME", defaultValue = "ewc-symmetry",
            description = "ewc-symmetry (the symmetry-averaged Fisher), ewc-diagonal or finetune (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--lambda", paramLabel = "λ", defaultValue = "100", description = "EWC strength (default: ${DEFAULT-VALUE}).")
    double lambda;

    @Option(names = "--lr", paramLabel = "η", defaultValue = "2e-3", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "32", description = "Examples per training step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--fisher-examples", paramLabel = "N", defaultValue = "1000",
            description = "Training examples of a task kept for its Fisher (a seeded sample; default: ${DEFAULT-VALUE}).")
    int fisherExamples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seeds the weight initialisation, the Fisher samples and their Monte Carlo labels (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-interval", paramLabel = "SECONDS", defaultValue = "10",
            description = "Checkpoint and commit at least this often (and at every task end; default: ${DEFAULT-VALUE}).")
    double checkpointSeconds;

    @Option(names = "--report-interval", paramLabel = "SECONDS", defaultValue = "5",
            description = "Print a status line (unless --no-progress) and publish a throughput event this often (default: ${DEFAULT-VALUE}).")
    double reportSeconds;

    @Option(names = "--stop-when-idle", paramLabel = "SECONDS", description = "Stop after this long without a record.")
    Double stopWhenIdle;

    @Option(names = "--stop-after-tasks", paramLabel = "N", defaultValue = "0", description = "Stop after N task ends in this run.")
    int stopAfterTasks;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "Serve Prometheus metrics on http://HOST:PORT/metrics and health checks on /health/ready (503 while the brokers "
                    + "are unreachable) and /health/live; off by default.")
    Integer metricsPort;

    @Option(names = "--native-threads", paramLabel = "N", defaultValue = "1",
            description = "Threads of ND4J's native operations (default: ${DEFAULT-VALUE}: on small minibatches one thread is faster, and the "
                    + "Kafka clients and the embedded broker need the other cores).")
    int nativeThreads;

    boolean fromConfig;

    @Override
    public Integer call() throws IOException {
        Properties file = kafkaOptions.fileProperties();
        if (!fromConfig && ConfigFileOptions.setsOptions(file)) {
            StreamCommand merged = ConfigFileOptions.reparse(spec, file, kafkaOptions.config.toString(), StreamCommand::new);
            merged.fromConfig = true;
            return merged.call();
        }
        validate();
        NativeThreads.set(nativeThreads);
        PrintWriter out = spec.commandLine().getOut();
        KafkaSettings kafka = kafkaOptions.settings();
        String bootstrap = kafkaOptions.explicitBootstrap(kafka);
        EmbeddedBroker broker = null;
        if (bootstrap == null) {
            broker = kafkaOptions.startEmbeddedIfNeeded(out);
            bootstrap = broker != null ? broker.bootstrap() : kafkaOptions.embeddedBootstrap();
        }
        ContinualMethod continualMethod = ContinualMethod.parse(method);
        EwcSettings ewc = EwcSettings.of(continualMethod, lambda);
        OptimizerSettings optimizer = OptimizerSettings.defaults(Recipe.ADAM).withSchedule(LearningRateSchedule.warmupConstant(learningRate, 0));
        MlpArchitecture architecture = new MlpArchitecture(features, hidden, activation, classes);
        ModelStream.LearnerSource learners = ContinualLearners.of(architecture, ewc, optimizer, seed);
        StreamService.Settings settings = new StreamService.Settings(topic, eventsTopic, deadLetterTopic, predictionsTopic, group, instanceId,
                checkpointDir.resolve(group), features, classes, batch, fisherExamples, seed, seconds(checkpointSeconds),
                seconds(reportSeconds), stopWhenIdle == null ? null : seconds(stopWhenIdle), stopAfterTasks, bootstrap, kafka);
        out.printf(Locale.ROOT, "symcurv stream: %s -> %s (events), %s (dead letters); group %s; brokers %s%n", topic, eventsTopic,
                deadLetterTopic, group, bootstrap);
        out.printf(Locale.ROOT, "new models: %s MLP, %s, Adam lr %s, batch %d, Fisher over %d examples per task; checkpoints in %s%n",
                architecture.describe(), ewc.describe(), learningRate, batch, fisherExamples, settings.checkpointDir());
        out.flush();
        StreamService service = new StreamService(settings, learners, new Printer(out, !progress.switchedOff()));
        org.symcurv.apps.stream.MetricsEndpoint endpoint = null;
        if (metricsPort != null) {
            endpoint = org.symcurv.apps.stream.MetricsEndpoint.start(metricsPort, service.metrics(), kafka, bootstrap, Duration.ofSeconds(2));
            out.printf(Locale.ROOT, "metrics on http://localhost:%d/metrics, health on /health/ready and /health/live%n", endpoint.port());
            out.flush();
        }
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            service.stop();
            try {
                finished.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "symcurv-stream-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            StreamService.Summary summary = service.run();
            out.printf(Locale.ROOT, "stopped: %,d examples trained, %d tasks consolidated, %,d duplicates ignored, %,d dead letters, %.1f s "
                            + "(polling %.1f s, decoding %.1f s, learning %.1f s, checkpointing %.1f s)%n",
                    summary.trainedExamples(), summary.tasksConsolidated(), summary.duplicates(), summary.deadLetters(), summary.seconds(),
                    summary.pollSeconds(), summary.decodeSeconds(), summary.learnSeconds(), summary.checkpointSeconds());
            out.flush();
            return 0;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
            if (endpoint != null) {
                endpoint.close();
            }
            if (broker != null) {
                broker.close();
            }
        }
    }

    private static Duration seconds(double s) {
        return Duration.ofMillis(Math.round(s * 1000));
    }

    private void validate() {
        if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
            throw new ParameterException(spec.commandLine(), "--metrics-port must be a TCP port (0 to 65535; 0: any free port), got " + metricsPort);
        }
        if (nativeThreads < 1) {
            throw new ParameterException(spec.commandLine(), "--native-threads must be at least 1, got " + nativeThreads);
        }
        if (batch < 1 || fisherExamples < 1 || features < 1 || classes < 2) {
            throw new ParameterException(spec.commandLine(), "--batch, --fisher-examples and --features must be at least 1 and --classes at least 2");
        }
        if (hidden.isEmpty() || hidden.stream().anyMatch(w -> w == null || w < 1)) {
            throw new ParameterException(spec.commandLine(), "--hidden needs positive layer widths such as 256,256, got " + hidden);
        }
        if (!(checkpointSeconds > 0) || !(reportSeconds > 0) || stopWhenIdle != null && !(stopWhenIdle > 0) || stopAfterTasks < 0) {
            throw new ParameterException(spec.commandLine(), "--checkpoint-interval, --report-interval and --stop-when-idle must be positive seconds");
        }
        if (!(learningRate > 0) || !(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new ParameterException(spec.commandLine(), "--lr must be positive and --lambda a finite number ≥ 0");
        }
        try {
            ContinualMethod.parse(method);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--method: " + e.getMessage());
        }
    }

    /** One line per status report, task end, dead letter and warning. */
    private static final class Printer implements StreamService.Listener {
        private final PrintWriter out;
        private final boolean statusLines;

        /** @param statusLines whether to print the periodic status line (off with --no-progress) */
        Printer(PrintWriter out, boolean statusLines) {
            this.out = out;
            this.statusLines = statusLines;
        }

        @Override
        public void onStatus(StreamService.Status s) {
            if (!statusLines) {
                return;
            }
            out.printf(Locale.ROOT, "trained %,d examples (%,.0f/s), lag %,d ms, %d partition%s, %d model%s, %d tasks consolidated, %,d duplicates, %,d dead letters%n",
                    s.trainedExamples(), s.examplesPerSecond(), s.lagMs(), s.partitions(), s.partitions() == 1 ? "" : "s", s.models(),
                    s.models() == 1 ? "" : "s", s.tasksConsolidated(), s.duplicates(), s.deadLetters());
            out.flush();
        }

        @Override
        public void onTaskEnd(String model, ModelStream.TaskEnd end) {
            StringBuilder row = new StringBuilder();
            for (int i = 0; i < end.tasks().size(); i++) {
                row.append(String.format(Locale.ROOT, " %s %.3f", end.tasks().get(i), end.accuracy()[i]));
            }
            out.printf(Locale.ROOT, "model %s: task %s consolidated (%,d examples, Fisher over %d, %.2f s); held-back accuracy:%s%n", model,
                    end.task(), end.trainedExamples(), end.consolidation().examples(), end.consolidation().seconds(), row);
            out.flush();
        }

        @Override
        public void onDeadLetter(String source, String reason) {
            out.printf(Locale.ROOT, "dead letter %s: %s%n", source, reason);
            out.flush();
        }

        @Override
        public void onResumed(TopicPartition partition, long checkpointOffset, long committedOffset, Map<String, List<String>> consolidated) {
            if (checkpointOffset < 0) {
                out.printf(Locale.ROOT, "%s: no checkpoint, starting from its first offset%n", partition);
            } else {
                out.printf(Locale.ROOT, "%s: resuming at offset %,d from the checkpoint (committed offset %,d); consolidated %s%n", partition,
                        checkpointOffset, committedOffset, consolidated);
            }
            out.flush();
        }

        @Override
        public void onWarning(String message) {
            out.printf(Locale.ROOT, "warning: %s%n", message);
            out.flush();
        }
    }
}
