package org.symcurv.apps.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.Json;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.apps.stream.ContinualLearners;
import org.symcurv.apps.stream.EmbeddedBroker;
import org.symcurv.apps.stream.KafkaSettings;
import org.symcurv.apps.stream.ModelStream;
import org.symcurv.apps.stream.RecordCodec;
import org.symcurv.apps.stream.StreamRecord;
import org.symcurv.apps.stream.StreamService;
import org.symcurv.apps.stream.TaskStreamRecords;
import org.symcurv.continual.ContinualMethod;
import org.symcurv.continual.EwcSettings;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv bench stream}: the streaming service's throughput (examples ingested and trained per second, with and
 * without the consolidations), the time of each consolidation, and the end-to-end latency from producing a task's
 * end-task record to reading its task-consolidated event. One process: a fresh embedded broker (or {@code --bootstrap}),
 * a producer, the service on its own thread, and an event reader. Prints a table and writes
 * {@code reports/bench-stream/stream.json}.
 */
@Command(name = "stream",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Streaming service: examples/s ingested and trained, consolidation time, produce-to-event latency.")
public final class StreamBenchCommand implements java.util.concurrent.Callable<Integer> {
    private static final double GOAL_EXAMPLES_PER_SECOND = 5000;
    private static final double GOAL_CONSOLIDATION_SECONDS = 5;

    @Spec
    CommandSpec spec;

    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka brokers; default: a fresh embedded broker under --out-dir.")
    String bootstrap;

    @Option(names = "--tasks", paramLabel = "N", defaultValue = "3", description = "Permuted tasks for the throughput phase (default: ${DEFAULT-VALUE}).")
    int tasks;

    @Option(names = "--examples", paramLabel = "N", defaultValue = "10000", description = "Training examples per task (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--holdout", paramLabel = "N", defaultValue = "500", description = "Held-back examples per task (default: ${DEFAULT-VALUE}).")
    int holdout;

    @Option(names = "--latency-tasks", paramLabel = "N", defaultValue = "3", description = "Tasks produced one at a time for the latency (default: ${DEFAULT-VALUE}).")
    int latencyTasks;

    @Option(names = "--latency-examples", paramLabel = "N", defaultValue = "500", description = "Training examples per latency task (default: ${DEFAULT-VALUE}).")
    int latencyExamples;

    @Option(names = "--latency-rate", paramLabel = "N", defaultValue = "0",
            description = "Examples/s at which the latency tasks are produced, a predict record after every --predict-every of them "
                    + "(default: 0, half the examples/s measured in the throughput phase, so the service keeps up while it trains).")
    int latencyRate;

    @Option(names = "--predict-every", paramLabel = "N", defaultValue = "10",
            description = "Examples between two predict records in the latency tasks (default: ${DEFAULT-VALUE}).")
    int predictEvery;

    @Option(names = "--encoding", paramLabel = "FORMAT", defaultValue = "binary", description = "json or binary (default: ${DEFAULT-VALUE}).")
    String encoding;

    @Option(names = "--hidden", paramLabel = "W[,W...]", split = ",", defaultValue = "100", hideParamSyntax = true,
            description = "Hidden widths (default: ${DEFAULT-VALUE}, as symcurv stream).")
    List<Integer> hidden;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "32", description = "Minibatch (default: ${DEFAULT-VALUE}, as symcurv stream).")
    int batch;

    @Option(names = "--lr", paramLabel = "η", defaultValue = "2e-3", description = "Adam learning rate (default: ${DEFAULT-VALUE}, as symcurv stream).")
    double learningRate;

    @Option(names = "--fisher-examples", paramLabel = "N", defaultValue = "1000", description = "Fisher sample per task (default: ${DEFAULT-VALUE}).")
    int fisherExamples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--native-threads", paramLabel = "N", defaultValue = "1", description = "ND4J native threads (default: ${DEFAULT-VALUE}, as symcurv stream).")
    int nativeThreads;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST directory.")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/bench-stream", description = "Where the JSON goes (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Override
    public Integer call() throws Exception {
        boolean binary = switch (encoding.toLowerCase(Locale.ROOT)) {
            case "json" -> false;
            case "binary" -> true;
            default -> throw new ParameterException(spec.commandLine(), "--encoding must be json or binary, got '" + encoding + "'");
        };
        if (tasks < 1 || examples < 1 || latencyTasks < 0 || latencyExamples < 1 || batch < 1 || latencyRate < 0 || predictEvery < 1) {
            throw new ParameterException(spec.commandLine(), "--tasks, --examples, --latency-examples, --latency-rate, --predict-every and "
                    + "--batch must be at least 1");
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new ParameterException(spec.commandLine(), "--lr must be a positive number, got " + learningRate);
        }
        PrintWriter out = spec.commandLine().getOut();
        org.symcurv.apps.common.NativeThreads.set(nativeThreads);
        Path data = FashionMnist.locate(dataDir);
        ImageDataSet train = FashionMnist.loadTrain(data);
        ImageDataSet test = FashionMnist.loadTest(data);
        TaskStreamRecords throughputSource = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, examples, holdout, seed);
        TaskStreamRecords latencySource = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, latencyExamples, 100, seed + 1);
        Files.createDirectories(outDir);
        EmbeddedBroker broker = null;
        String brokers = bootstrap;
        String run = "bench-" + Long.toHexString(System.currentTimeMillis());
        try {
            if (brokers == null) {
                Path brokerDir = outDir.resolve("broker");
                deleteRecursively(brokerDir);
                out.printf("starting a fresh embedded broker in %s ...%n", brokerDir);
                out.flush();
                broker = EmbeddedBroker.start(brokerDir, 0, Duration.ofSeconds(120));
                brokers = broker.bootstrap();
            }
            String topic = run + "-tasks";
            String events = run + "-events";
            Properties producerProps = new Properties();
            producerProps.put("bootstrap.servers", brokers);
            producerProps.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
            producerProps.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
            producerProps.put("acks", "all");
            producerProps.put("linger.ms", "5");
            producerProps.put("batch.size", "1048576");
            byte[] key = "bench".getBytes(StandardCharsets.UTF_8);
            long bytes = 0;
            long produceStarted = System.nanoTime();
            int records = 0;
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProps)) {
                for (int k = 0; k < tasks; k++) {
                    for (StreamRecord r : throughputSource.task("bench", k)) {
                        byte[] value = binary ? RecordCodec.encodeBinary(r) : RecordCodec.encodeJson(r);
                        bytes += value.length;
                        records++;
                        producer.send(new ProducerRecord<>(topic, 0, key, value));
                    }
                }
                producer.flush();
            }
            double produceSeconds = (System.nanoTime() - produceStarted) / 1e9;
            out.printf(Locale.ROOT, "produced %,d records (%s, %.1f MiB) in %.1f s; starting the service%n", records, encoding, bytes / 1048576.0,
                    produceSeconds);
            out.flush();

            MlpArchitecture architecture = new MlpArchitecture(784, hidden, HiddenActivation.RELU, 10);
            EwcSettings ewc = EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 100);
            OptimizerSettings optimizer = OptimizerSettings.defaults(Recipe.ADAM).withSchedule(LearningRateSchedule.warmupConstant(learningRate, 0));
            ModelStream.LearnerSource learners = ContinualLearners.of(architecture, ewc, optimizer, seed);
            String predictions = run + "-predictions";
            StreamService.Settings settings = new StreamService.Settings(topic, events, run + "-dead", predictions, run, null,
                    outDir.resolve("checkpoints").resolve(run), 784, 10, batch, fisherExamples, seed, Duration.ofSeconds(10), Duration.ofSeconds(5),
                    null, 0, brokers, new KafkaSettings(new Properties()));
            Recorder recorder = new Recorder(tasks);
            StreamService service = new StreamService(settings, learners, recorder);
            CompletableFuture<StreamService.Summary> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return service.run();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            while (!recorder.throughputDone.await(1, TimeUnit.SECONDS)) {
                if (running.isDone()) {
                    running.join();
                    throw new IllegalStateException("the service stopped before the throughput tasks were learned");
                }
            }
            double wall = (recorder.lastEnd - recorder.assigned) / 1e9;
            double consolidationTotal = recorder.ends.stream().mapToDouble(e -> e.consolidation().seconds()).sum();
            long trained = (long) tasks * examples;
            double perSecond = trained / wall;
            double perSecondTraining = trained / (wall - consolidationTotal);
            out.printf(Locale.ROOT, "throughput phase: %,d examples in %.1f s (%.1f s of it consolidating)%n", trained, wall, consolidationTotal);
            out.flush();

            int rate = latencyRate > 0 ? latencyRate : (int) Math.max(10, Math.round(perSecond / 2));
            List<Double> latencies = new ArrayList<>();
            PredictionReader answers = new PredictionReader(brokers, predictions);
            Thread answerThread = new Thread(answers, "bench-predictions");
            answerThread.setDaemon(true);
            answerThread.start();
            int requests = 0;
            Properties pacedProps = new Properties();
            pacedProps.putAll(producerProps);
            pacedProps.put("linger.ms", "0");
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pacedProps);
                 KafkaConsumer<byte[], byte[]> reader = eventReader(brokers, events)) {
                for (int k = tasks; k < tasks + latencyTasks; k++) {
                    // the task's records at --latency-rate examples/s, a predict record (a held-back image) after every
                    // --predict-every examples: predictions answered while the service trains
                    List<StreamRecord> task = latencySource.task("bench", k);
                    long pacedStart = System.nanoTime();
                    float[] probe = null;
                    for (int i = 0; i < task.size() - 1; i++) {
                        StreamRecord r = task.get(i);
                        if (probe == null && r instanceof StreamRecord.Example e && e.split() == StreamRecord.Split.HOLDOUT) {
                            probe = e.features();
                        }
                        producer.send(new ProducerRecord<>(topic, 0, key, binary ? RecordCodec.encodeBinary(r) : RecordCodec.encodeJson(r)));
                        if (probe != null && (i + 1) % predictEvery == 0) {
                            StreamRecord.Predict predict = new StreamRecord.Predict("bench", "req-" + requests++, probe);
                            producer.send(new ProducerRecord<>(topic, 0, key,
                                    binary ? RecordCodec.encodeBinary(predict) : RecordCodec.encodeJson(predict)));
                        }
                        long due = pacedStart + (long) ((i + 1) * 1e9 / rate);
                        long wait = due - System.nanoTime();
                        if (wait > 1_000_000) {
                            Thread.sleep(wait / 1_000_000);
                        }
                    }
                    producer.flush();
                    StreamRecord end = task.get(task.size() - 1);
                    long sent = System.nanoTime();
                    producer.send(new ProducerRecord<>(topic, 0, key, binary ? RecordCodec.encodeBinary(end) : RecordCodec.encodeJson(end)));
                    producer.flush();
                    awaitConsolidated(reader, TaskStreamRecords.taskName(k));
                    latencies.add((System.nanoTime() - sent) / 1e6);
                }
            }
            answers.awaitAnswers(requests, Duration.ofMinutes(2));
            answers.stop();
            service.stop();
            StreamService.Summary summary = running.get(2, TimeUnit.MINUTES);
            List<Double> predictionLatencies = answers.latencies().stream().sorted().toList();

            List<Double> consolidations = recorder.ends.stream().map(e -> e.consolidation().seconds()).toList();
            double maxConsolidation = consolidations.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
            double[] lastRow = recorder.ends.get(recorder.ends.size() - 1).accuracy();
            Table table = new Table(String.format(Locale.ROOT, "symcurv stream on %d processors (%s records, %s MLP, batch %d, Adam %s, EWC on the symmetry Fisher)",
                    Runtime.getRuntime().availableProcessors(), encoding, architecture.describe(), batch, learningRate), "measure", "value", "goal", "met");
            table.row("examples/s ingested and trained (all of it)", Table.count(Math.round(perSecond)), "≥ 5,000", perSecond >= GOAL_EXAMPLES_PER_SECOND ? "yes" : "no");
            table.row("examples/s ingested and trained (between consolidations)", Table.count(Math.round(perSecondTraining)), "", "");
            table.row("consolidation time, max over tasks (s)", Table.sig(maxConsolidation), "≤ 5", maxConsolidation <= GOAL_CONSOLIDATION_SECONDS ? "yes" : "no");
            for (int i = 0; i < consolidations.size(); i++) {
                table.row("  consolidation of " + recorder.ends.get(i).task() + " (s)", Table.sig(consolidations.get(i)), "", "");
            }
            List<Double> sorted = latencies.stream().sorted(Comparator.naturalOrder()).toList();
            if (!sorted.isEmpty()) {
                table.row("end-to-end latency, end-task produced → consolidated event read, median (ms)", Table.millis(sorted.get(sorted.size() / 2)), "", "");
                table.row("end-to-end latency, max (ms)", Table.millis(sorted.get(sorted.size() - 1)), "", "");
            }
            if (!predictionLatencies.isEmpty()) {
                table.row(String.format(Locale.ROOT, "prediction latency while training at %,d examples/s, p50 / p99 of %d (ms)", rate,
                                predictionLatencies.size()),
                        Table.millis(quantile(predictionLatencies, 0.5)) + " / " + Table.millis(quantile(predictionLatencies, 0.99)), "", "");
            }
            table.row("prediction answers / errors / requests", answers.latencies().size() + " / " + answers.errors() + " / " + requests, "", "");
            table.row("service time polling / decoding / learning / checkpointing (s)", String.format(Locale.ROOT, "%.1f / %.1f / %.1f / %.1f",
                    summary.pollSeconds(), summary.decodeSeconds(), summary.learnSeconds(), summary.checkpointSeconds()), "", "");
            if (recorder.ends.size() >= tasks) {
                double[] afterThroughput = recorder.ends.get(tasks - 1).accuracy();
                table.row("held-back accuracy of the " + tasks + " throughput tasks after them, min / mean",
                        Table.sig(java.util.Arrays.stream(afterThroughput).min().orElse(Double.NaN)) + " / "
                                + Table.sig(java.util.Arrays.stream(afterThroughput).average().orElse(Double.NaN)), "", "");
            }
            table.row("held-back accuracy after the last (latency) task, min over all tasks",
                    Table.sig(java.util.Arrays.stream(lastRow).min().orElse(Double.NaN)), "", "");
            org.symcurv.continual.AccuracyMatrix matrix = accuracyMatrix(recorder.ends);
            StringBuilder plasticity = new StringBuilder();
            StringBuilder stability = new StringBuilder();
            for (int j = 0; j < matrix.tasks(); j++) {
                plasticity.append(j == 0 ? "" : " ").append(Table.sig(matrix.get(j, j)));
                stability.append(j == 0 ? "" : " ").append(Table.sig(matrix.get(matrix.tasks() - 1, j) - matrix.get(j, j)));
            }
            table.row("plasticity: held-back accuracy of each task right after it, R[j][j]", plasticity.toString(), "", "");
            table.row("stability: change of each task's accuracy from then to the end, R[T-1][j] - R[j][j]", stability.toString(), "", "");
            table.row("average accuracy / BWT / forgetting after the last task", Table.sig(matrix.averageAccuracy()) + " / "
                    + Table.sig(matrix.backwardTransfer()) + " / " + Table.sig(matrix.forgetting()), "", "");
            List<Double> load = Machine.loadAverage();
            out.println();
            out.println(table.plain());
            out.printf(Locale.ROOT, "load average while measuring: %s (other processes share the cores)%n", load);

            Map<String, Object> json = new LinkedHashMap<>();
            json.put("command", "symcurv " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
            json.put("machine", Machine.describe());
            json.put("loadAverage", load);
            json.put("encoding", encoding);
            json.put("architecture", architecture.describe());
            json.put("batch", batch);
            json.put("learningRate", learningRate);
            json.put("nativeThreads", nativeThreads);
            json.put("tasks", tasks);
            json.put("examplesPerTask", examples);
            json.put("producedRecords", records);
            json.put("producedBytes", bytes);
            json.put("throughputSeconds", wall);
            json.put("examplesPerSecond", perSecond);
            json.put("examplesPerSecondBetweenConsolidations", perSecondTraining);
            json.put("consolidationSeconds", consolidations);
            json.put("latencyMillis", latencies);
            json.put("latencyRate", rate);
            json.put("predictionRequests", requests);
            json.put("predictionErrors", answers.errors());
            json.put("predictionLatencyMillis", predictionLatencies);
            if (!predictionLatencies.isEmpty()) {
                json.put("predictionLatencyP50Millis", quantile(predictionLatencies, 0.5));
                json.put("predictionLatencyP99Millis", quantile(predictionLatencies, 0.99));
            }
            Map<String, Object> split = new LinkedHashMap<>();
            split.put("seconds", summary.seconds());
            split.put("poll", summary.pollSeconds());
            split.put("decode", summary.decodeSeconds());
            split.put("learn", summary.learnSeconds());
            split.put("checkpoint", summary.checkpointSeconds());
            json.put("serviceSeconds", split);
            List<Object> rows = new ArrayList<>();
            for (ModelStream.TaskEnd e : recorder.ends) {
                List<Double> row = new ArrayList<>();
                for (double a : e.accuracy()) {
                    row.add(a);
                }
                rows.add(row);
            }
            json.put("accuracyRows", rows);
            json.put("averageAccuracy", matrix.averageAccuracy());
            json.put("backwardTransfer", matrix.backwardTransfer());
            json.put("forgetting", matrix.forgetting());
            json.put("goals", Map.of("examplesPerSecond", GOAL_EXAMPLES_PER_SECOND, "consolidationSeconds", GOAL_CONSOLIDATION_SECONDS));
            Path target = outDir.resolve("stream.json");
            Path tmp = AtomicFiles.createSiblingTemp(target);
            try {
                Files.writeString(tmp, Json.write(json), StandardCharsets.UTF_8);
                AtomicFiles.moveIntoPlace(tmp, target, true);
            } finally {
                Files.deleteIfExists(tmp);
            }
            out.printf("written %s%n", target);
            out.flush();
            return 0;
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    private static KafkaConsumer<byte[], byte[]> eventReader(String brokers, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", brokers);
        p.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        TopicPartition tp = new TopicPartition(topic, 0);
        c.assign(List.of(tp));
        c.seekToEnd(List.of(tp));
        c.position(tp);
        return c;
    }

    private static void awaitConsolidated(KafkaConsumer<byte[], byte[]> reader, String task) throws IOException {
        ObjectMapper json = new ObjectMapper();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(20))) {
                JsonNode n = json.readTree(r.value());
                if ("task-consolidated".equals(n.path("event").asText()) && task.equals(n.path("task").asText())) {
                    return;
                }
            }
        }
        throw new IllegalStateException("no task-consolidated event for " + task + " within 5 minutes");
    }

    /** The service's accuracy rows (row {@code i}: the tasks up to {@code i}) as a square matrix, NaN above the diagonal. */
    private static org.symcurv.continual.AccuracyMatrix accuracyMatrix(List<ModelStream.TaskEnd> ends) {
        int t = ends.size();
        double[][] r = new double[t][t];
        for (int i = 0; i < t; i++) {
            java.util.Arrays.fill(r[i], Double.NaN);
            System.arraycopy(ends.get(i).accuracy(), 0, r[i], 0, Math.min(t, ends.get(i).accuracy().length));
        }
        return new org.symcurv.continual.AccuracyMatrix(r);
    }

    /** The {@code q}-quantile of sorted values (nearest rank). */
    static double quantile(List<Double> sorted, double q) {
        int rank = (int) Math.ceil(q * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    /**
     * Reads the predictions topic on its own thread: each answer's latency is the time it is read minus its request's
     * record timestamp (set by the producer on this machine's clock).
     */
    private static final class PredictionReader implements Runnable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final List<Double> latencies = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.util.concurrent.atomic.AtomicInteger errors = new java.util.concurrent.atomic.AtomicInteger();
        private volatile boolean stopping;

        PredictionReader(String brokers, String topic) {
            consumer = eventReader(brokers, topic);
        }

        @Override
        public void run() {
            ObjectMapper json = new ObjectMapper();
            try {
                while (!stopping) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
                        long now = System.currentTimeMillis();
                        JsonNode n = json.readTree(r.value());
                        if ("prediction".equals(n.path("event").asText())) {
                            latencies.add((double) (now - n.path("requestTimestampMs").asLong()));
                        } else {
                            errors.incrementAndGet();
                        }
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } finally {
                consumer.close();
            }
        }

        void awaitAnswers(int expected, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (latencies.size() + errors.get() < expected && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }

        void stop() {
            stopping = true;
        }

        List<Double> latencies() {
            return latencies;
        }

        int errors() {
            return errors.get();
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Times the assignment and every task end (on the service's thread). */
    private static final class Recorder implements StreamService.Listener {
        final CountDownLatch throughputDone;
        final List<ModelStream.TaskEnd> ends = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile long assigned;
        volatile long lastEnd;

        Recorder(int tasks) {
            this.throughputDone = new CountDownLatch(tasks);
        }

        @Override
        public void onResumed(TopicPartition partition, long checkpointOffset, long committedOffset, Map<String, List<String>> consolidated) {
            assigned = System.nanoTime();
        }

        @Override
        public void onTaskEnd(String model, ModelStream.TaskEnd end) {
            ends.add(end);
            if (throughputDone.getCount() > 0) {
                lastEnd = System.nanoTime();
            }
            throughputDone.countDown();
        }
    }
}
