package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.stream.StreamTesting.committed;
import static org.symcurv.apps.stream.StreamTesting.events;
import static org.symcurv.apps.stream.StreamTesting.header;
import static org.symcurv.apps.stream.StreamTesting.json;
import static org.symcurv.apps.stream.StreamTesting.readAll;
import static org.symcurv.apps.stream.StreamTesting.send;
import static org.symcurv.apps.CliRun.symcurv;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;

/**
 * The streaming service against a real single-node KRaft broker (Kafka 4.3.1, a child JVM on loopback): learning a
 * permuted stream, dead letters, and a service killed with SIGKILL mid-task and restarted. Reads the full Fashion-MNIST
 * (Debian package dataset-fashion-mnist).
 */
class StreamServiceTest {
    /** What a 784-100-10 MLP reaches on every one of three permuted tasks of 5,000 examples with EWC (finetuning drops task 0 to ~0.65). */
    private static final double MINIMUM_ACCURACY = 0.70;
    /** A float32 softmax over 10 classes sums to 1 within ten float32 roundings (2^-24 each) of values up to 1; 1e-5 leaves room. */
    private static final double SOFTMAX_SUM_FLOAT32 = 1e-5;

    @TempDir
    static Path dir;
    static EmbeddedBroker broker;
    static ImageDataSet train;
    static ImageDataSet test;

    @BeforeAll
    static void startBroker() throws Exception {
        Path data = org.symcurv.core.testing.InstalledData.fashionMnist(); // 3 tasks of 5,000 + 500 examples: more than the committed subset
        broker = EmbeddedBroker.start(dir.resolve("broker"), 0, Duration.ofSeconds(120));
        train = FashionMnist.loadTrain(data);
        test = FashionMnist.loadTest(data);
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void permutedStreamOfThreeTasksEndsAboveSeventyPercentOnEveryTask() throws Exception {
        org.symcurv.apps.CliRun produced = symcurv("produce", "--bootstrap", broker.bootstrap(), "--topic", "permuted", "--stream", "permuted",
                "--tasks", "3", "--examples", "5000", "--holdout", "500", "--model", "fmnist");
        assertEquals(0, produced.exitCode(), produced.err());
        // topic, group and the stopping rule from a properties file; a Kafka client setting passes through to the clients
        Path config = dir.resolve("stream.properties");
        Files.writeString(config, "symcurv.topic=permuted\nsymcurv.group=permuted\nsymcurv.stop-after-tasks=3\n"
                + "symcurv.events-topic=permuted-events\nclient.id=symcurv-test\n");
        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", broker.bootstrap(), "--config", config.toString(),
                "--dead-letter-topic", "permuted-dead", "--checkpoint-dir", dir.resolve("ckpt-permuted").toString());
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("task task-2 consolidated"), run.out());

        List<JsonNode> rows = events(broker.bootstrap(), "permuted-events", "accuracy");
        assertEquals(3, rows.size(), "one accuracy row per task");
        JsonNode last = rows.get(2);
        assertEquals(List.of("task-0", "task-1", "task-2"), strings(last.get("tasks")));
        for (int t = 0; t < 3; t++) {
            double accuracy = last.get("accuracy").get(t).asDouble();
            assertTrue(accuracy > MINIMUM_ACCURACY, "task-" + t + " held-back accuracy " + accuracy + " after all three tasks; rows " + rows);
        }
        List<JsonNode> consolidated = events(broker.bootstrap(), "permuted-events", "task-consolidated");
        assertEquals(3, consolidated.size());
        for (JsonNode c : consolidated) {
            assertEquals(5000, c.get("trainedExamples").asLong());
            // the consolidation happened between the end-task record's production and the event's emission (1 ms clock
            // granularity each), and it took time
            double seconds = c.get("consolidationSeconds").asDouble();
            double window = (c.get("emittedAtMs").asLong() - c.get("endTaskTimestampMs").asLong() + 2) / 1000.0;
            assertTrue(seconds > 0 && seconds <= window, "consolidation took " + seconds + " s inside a window of " + window + " s: " + c);
        }
        assertEquals(0, readAll(broker.bootstrap(), "permuted-dead").size());
        long end = readAll(broker.bootstrap(), "permuted").size();
        assertEquals(end, committed(broker.bootstrap(), "permuted", "permuted"), "everything learned is committed");
    }

    @Test
    void malformedRecordsGoToTheDeadLetterTopicWhileValidOnesAreLearned() throws Exception {
        TaskStreamRecords source = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, 600, 100, 7);
        List<StreamRecord> task = source.task("m", 0);
        List<byte[]> values = new ArrayList<>();
        List<String> expectedReasons = new ArrayList<>();
        List<byte[]> expectedValues = new ArrayList<>();
        float[] good = ((StreamRecord.Example) task.get(0)).features();
        int examples = task.size() - 1;
        for (int i = 0; i < examples; i++) {
            StreamRecord r = task.get(i);
            values.add(i % 3 == 0 ? RecordCodec.encodeBinary(r) : RecordCodec.encodeJson(r));
            if (i == 150) {
                bad(values, expectedValues, expectedReasons, "bad JSON", "{\"v\":1,\"type\":\"example\",\"model\":\"m\"".getBytes(StandardCharsets.UTF_8));
                bad(values, expectedValues, expectedReasons, "wrong feature count", RecordCodec.encodeJson(
                        new StreamRecord.Example("m", "task-0", 5_000_000, StreamRecord.Split.TRAIN, Arrays.copyOf(good, 783), 1)));
                float[] nan = good.clone();
                nan[10] = Float.NaN;
                bad(values, expectedValues, expectedReasons, "non-finite feature", RecordCodec.encodeBinary(
                        new StreamRecord.Example("m", "task-0", 5_000_001, StreamRecord.Split.TRAIN, nan, 1)));
                String nanJson = new String(RecordCodec.encodeJson(new StreamRecord.Example("m", "task-0", 5_000_002, StreamRecord.Split.TRAIN,
                        good, 1)), StandardCharsets.UTF_8).replaceFirst("\"features\":\\[[^,]*,", "\"features\":[NaN,");
                bad(values, expectedValues, expectedReasons, "non-finite feature", nanJson.getBytes(StandardCharsets.UTF_8));
                bad(values, expectedValues, expectedReasons, "unknown version 2", ("{\"v\":2,\"type\":\"end-task\",\"model\":\"m\","
                        + "\"task\":\"task-0\"}").getBytes(StandardCharsets.UTF_8));
                bad(values, expectedValues, expectedReasons, "unknown task 'task-9'", RecordCodec.encodeJson(
                        new StreamRecord.Example("m", "task-9", 1, StreamRecord.Split.TRAIN, good, 1)));
                bad(values, expectedValues, expectedReasons, "unknown task 'task-7' in an end-task record", RecordCodec.encodeJson(
                        new StreamRecord.EndTask("m", "task-7", 10)));
            }
        }
        for (int i = 100; i < 150; i++) {
            values.add(RecordCodec.encodeJson(task.get(i))); // 50 training examples sent again: duplicates, ignored
        }
        values.add(RecordCodec.encodeJson(task.get(examples)));
        bad(values, expectedValues, expectedReasons, "already consolidated", RecordCodec.encodeJson(task.get(120)));
        values.add(RecordCodec.encodeBinary(task.get(examples))); // the end-task record again: ignored
        send(broker.bootstrap(), "bad", "m", values);

        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", broker.bootstrap(), "--topic", "bad", "--events-topic", "bad-events",
                "--dead-letter-topic", "bad-dead", "--group", "bad", "--checkpoint-dir", dir.resolve("ckpt-bad").toString(),
                "--stop-when-idle", "4");
        assertEquals(0, run.exitCode(), run.out() + run.err());

        List<ConsumerRecord<byte[], byte[]>> dead = readAll(broker.bootstrap(), "bad-dead");
        assertEquals(expectedReasons.size(), dead.size(), () -> "dead letters: " + dead.stream().map(r -> header(r, "symcurv.reason")).toList());
        for (int i = 0; i < dead.size(); i++) {
            String reason = header(dead.get(i), "symcurv.reason");
            String expected = expectedReasons.get(i);
            assertTrue(reason != null && reason.contains(expected), "dead letter " + i + ": expected '" + expected + "' in: " + reason);
            assertArrayEquals(expectedValues.get(i), dead.get(i).value(), "the dead letter carries the original value");
            assertTrue(header(dead.get(i), "symcurv.source").startsWith("bad-0@"));
        }
        List<JsonNode> consolidated = events(broker.bootstrap(), "bad-events", "task-consolidated");
        assertEquals(1, consolidated.size(), "one task, its repeated end-task record ignored");
        assertEquals(600, consolidated.get(0).get("trainedExamples").asLong(), "every valid training example learned once");
        assertEquals(50, consolidated.get(0).get("duplicatesIgnored").asLong());
        double accuracy = events(broker.bootstrap(), "bad-events", "accuracy").get(0).get("accuracy").get(0).asDouble();
        assertTrue(accuracy > 0.5, "600 examples teach far more than the 10% of guessing: " + accuracy);
        assertEquals(values.size(), committed(broker.bootstrap(), "bad", "bad"));
    }

    /**
     * Predict records on the input topic are answered on the predictions topic, in order: before the model has trained,
     * an error naming the model; after its task, the class probabilities of the model that the accuracy event evaluated
     * (the held-back images' arg-max answers give exactly the accuracy event's value), its version (1 task, 19 Adam steps:
     * 600 examples in minibatches of 32 are 18 full steps and the partial one at the task's end) and the request id.
     */
    @Test
    void predictRecordsAreAnsweredWithTheModelsProbabilitiesAndVersionAndAnErrorBeforeItTrained() throws Exception {
        TaskStreamRecords source = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, 600, 100, 5);
        List<StreamRecord> task = source.task("m", 0);
        List<byte[]> values = new ArrayList<>();
        values.add(RecordCodec.encodeJson(new StreamRecord.Predict("m", "too-early", ((StreamRecord.Example) task.get(0)).features())));
        task.forEach(r -> values.add(RecordCodec.encodeBinary(r)));
        List<StreamRecord.Example> heldBack = task.stream().filter(r -> r instanceof StreamRecord.Example e && e.split() == StreamRecord.Split.HOLDOUT)
                .map(r -> (StreamRecord.Example) r).toList();
        assertEquals(100, heldBack.size());
        for (int i = 0; i < heldBack.size(); i++) {
            StreamRecord.Predict predict = new StreamRecord.Predict("m", "req-" + i, heldBack.get(i).features());
            values.add(i % 2 == 0 ? RecordCodec.encodeJson(predict) : RecordCodec.encodeBinary(predict));
        }
        values.add(RecordCodec.encodeJson(new StreamRecord.Predict("other", "no-such-model", heldBack.get(0).features())));
        send(broker.bootstrap(), "predict", "m", values);

        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", broker.bootstrap(), "--topic", "predict", "--events-topic", "predict-events",
                "--dead-letter-topic", "predict-dead", "--predictions-topic", "predict-answers", "--group", "predict",
                "--checkpoint-dir", dir.resolve("ckpt-predict").toString(), "--stop-when-idle", "4");
        assertEquals(0, run.exitCode(), run.out() + run.err());

        List<JsonNode> answers = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(broker.bootstrap(), "predict-answers")) {
            answers.add(StreamTesting.JSON.readTree(r.value()));
        }
        assertEquals(heldBack.size() + 2, answers.size(), () -> "one answer per request: " + answers);
        JsonNode early = answers.get(0);
        assertEquals("prediction-error", early.get("event").asText());
        assertEquals("too-early", early.get("request").asText());
        assertTrue(early.get("error").asText().contains("'m'"), early.toString());
        int correct = 0;
        for (int i = 0; i < heldBack.size(); i++) {
            JsonNode a = answers.get(i + 1);
            assertEquals("prediction", a.get("event").asText(), a.toString());
            assertEquals("req-" + i, a.get("request").asText());
            assertEquals("m", a.get("model").asText());
            JsonNode p = a.get("probabilities");
            assertEquals(10, p.size());
            double sum = 0;
            int best = 0;
            for (int k = 0; k < 10; k++) {
                double pk = p.get(k).asDouble();
                assertTrue(pk >= 0 && pk <= 1, a.toString());
                sum += pk;
                best = pk > p.get(best).asDouble() ? k : best;
            }
            assertEquals(1.0, sum, SOFTMAX_SUM_FLOAT32, "softmax probabilities sum to 1");
            assertEquals(best, a.get("predicted").asInt());
            correct += best == heldBack.get(i).label() ? 1 : 0;
            JsonNode version = a.get("modelVersion");
            assertEquals(1, version.get("tasksConsolidated").asInt());
            assertEquals(19, version.get("stepsTrained").asLong());
            assertEquals(600, version.get("examplesTrained").asLong());
        }
        double accuracy = events(broker.bootstrap(), "predict-events", "accuracy").get(0).get("accuracy").get(0).asDouble();
        assertEquals(accuracy, correct / (double) heldBack.size(), 1e-12, "the answers come from the model the accuracy event evaluated");
        JsonNode unknown = answers.get(answers.size() - 1);
        assertEquals("prediction-error", unknown.get("event").asText());
        assertEquals("no-such-model", unknown.get("request").asText());
        assertEquals(0, readAll(broker.bootstrap(), "predict-dead").size());
    }

    private static void bad(List<byte[]> values, List<byte[]> expectedValues, List<String> reasons, String reason, byte[] value) {
        values.add(value);
        expectedValues.add(value);
        reasons.add(reason);
    }

    @Test
    void serviceKilledMidTaskResumesFromItsCommittedOffsetsAndLosesNoConsolidatedTask() throws Exception {
        TaskStreamRecords source = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, 1500, 200, 11);
        List<StreamRecord> task0 = source.task("m", 0);
        List<StreamRecord> task1 = source.task("m", 1);
        List<StreamRecord> firstPart = new ArrayList<>(task0);
        firstPart.addAll(task1.subList(0, 900)); // task-1: its 200 held-back and 700 of its 1,500 training examples
        send(broker.bootstrap(), "crash", "m", json(firstPart));

        Path log = dir.resolve("crash-service.log");
        Process service = startService(log);
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
            while (committed(broker.bootstrap(), "crash", "crash") < firstPart.size()) {
                assertTrue(service.isAlive(), () -> "the service exited early:\n" + read(log));
                assertTrue(System.nanoTime() < deadline, () -> "the service did not commit everything sent within 4 minutes:\n" + read(log));
                Thread.sleep(500);
            }
        } finally {
            service.destroyForcibly(); // SIGKILL, mid task-1
            service.waitFor(30, TimeUnit.SECONDS);
        }
        long committedAtKill = committed(broker.bootstrap(), "crash", "crash");
        assertEquals(1, events(broker.bootstrap(), "crash-events", "task-consolidated").size(), "task-0 was consolidated before the kill");

        List<StreamRecord> rest = new ArrayList<>(task1.subList(800, 900)); // 100 examples sent again, as a producer retry would
        rest.addAll(task1.subList(900, task1.size()));
        send(broker.bootstrap(), "crash", "m", json(rest));
        Process restarted = startService(log, "--stop-after-tasks", "1");
        assertTrue(restarted.waitFor(4, TimeUnit.MINUTES), () -> "the restarted service did not finish task-1:\n" + read(log));
        assertEquals(0, restarted.exitValue(), () -> read(log));

        List<JsonNode> resumed = events(broker.bootstrap(), "crash-events", "resumed");
        assertEquals(2, resumed.size());
        JsonNode second = resumed.get(1);
        assertEquals(committedAtKill, second.get("committedOffset").asLong());
        assertTrue(second.get("checkpointOffset").asLong() >= committedAtKill, "the checkpoint covers every committed offset");
        assertEquals(List.of("task-0"), strings(second.get("consolidated").get("m")), "the consolidated task survived the kill");
        List<JsonNode> consolidated = events(broker.bootstrap(), "crash-events", "task-consolidated");
        assertEquals(2, consolidated.size());
        assertEquals("task-1", consolidated.get(1).get("task").asText());
        assertEquals(1500, consolidated.get(1).get("trainedExamples").asLong(), "task-1's examples learned exactly once across the kill");
        assertEquals(100, consolidated.get(1).get("duplicatesIgnored").asLong());
        List<JsonNode> rows = events(broker.bootstrap(), "crash-events", "accuracy");
        assertEquals(List.of("task-0", "task-1"), strings(rows.get(rows.size() - 1).get("tasks")));
        assertEquals(firstPart.size() + rest.size(), committed(broker.bootstrap(), "crash", "crash"));
    }

    /**
     * Scale-out: two instances of one consumer group on a two-partition topic each learn the model of the partition they
     * own (one model per partition key, never shared), and when both have stopped a third instance takes over a partition
     * from the shared checkpoint directory and continues its model with the consolidated tasks intact.
     */
    @Test
    void twoInstancesOfOneGroupShareThePartitionsAndAPartitionMovesWithItsCheckpoint() throws Exception {
        StreamTesting.createTopic(broker.bootstrap(), "scale", 2);
        TaskStreamRecords source = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, 1500, 200, 21);
        Path log = dir.resolve("scale-service.log");
        String[] scale = {"--topic", "scale", "--events-topic", "scale-events", "--dead-letter-topic", "scale-dead", "--group", "scale",
                "--checkpoint-dir", dir.resolve("ckpt-scale").toString()};
        Process first = startService(log, scale, "--stop-after-tasks", "2");
        awaitResumedBy(first, log);
        Process second = startService(log, scale, "--stop-after-tasks", "2");
        JsonNode secondResumed = awaitResumedBy(second, log);
        int partitionB = secondResumed.get("partition").asInt(); // the second instance's partition; the first keeps the other
        int partitionA = 1 - partitionB;

        List<StreamRecord> a = new ArrayList<>(source.task("a", 0));
        a.addAll(source.task("a", 1));
        List<StreamRecord> b = new ArrayList<>(source.task("b", 0));
        b.addAll(source.task("b", 1));
        send(broker.bootstrap(), "scale", partitionA, "a", json(a));
        send(broker.bootstrap(), "scale", partitionB, "b", json(b));
        for (Process p : List.of(first, second)) {
            assertTrue(p.waitFor(4, TimeUnit.MINUTES), () -> "an instance did not finish its two tasks within 4 minutes:\n" + read(log));
            assertEquals(0, p.exitValue(), () -> read(log));
        }

        List<JsonNode> consolidated = events(broker.bootstrap(), "scale-events", "task-consolidated");
        assertEquals(4, consolidated.size(), "two tasks of each model, each consolidated once");
        assertEquals(List.of(instance(first)), instancesOf(consolidated, "a"), "model a was learned only by the first instance");
        assertEquals(List.of(instance(second)), instancesOf(consolidated, "b"), "model b was learned only by the second instance");
        for (JsonNode c : consolidated) {
            assertEquals(1500, c.get("trainedExamples").asLong(), c.toString());
            assertEquals(c.get("model").asText().equals("a") ? partitionA : partitionB, c.get("partition").asInt(), c.toString());
        }
        assertEquals(a.size(), committed(broker.bootstrap(), "scale", "scale", partitionA));
        assertEquals(b.size(), committed(broker.bootstrap(), "scale", "scale", partitionB));

        // both stopped: a new instance owns both partitions and continues model b from the second instance's checkpoint
        Process third = startService(log, scale, "--stop-after-tasks", "1");
        send(broker.bootstrap(), "scale", partitionB, "b", json(source.task("b", 2)));
        assertTrue(third.waitFor(4, TimeUnit.MINUTES), () -> "the third instance did not finish model b's task-2:\n" + read(log));
        assertEquals(0, third.exitValue(), () -> read(log));
        JsonNode taken = events(broker.bootstrap(), "scale-events", "resumed").stream()
                .filter(r -> r.get("instance").asText().equals(instance(third)) && r.get("partition").asInt() == partitionB)
                .findFirst().orElseThrow(() -> new AssertionError("the third instance never resumed partition " + partitionB));
        assertEquals(b.size(), taken.get("checkpointOffset").asLong(), "resumed from the second instance's checkpoint");
        assertEquals(List.of("task-0", "task-1"), strings(taken.get("consolidated").get("b")));
        JsonNode last = events(broker.bootstrap(), "scale-events", "task-consolidated").get(4);
        assertEquals(instance(third), last.get("instance").asText());
        assertEquals("task-2", last.get("task").asText());
        assertEquals(3, last.get("tasks").asInt(), "model b keeps its two consolidated tasks across the move");
    }

    /** The instance name a service child process puts in its events (no --instance-id: host/pid). */
    private static String instance(Process p) {
        try {
            return java.net.InetAddress.getLocalHost().getHostName() + "/" + p.pid();
        } catch (java.net.UnknownHostException e) {
            return "localhost/" + p.pid();
        }
    }

    private static List<String> instancesOf(List<JsonNode> events, String model) {
        return events.stream().filter(e -> e.get("model").asText().equals(model)).map(e -> e.get("instance").asText()).distinct().toList();
    }

    /** Waits for the first {@code resumed} event of the process (its first partition assignment) and returns it. */
    private static JsonNode awaitResumedBy(Process p, Path log) throws Exception {
        String name = instance(p);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (true) {
            assertTrue(p.isAlive(), () -> "the service exited early:\n" + read(log));
            assertTrue(System.nanoTime() < deadline, () -> "the service was assigned no partition within 2 minutes:\n" + read(log));
            List<JsonNode> mine = new ArrayList<>();
            for (JsonNode r : events(broker.bootstrap(), "scale-events", "resumed")) {
                if (r.get("instance").asText().equals(name)) {
                    mine.add(r);
                }
            }
            if (!mine.isEmpty()) {
                return mine.get(mine.size() - 1);
            }
            Thread.sleep(500);
        }
    }

    private Process startService(Path log, String... extra) throws Exception {
        String[] crash = {"--topic", "crash", "--events-topic", "crash-events", "--dead-letter-topic", "crash-dead", "--group", "crash",
                "--instance-id", "crash-1", "--checkpoint-dir", dir.resolve("ckpt-crash").toString()};
        return startService(log, crash, extra);
    }

    private static Process startService(Path log, String[] where, String... extra) throws Exception {
        return StreamTesting.startService(broker.bootstrap(), log, where, extra);
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (java.io.IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
