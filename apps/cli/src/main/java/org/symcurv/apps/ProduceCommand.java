package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import me.tongfei.progressbar.ProgressBar;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.apps.stream.EmbeddedBroker;
import org.symcurv.apps.stream.KafkaSettings;
import org.symcurv.apps.stream.RecordCodec;
import org.symcurv.apps.stream.StreamRecord;
import org.symcurv.apps.stream.TaskStreamRecords;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv produce}: writes Fashion-MNIST tasks (permuted or split) into a Kafka topic as task records, keyed by
 * the model id, for {@code symcurv stream} to learn. Without {@code --bootstrap} it uses the embedded broker, starting
 * it for the duration of the command when it is not running (the records stay in its data directory).
 */
@Command(name = "produce",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Write Fashion-MNIST tasks (permuted or split) into a Kafka topic as task records.")
public final class ProduceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafkaOptions = new KafkaOptions();

    @Mixin
    SharedOptions.Progress progress;

    @Option(names = "--stream", paramLabel = "KIND", required = true, description = "permuted or split.")
    String stream;

    @Option(names = "--tasks", paramLabel = "N", defaultValue = "3", description = "Number of tasks (split: at most 5; default: ${DEFAULT-VALUE}).")
    int tasks;

    @Option(names = "--first-task", paramLabel = "K", defaultValue = "0", description = "Index of the first task to write (default: ${DEFAULT-VALUE}).")
    int firstTask;

    @Option(names = "--examples", paramLabel = "N", defaultValue = "10000", description = "Training examples per task (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--holdout", paramLabel = "N", defaultValue = "1000", description = "Held-back examples per task, from the test set (default: ${DEFAULT-VALUE}).")
    int holdout;

    @Option(names = "--model", paramLabel = "ID", defaultValue = "fmnist", description = "Model id, the record key (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--encoding", paramLabel = "FORMAT", defaultValue = "json", description = "json or binary (default: ${DEFAULT-VALUE}).")
    String encoding;

    @Option(names = "--topic", paramLabel = "NAME", defaultValue = "symcurv-tasks", description = "Topic (default: ${DEFAULT-VALUE}).")
    String topic;

    @Option(names = "--partitions", paramLabel = "N", defaultValue = "1",
            description = "Partitions of the topic when this command creates it (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST directory (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seeds the permutations and the samples (default: ${DEFAULT-VALUE}).")
    long seed;

    boolean fromConfig;

    @Override
    public Integer call() throws IOException, InterruptedException {
        Properties file = kafkaOptions.fileProperties();
        if (!fromConfig && ConfigFileOptions.setsOptions(file)) {
            ProduceCommand merged = ConfigFileOptions.reparse(spec, file, kafkaOptions.config.toString(), ProduceCommand::new);
            merged.fromConfig = true;
            return merged.call();
        }
        TaskStreamRecords.Kind kind = switch (stream.toLowerCase(Locale.ROOT)) {
            case "permuted" -> TaskStreamRecords.Kind.PERMUTED;
            case "split" -> TaskStreamRecords.Kind.SPLIT;
            default -> throw new ParameterException(spec.commandLine(), "--stream must be permuted or split, got '" + stream + "'");
        };
        boolean binary = switch (encoding.toLowerCase(Locale.ROOT)) {
            case "json" -> false;
            case "binary" -> true;
            default -> throw new ParameterException(spec.commandLine(), "--encoding must be json or binary, got '" + encoding + "'");
        };
        if (tasks < 1 || firstTask < 0 || examples < 1 || holdout < 0 || partitions < 1 || model.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--tasks, --examples and --partitions must be at least 1, --first-task and --holdout at least 0, --model non-empty");
        }
        if (kind == TaskStreamRecords.Kind.SPLIT && firstTask + tasks > 5) {
            throw new ParameterException(spec.commandLine(), "split Fashion-MNIST has 5 tasks (classes 0-1, 2-3, ..., 8-9); --first-task + --tasks is "
                    + (firstTask + tasks));
        }
        PrintWriter out = spec.commandLine().getOut();
        Path dir = FashionMnist.locate(dataDir);
        ImageDataSet train = FashionMnist.loadTrain(dir);
        ImageDataSet test = FashionMnist.loadTest(dir);
        TaskStreamRecords source = new TaskStreamRecords(kind, train, test, examples, holdout, seed);

        KafkaSettings kafka = kafkaOptions.settings();
        String bootstrap = kafkaOptions.explicitBootstrap(kafka);
        EmbeddedBroker broker = null;
        if (bootstrap == null) {
            broker = kafkaOptions.startEmbeddedIfNeeded(out);
            bootstrap = broker != null ? broker.bootstrap() : kafkaOptions.embeddedBootstrap();
        }
        try {
            createTopic(kafka, bootstrap, out);
            Map<String, String> defaults = new HashMap<>();
            defaults.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
            defaults.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
            defaults.put("acks", "all");
            defaults.put("enable.idempotence", "true");
            defaults.put("linger.ms", "20");
            defaults.put("batch.size", "1048576");
            defaults.put("max.request.size", "10485760");
            AtomicReference<Exception> failure = new AtomicReference<>();
            byte[] key = model.getBytes(StandardCharsets.UTF_8);
            long started = System.nanoTime();
            long sent = 0;
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka.forClient("producer", bootstrap, defaults));
                 ProgressBar bar = progress.bar("tasks", tasks, " tasks")) {
                for (int k = firstTask; k < firstTask + tasks; k++) {
                    List<StreamRecord> records = source.task(model, k);
                    for (StreamRecord r : records) {
                        byte[] value = binary ? RecordCodec.encodeBinary(r) : RecordCodec.encodeJson(r);
                        producer.send(new ProducerRecord<>(topic, key, value), (m, e) -> {
                            if (e != null) {
                                failure.compareAndSet(null, e);
                            }
                        });
                        if (failure.get() != null) {
                            break;
                        }
                    }
                    producer.flush();
                    if (failure.get() != null) {
                        throw new SymcurvCli.CommandFailure("Kafka did not accept a record of " + TaskStreamRecords.taskName(k) + ": "
                                + failure.get().getMessage() + "; the tasks before it were written whole");
                    }
                    sent += records.size();
                    long held = records.stream().filter(r -> r instanceof StreamRecord.Example e && e.split() == StreamRecord.Split.HOLDOUT).count();
                    out.printf(Locale.ROOT, "%s: %,d training + %,d held-back examples and its end-task record written to %s%n",
                            TaskStreamRecords.taskName(k), records.size() - 1 - held, held, topic);
                    out.flush();
                    if (bar != null) {
                        bar.step();
                    }
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            out.printf(Locale.ROOT, "%,d records (%s %s tasks, model %s, %s) in %.1f s to %s on %s%n", sent, tasks, stream, model, encoding,
                    seconds, topic, bootstrap);
            out.flush();
            return 0;
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    private void createTopic(KafkaSettings kafka, String bootstrap, PrintWriter out) throws InterruptedException {
        try (Admin admin = Admin.create(kafka.forClient("admin", bootstrap, Map.of("request.timeout.ms", "15000", "default.api.timeout.ms", "30000")))) {
            if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
                return;
            }
            admin.createTopics(List.of(new NewTopic(topic, java.util.Optional.of(partitions), java.util.Optional.empty()))).all()
                    .get(30, TimeUnit.SECONDS);
            out.printf(Locale.ROOT, "created topic %s with %d partition%s%n", topic, partitions, partitions == 1 ? "" : "s");
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new SymcurvCli.CommandFailure("cannot create topic " + topic + " on " + bootstrap + ": " + e.getCause().getMessage()
                        + "; check --bootstrap and the Kafka settings (--config, --kafka)", e);
            }
        } catch (java.util.concurrent.TimeoutException e) {
            throw new SymcurvCli.CommandFailure("no Kafka broker answered on " + bootstrap + " within 30 s; check --bootstrap and the "
                    + "Kafka settings (--config, --kafka)", e);
        }
    }
}
