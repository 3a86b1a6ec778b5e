package org.symcurv.apps.stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The streaming service: consumes task records from a Kafka topic, learns each model's tasks one after another with EWC
 * ({@link ModelStream}, the continual-learning module's learner), publishes events, sends malformed records to a
 * dead-letter topic, and checkpoints.
 *
 * <p><b>Delivery.</b> At least once, with the duplicates made harmless: for each partition, the service (1) waits until
 * every event and dead letter sent so far is acknowledged, (2) writes the partition's checkpoint (models and the offset of
 * the next record) atomically, (3) commits that offset to the consumer group. A crash at any point leaves a checkpoint
 * whose offset is at or beyond the committed one, and a restart continues from the checkpoint: records after it are read
 * again, records before it are never learned twice. Within a task a repeated example id is ignored, so records sent twice
 * by a producer are learned once; a consolidated task is in every later checkpoint, so it is never lost. A task's end
 * triggers a checkpoint and commit at once. Events and dead letters are at least once too (a record re-read after a crash
 * may repeat its dead letter; an event carries the offset it came from).
 *
 * <p><b>Failures.</b> A broker that goes away is waited for (the clients reconnect; a commit that times out is retried
 * at the next checkpoint). An event or dead letter that cannot be delivered stops the service with an
 * {@link IOException} before anything after the last checkpoint is committed. Library code: it reports through
 * {@link Listener} and never prints.
 */
public final class StreamService {
    /**
     * @param stopWhenIdle     stop after this long without a record (null: run until {@link #stop})
     * @param stopAfterTasks   stop after this many task ends in this run (0: no limit)
     */
    public record Settings(String inputTopic, String eventsTopic, String deadLetterTopic, String predictionsTopic, String groupId, String instanceId,
                           Path checkpointDir, int featureCount, int numClasses, int batchSize, int fisherExamples, long seed,
                           Duration checkpointInterval, Duration reportInterval, Duration stopWhenIdle, int stopAfterTasks,
                           String bootstrap, KafkaSettings kafka) {
        public Settings {
            Objects.requireNonNull(inputTopic, "inputTopic");
            Objects.requireNonNull(eventsTopic, "eventsTopic");
            Objects.requireNonNull(deadLetterTopic, "deadLetterTopic");
            Objects.requireNonNull(predictionsTopic, "predictionsTopic");
            Objects.requireNonNull(groupId, "groupId");
            Objects.requireNonNull(checkpointDir, "checkpointDir");
            Objects.requireNonNull(kafka, "kafka");
            if (batchSize < 1 || fisherExamples < 1) {
                throw new IllegalArgumentException("the batch size and the Fisher sample must be at least 1, got " + batchSize + " and "
                        + fisherExamples);
            }
        }
    }

    /** A progress report. */
    public record Status(long trainedExamples, long deadLetters, long duplicates, double examplesPerSecond, long lagMs,
                         int partitions, int models, long tasksConsolidated) {
    }

    /** What the service reports while it runs (called on its thread). */
    public interface Listener {
        default void onStatus(Status status) {
        }

        default void onTaskEnd(String model, ModelStream.TaskEnd end) {
        }

        default void onDeadLetter(String source, String reason) {
        }

        /**
         * A predict record was answered (or answered with an error).
         *
         * @param latencyMs now − the predict record's timestamp
         */
        default void onPrediction(String model, boolean answered, long latencyMs) {
        }

        default void onResumed(TopicPartition partition, long checkpointOffset, long committedOffset, Map<String, List<String>> consolidated) {
        }

        default void onWarning(String message) {
        }
    }

    /** The totals of a run. */
    /**
     * @param pollSeconds       waiting in {@code poll} (fetching, or nothing to read)
     * @param decodeSeconds     decoding and checking records
     * @param learnSeconds      training steps, consolidations and evaluations
     * @param checkpointSeconds flushing the producer, writing checkpoints and committing
     */
    public record Summary(long trainedExamples, long deadLetters, long duplicates, long tasksConsolidated, double seconds,
                          double pollSeconds, double decodeSeconds, double learnSeconds, double checkpointSeconds) {
    }

    private static final class PartitionState {
        final TopicPartition partition;
        final Map<String, ModelStream> models = new LinkedHashMap<>();
        long nextOffset;
        long checkpointedOffset;
        long committedOffset;

        PartitionState(TopicPartition partition, long nextOffset) {
            this.partition = partition;
            this.nextOffset = nextOffset;
            this.checkpointedOffset = nextOffset;
            this.committedOffset = -1;
        }
    }

    private final Settings settings;
    private final ModelStream.LearnerSource learners;
    private final Listener listener;
    private final RecordCodec codec;
    private final String instance;
    private final Map<TopicPartition, PartitionState> owned = new HashMap<>();
    private final AtomicReference<Exception> sendFailure = new AtomicReference<>();
    private final ServiceMetrics metrics = new ServiceMetrics();
    private volatile boolean stopping;
    private KafkaConsumer<byte[], byte[]> consumer;
    private KafkaProducer<byte[], byte[]> producer;

    private long trained;
    private long deadLetters;
    private long duplicates;
    private long tasksEnded;
    private long lastRecordTimestamp = -1;

    public StreamService(Settings settings, ModelStream.LearnerSource learners, Listener listener) {
        this.settings = settings;
        this.learners = learners;
        this.listener = listener;
        this.codec = new RecordCodec(settings.featureCount(), settings.numClasses());
        this.instance = settings.instanceId() != null ? settings.instanceId() : processName();
    }

    /** The service's metrics (thread-safe to read while it runs; {@link MetricsEndpoint} serves them). */
    public ServiceMetrics metrics() {
        return metrics;
    }

    /** This instance's name in its events: its {@code --instance-id}, else {@code host/pid}. */
    public String instance() {
        return instance;
    }

    private static String processName() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "localhost";
        }
        return host + "/" + ProcessHandle.current().pid();
    }

    /** Asks a running service to stop: it checkpoints, commits and returns from {@link #run}. Thread-safe. */
    public void stop() {
        stopping = true;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /**
     * Runs until {@link #stop}, idle for {@code stopWhenIdle}, or {@code stopAfterTasks} task ends.
     *
     * @throws IOException when a checkpoint cannot be written or read, or an event or dead letter cannot be delivered
     */
    public Summary run() throws IOException {
        Files.createDirectories(settings.checkpointDir());
        long started = System.nanoTime();
        createOutputTopics();
        consumer = new KafkaConsumer<>(settings.kafka().forClient("consumer", settings.bootstrap(), consumerDefaults()));
        producer = new KafkaProducer<>(settings.kafka().forClient("producer", settings.bootstrap(), producerDefaults()));
        try {
            consumer.subscribe(List.of(settings.inputTopic()), new Rebalance());
            long lastCheckpoint = System.nanoTime();
            long lastReport = System.nanoTime();
            long lastRecordSeen = System.nanoTime();
            long trainedAtReport = 0;
            while (!stopping) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    long t = System.nanoTime();
                    records = consumer.poll(Duration.ofMillis(200));
                    pollNanos += System.nanoTime() - t;
                } catch (WakeupException e) {
                    break;
                }
                RuntimeException pending = rebalanceFailure;
                if (pending != null) {
                    rebalanceFailure = null;
                    throw pending;
                }
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    PartitionState ps = owned.get(new TopicPartition(r.topic(), r.partition()));
                    if (ps == null || r.offset() < ps.nextOffset) {
                        continue;
                    }
                    process(ps, r);
                    lastRecordSeen = System.nanoTime();
                }
                for (TopicPartition tp : owned.keySet()) {
                    java.util.OptionalLong lag = consumer.currentLag(tp);
                    if (lag.isPresent()) {
                        metrics.lag(tp, lag.getAsLong());
                    }
                }
                long now = System.nanoTime();
                if (now - lastCheckpoint >= settings.checkpointInterval().toNanos()) {
                    checkpointAll();
                    lastCheckpoint = now;
                }
                if (now - lastReport >= settings.reportInterval().toNanos()) {
                    double seconds = (now - lastReport) / 1e9;
                    long delta = trained - trainedAtReport;
                    long lag = lastRecordTimestamp < 0 ? 0 : System.currentTimeMillis() - lastRecordTimestamp;
                    if (delta > 0) {
                        publish(null, StreamEvents.throughput(delta, seconds, trained, lag, deadLetters));
                    }
                    metrics.examplesPerSecond(delta / seconds);
                    listener.onStatus(new Status(trained, deadLetters, duplicates, delta / seconds, lag, owned.size(),
                            owned.values().stream().mapToInt(p -> p.models.size()).sum(), tasksEnded));
                    lastReport = now;
                    trainedAtReport = trained;
                }
                if (settings.stopAfterTasks() > 0 && tasksEnded >= settings.stopAfterTasks()) {
                    break;
                }
                if (settings.stopWhenIdle() != null && now - lastRecordSeen >= settings.stopWhenIdle().toNanos()) {
                    break;
                }
            }
            checkpointAll();
        } finally {
            closing = true;
            // the consumer first: closing it revokes the partitions (whose callback then leaves the checkpoints alone)
            try {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
            } finally {
                consumer = null;
                producer.close(Duration.ofSeconds(10));
            }
        }
        return new Summary(trained, deadLetters, duplicates, tasksEnded, (System.nanoTime() - started) / 1e9, pollNanos / 1e9,
                decodeNanos / 1e9, learnNanos / 1e9, checkpointNanos / 1e9);
    }

    private volatile RuntimeException rebalanceFailure;
    /** Set when the run ends, normally or not: the revocation on close then checkpoints nothing. */
    private boolean closing;

    private void process(PartitionState ps, ConsumerRecord<byte[], byte[]> r) throws IOException {
        ps.nextOffset = r.offset() + 1;
        lastRecordTimestamp = r.timestamp();
        StreamRecord record;
        long t = System.nanoTime();
        try {
            record = codec.decode(r.value());
        } catch (MalformedRecordException e) {
            deadLetter(r, e.getMessage());
            return;
        } finally {
            long now = System.nanoTime();
            decodeNanos += now - t;
            t = now;
        }
        try {
            learn(ps, r, record);
        } finally {
            learnNanos += System.nanoTime() - t;
        }
    }

    private void learn(PartitionState ps, ConsumerRecord<byte[], byte[]> r, StreamRecord record) throws IOException {
        try {
            if (record instanceof StreamRecord.Example e) {
                ModelStream m = ps.models.get(e.model());
                if (m == null) {
                    m = new ModelStream(e.model(), learners.create(e.model()), settings.batchSize(), settings.fisherExamples(),
                            settings.seed(), settings.featureCount(), settings.numClasses());
                    ps.models.put(e.model(), m);
                }
                if (m.accept(e) == ModelStream.Outcome.DUPLICATE) {
                    duplicates++;
                    metrics.duplicate();
                }
                trained += m.lastTrained();
                metrics.trained(m.lastTrained());
            } else if (record instanceof StreamRecord.EndTask end) {
                ModelStream m = ps.models.get(end.model());
                if (m == null) {
                    throw new MalformedRecordException("unknown task '" + end.task() + "' in an end-task record: model '" + end.model()
                            + "' has no task in progress in partition " + r.partition());
                }
                ModelStream.TaskEnd result = m.end(end);
                trained += m.lastTrained();
                metrics.trained(m.lastTrained());
                if (result != null) {
                    tasksEnded++;
                    metrics.consolidated(end.model(), result.consolidation().seconds());
                    publish(end.model(), StreamEvents.consolidated(end.model(), result, r.partition(), r.offset(), r.timestamp()));
                    publish(end.model(), StreamEvents.accuracy(end.model(), result, r.timestamp()));
                    listener.onTaskEnd(end.model(), result);
                    long t = System.nanoTime();
                    checkpoint(ps);
                    commit(List.of(ps));
                    long spent = System.nanoTime() - t; // checkpointing, not learning
                    learnNanos -= spent;
                    checkpointNanos += spent;
                }
            } else if (record instanceof StreamRecord.Predict predict) {
                answer(ps, r, predict);
            }
        } catch (MalformedRecordException e) {
            deadLetter(r, e.getMessage());
        }
    }

    /**
     * Answers a predict record on the predictions topic: the probabilities and version of the model as it stands after
     * every earlier record of the partition, or an error when the partition has no such model or it has not trained yet.
     */
    private void answer(PartitionState ps, ConsumerRecord<byte[], byte[]> r, StreamRecord.Predict predict) {
        ModelStream m = ps.models.get(predict.model());
        ObjectNode answer;
        boolean answered = m != null && m.stepsTrained() > 0;
        if (answered) {
            answer = StreamEvents.prediction(predict, m.predict(predict.features()), r.timestamp());
        } else {
            answer = StreamEvents.predictionError(predict.model(), predict.request(), "no model '" + predict.model() + "' has trained yet in "
                    + r.topic() + "-" + r.partition() + (m == null ? "" : " (its first minibatch is still being filled)")
                    + "; send its examples first (keyed by the model id, so they land in the same partition)", r.timestamp());
        }
        answer.put("instance", instance);
        byte[] key = predict.model().getBytes(StandardCharsets.UTF_8);
        send(new ProducerRecord<>(settings.predictionsTopic(), key, answer.toString().getBytes(StandardCharsets.UTF_8)));
        long latencyMs = Math.max(0, System.currentTimeMillis() - r.timestamp());
        metrics.prediction(answered, latencyMs);
        listener.onPrediction(predict.model(), answered, latencyMs);
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> r, String reason) {
        deadLetters++;
        metrics.deadLetter(reason);
        RecordHeaders headers = new RecordHeaders();
        headers.add("symcurv.reason", reason.getBytes(StandardCharsets.UTF_8));
        String source = r.topic() + "-" + r.partition() + "@" + r.offset();
        headers.add("symcurv.source", source.getBytes(StandardCharsets.UTF_8));
        send(new ProducerRecord<>(settings.deadLetterTopic(), null, r.key(), r.value(), headers));
        listener.onDeadLetter(source, reason);
    }

    private void publish(String model, ObjectNode event) {
        event.put("instance", instance);
        byte[] value = event.toString().getBytes(StandardCharsets.UTF_8);
        send(new ProducerRecord<>(settings.eventsTopic(), model == null ? null : model.getBytes(StandardCharsets.UTF_8), value));
    }

    private void send(ProducerRecord<byte[], byte[]> record) {
        producer.send(record, (metadata, failure) -> {
            if (failure != null) {
                sendFailure.compareAndSet(null, failure);
            }
        });
    }

    /** Waits for every event and dead letter sent so far; fails when one was not delivered. */
    private void flushProducer() throws IOException {
        producer.flush();
        Exception failure = sendFailure.get();
        if (failure != null) {
            throw new IOException("could not deliver an event or dead letter to Kafka (" + failure.getMessage()
                    + "); nothing after the last checkpoint was committed, so a restart resumes without loss", failure);
        }
    }

    private long pollNanos;
    private long decodeNanos;
    private long learnNanos;
    private long checkpointNanos;

    private void checkpointAll() throws IOException {
        long t = System.nanoTime();
        try {
            checkpointAllTimed();
        } finally {
            checkpointNanos += System.nanoTime() - t;
        }
    }

    private void checkpointAllTimed() throws IOException {
        List<PartitionState> written = new ArrayList<>();
        for (PartitionState ps : owned.values()) {
            if (ps.nextOffset != ps.checkpointedOffset || ps.committedOffset != ps.nextOffset) {
                checkpoint(ps);
                written.add(ps);
            }
        }
        commit(written);
    }

    private void checkpoint(PartitionState ps) throws IOException {
        if (ps.nextOffset < 0 || ps.nextOffset == ps.checkpointedOffset && Files.exists(checkpointFile(ps))) {
            return; // nothing read yet, or nothing new
        }
        flushProducer();
        new PartitionCheckpoint(ps.partition.topic(), ps.partition.partition(), ps.nextOffset, List.copyOf(ps.models.values()))
                .write(settings.checkpointDir());
        ps.checkpointedOffset = ps.nextOffset;
        metrics.checkpointWritten();
    }

    private Path checkpointFile(PartitionState ps) {
        return PartitionCheckpoint.file(settings.checkpointDir(), ps.partition.topic(), ps.partition.partition());
    }

    /** Commits the checkpointed offsets; a failure is reported and retried at the next checkpoint. */
    private void commit(Collection<PartitionState> states) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (PartitionState ps : states) {
            if (ps.checkpointedOffset >= 0 && ps.committedOffset != ps.checkpointedOffset) {
                offsets.put(ps.partition, new OffsetAndMetadata(ps.checkpointedOffset));
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets, Duration.ofSeconds(15));
            for (PartitionState ps : states) {
                ps.committedOffset = ps.checkpointedOffset;
            }
        } catch (WakeupException e) {
            stopping = true;
            commit(states);
        } catch (KafkaException e) {
            listener.onWarning("committing offsets failed (" + e.getMessage() + "); the checkpoints are on disk and the commit is retried");
        }
    }

    private void createOutputTopics() {
        try (Admin admin = Admin.create(settings.kafka().forClient("admin", settings.bootstrap(), Map.of("request.timeout.ms", "15000",
                "default.api.timeout.ms", "30000")))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (String t : List.of(settings.eventsTopic(), settings.deadLetterTopic(), settings.predictionsTopic())) {
                if (!existing.contains(t)) {
                    missing.add(new NewTopic(t, java.util.Optional.of(1), java.util.Optional.empty()));
                }
            }
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
            }
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                listener.onWarning("could not create the events, dead-letter and predictions topics (" + e.getCause().getMessage()
                        + "); the broker may create them on first use");
            }
        } catch (Exception e) {
            listener.onWarning("could not check the events, dead-letter and predictions topics (" + e.getMessage() + ")");
        }
    }

    private Map<String, String> consumerDefaults() {
        Map<String, String> d = new HashMap<>();
        d.put("group.id", settings.groupId());
        if (settings.instanceId() != null) {
            d.put("group.instance.id", settings.instanceId());
        }
        d.put("enable.auto.commit", "false");
        d.put("auto.offset.reset", "earliest");
        d.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        d.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        d.put("max.poll.records", "1000");
        d.put("session.timeout.ms", "10000");
        d.put("heartbeat.interval.ms", "2000");
        d.put("max.poll.interval.ms", "600000");
        d.put("reconnect.backoff.max.ms", "2000");
        return d;
    }

    private static Map<String, String> producerDefaults() {
        Map<String, String> d = new HashMap<>();
        d.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        d.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        d.put("acks", "all");
        d.put("enable.idempotence", "true");
        d.put("linger.ms", "5");
        // wait for a broker that went away rather than drop an event or a dead letter
        d.put("delivery.timeout.ms", Integer.toString(Integer.MAX_VALUE));
        d.put("reconnect.backoff.max.ms", "2000");
        return d;
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            List<PartitionState> leaving = new ArrayList<>();
            if (closing) {
                // closing: after a normal run everything is checkpointed already; after a failure the last good
                // checkpoint must stay as it is
                partitions.forEach(owned::remove);
                partitions.forEach(metrics::partitionGone);
                return;
            }
            try {
                for (TopicPartition tp : partitions) {
                    PartitionState ps = owned.get(tp);
                    if (ps != null) {
                        checkpoint(ps);
                        leaving.add(ps);
                    }
                }
                commit(leaving);
            } catch (IOException e) {
                rebalanceFailure = new java.io.UncheckedIOException(e);
            } finally {
                partitions.forEach(owned::remove);
                partitions.forEach(metrics::partitionGone);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // another instance may own them now: drop what was not checkpointed; the checkpoint is reloaded if they return
            partitions.forEach(owned::remove);
            partitions.forEach(metrics::partitionGone);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            Map<TopicPartition, OffsetAndMetadata> committed = Map.of();
            try {
                committed = consumer.committed(Set.copyOf(partitions), Duration.ofSeconds(30));
            } catch (KafkaException e) {
                listener.onWarning("could not read the committed offsets (" + e.getMessage() + "); resuming from the checkpoints");
            }
            for (TopicPartition tp : partitions) {
                try {
                    PartitionCheckpoint ckpt = PartitionCheckpoint.read(settings.checkpointDir(), tp.topic(), tp.partition(), learners,
                            settings.batchSize(), settings.fisherExamples(), settings.seed(), settings.featureCount(), settings.numClasses());
                    OffsetAndMetadata c = committed == null ? null : committed.get(tp);
                    long committedOffset = c == null ? -1 : c.offset();
                    PartitionState ps;
                    if (ckpt != null) {
                        ps = new PartitionState(tp, ckpt.nextOffset());
                        ckpt.models().forEach(m -> ps.models.put(m.model(), m));
                        consumer.seek(tp, ckpt.nextOffset());
                    } else {
                        ps = new PartitionState(tp, 0);
                        ps.checkpointedOffset = -1;
                        if (committedOffset > 0) {
                            listener.onWarning(tp + " has committed offset " + committedOffset + " but no checkpoint in "
                                    + settings.checkpointDir() + "; relearning it from its first offset so nothing is lost");
                        }
                        consumer.seekToBeginning(List.of(tp));
                        ps.nextOffset = -1;
                    }
                    ps.committedOffset = committedOffset;
                    owned.put(tp, ps);
                    Map<String, List<String>> tasks = new LinkedHashMap<>();
                    ps.models.forEach((name, m) -> tasks.put(name, List.copyOf(m.consolidatedTasks())));
                    publish(null, StreamEvents.resumed(tp.topic(), tp.partition(), ckpt == null ? -1 : ckpt.nextOffset(), committedOffset, tasks));
                    listener.onResumed(tp, ckpt == null ? -1 : ckpt.nextOffset(), committedOffset, tasks);
                } catch (IOException e) {
                    rebalanceFailure = new java.io.UncheckedIOException(e);
                }
            }
        }
    }
}
