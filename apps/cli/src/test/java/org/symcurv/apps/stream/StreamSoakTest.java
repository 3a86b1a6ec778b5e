package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.stream.StreamTesting.committed;
import static org.symcurv.apps.stream.StreamTesting.events;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;

/**
 * Soak (tagged {@code soak}: a few minutes, run by {@code .ci/run} after {@code mvn verify}): while a producer keeps
 * sending three permuted Fashion-MNIST tasks to a real embedded broker (loopback), the service is killed with SIGKILL
 * {@value #KILLS} times (each time after it has resumed and committed progress, plus a seeded random delay, so the kills
 * fall mid-task, mid-minibatch or around a consolidation) and restarted, and the broker itself is killed and restarted
 * once. Afterwards: every task is consolidated once in the final model, each task's consolidation counts exactly its
 * distinct training examples (no id learned twice), and the final accuracy matrix is within 1 point of an uninterrupted
 * run over the same records with the same seed. Reads Fashion-MNIST (Debian package dataset-fashion-mnist).
 */
@Tag("soak")
class StreamSoakTest {
    private static final int KILLS = 5;
    private static final int TASKS = 3;
    private static final int TRAIN_PER_TASK = 1200;
    private static final int HOLDOUT_PER_TASK = 200;
    /** Records per second the producer sends: the whole stream takes about a minute to arrive. */
    private static final int RATE = 60;
    /** The bound on the interrupted run's accuracy against the uninterrupted one. */
    private static final double ACCURACY_POINT = 0.01;

    @TempDir
    Path dir;

    @Test
    void killedFiveTimesWithTheBrokerRestartedOnceItLearnsWhatAnUninterruptedRunLearns() throws Exception {
        Path data = FashionMnist.locate(null);
        ImageDataSet train = FashionMnist.loadTrain(data);
        ImageDataSet test = FashionMnist.loadTest(data);
        TaskStreamRecords source = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, TRAIN_PER_TASK, HOLDOUT_PER_TASK, 19);
        List<byte[]> values = new ArrayList<>();
        for (int k = 0; k < TASKS; k++) {
            source.task("m", k).forEach(r -> values.add(RecordCodec.encodeBinary(r)));
        }
        EmbeddedBroker broker = EmbeddedBroker.start(dir.resolve("broker"), 0, Duration.ofSeconds(120));
        Path log = dir.resolve("soak-service.log");
        try {
            StreamTesting.createTopic(broker.bootstrap(), "soak");
            CompletableFuture<Void> producing = CompletableFuture.runAsync(() -> produce(broker.bootstrap(), values));
            String[] soak = {"--topic", "soak", "--events-topic", "soak-events", "--dead-letter-topic", "soak-dead", "--group", "soak",
                    "--instance-id", "soak-1", "--checkpoint-dir", dir.resolve("ckpt-soak").toString()};
            Random random = new Random(23);
            int kills = 0;
            boolean brokerRestarted = false;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(20);
            while (kills < KILLS) {
                long before = Math.max(0, committed(broker.bootstrap(), "soak", "soak"));
                Process service = StreamTesting.startService(broker.bootstrap(), log, soak);
                try {
                    // progress in this life: an offset beyond the one at its start is committed (or the stream is all in)
                    while (committed(broker.bootstrap(), "soak", "soak") <= before && before < values.size()) {
                        assertTrue(service.isAlive(), () -> "the service exited:\n" + read(log));
                        assertTrue(System.nanoTime() < deadline, () -> "no progress within the soak's 20 minutes:\n" + read(log));
                        Thread.sleep(200);
                    }
                    if (kills == 2 && !brokerRestarted) {
                        broker.kill(); // the broker goes away under the running service and the producer
                        Thread.sleep(3000);
                        broker.restart(Duration.ofSeconds(120));
                        brokerRestarted = true;
                        Thread.sleep(2000);
                    }
                    Thread.sleep(random.nextInt(3000));
                } finally {
                    service.destroyForcibly(); // SIGKILL
                    service.waitFor(30, TimeUnit.SECONDS);
                }
                kills++;
                Files.writeString(log, "---- killed (" + kills + ")\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
            }
            producing.get(10, TimeUnit.MINUTES);
            Process last = StreamTesting.startService(broker.bootstrap(), log, soak, "--stop-when-idle", "10");
            assertTrue(last.waitFor(10, TimeUnit.MINUTES), () -> "the last service did not finish:\n" + read(log));
            assertEquals(0, last.exitValue(), () -> read(log));
            assertEquals(values.size(), committed(broker.bootstrap(), "soak", "soak"), "everything was learned and committed");

            String[] reference = {"--topic", "soak", "--events-topic", "reference-events", "--dead-letter-topic", "reference-dead", "--group",
                    "reference", "--checkpoint-dir", dir.resolve("ckpt-reference").toString(), "--stop-after-tasks", Integer.toString(TASKS)};
            Path referenceLog = dir.resolve("reference-service.log");
            Process uninterrupted = StreamTesting.startService(broker.bootstrap(), referenceLog, reference);
            assertTrue(uninterrupted.waitFor(10, TimeUnit.MINUTES), () -> "the uninterrupted run did not finish:\n" + read(referenceLog));
            assertEquals(0, uninterrupted.exitValue(), () -> read(referenceLog));

            // a task may be consolidated again after a kill that came before its checkpoint (events are at least once);
            // every consolidation of a task learned exactly its distinct training examples
            Map<String, List<JsonNode>> byTask = new LinkedHashMap<>();
            for (JsonNode c : events(broker.bootstrap(), "soak-events", "task-consolidated")) {
                byTask.computeIfAbsent(c.get("task").asText(), t -> new ArrayList<>()).add(c);
            }
            assertEquals(List.of("task-0", "task-1", "task-2"), List.copyOf(byTask.keySet()), read(log));
            for (Map.Entry<String, List<JsonNode>> e : byTask.entrySet()) {
                for (JsonNode c : e.getValue()) {
                    assertEquals(TRAIN_PER_TASK, c.get("trainedExamples").asLong(), e.getKey() + ": no example learned twice or lost: " + c);
                }
            }
            Map<String, JsonNode> soakRows = lastRowByTask(events(broker.bootstrap(), "soak-events", "accuracy"));
            Map<String, JsonNode> referenceRows = lastRowByTask(events(broker.bootstrap(), "reference-events", "accuracy"));
            assertEquals(referenceRows.keySet(), soakRows.keySet());
            JsonNode finalRow = soakRows.get("task-2");
            assertEquals(List.of("task-0", "task-1", "task-2"), strings(finalRow.get("tasks")), "each task consolidated once in the final model");
            for (String after : referenceRows.keySet()) {
                JsonNode a = soakRows.get(after).get("accuracy");
                JsonNode b = referenceRows.get(after).get("accuracy");
                assertEquals(b.size(), a.size());
                for (int j = 0; j < a.size(); j++) {
                    assertEquals(b.get(j).asDouble(), a.get(j).asDouble(), ACCURACY_POINT, "accuracy on task " + j + " after " + after
                            + ": soak " + a + ", uninterrupted " + b);
                }
            }
            assertTrue(finalRow.get("accuracy").get(0).asDouble() > 0.5, "the model learned: " + finalRow);
            List<JsonNode> resumed = events(broker.bootstrap(), "soak-events", "resumed");
            assertTrue(resumed.size() >= KILLS + 1, "every life resumed from a checkpoint: " + resumed.size());
        } finally {
            broker.close();
        }
    }

    /** Sends the values at {@link #RATE} records/s to partition 0, keyed by the model; retries through a broker restart. */
    private static void produce(String bootstrap, List<byte[]> values) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("acks", "all");
        p.put("enable.idempotence", "true"); // retries through the broker restart keep the order and add no copies
        p.put("linger.ms", "5");
        p.put("delivery.timeout.ms", "300000");
        p.put("reconnect.backoff.max.ms", "1000");
        byte[] key = "m".getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < values.size(); i++) {
                producer.send(new ProducerRecord<>("soak", 0, key, values.get(i)));
                long wait = start + (long) ((i + 1) * 1e9 / RATE) - System.nanoTime();
                if (wait > 1_000_000) {
                    Thread.sleep(wait / 1_000_000);
                }
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, JsonNode> lastRowByTask(List<JsonNode> rows) {
        Map<String, JsonNode> last = new LinkedHashMap<>();
        rows.forEach(r -> last.put(r.get("afterTask").asText(), r));
        return last;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (java.io.IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
