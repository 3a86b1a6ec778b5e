package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.stream.StreamTesting.committed;
import static org.symcurv.apps.stream.StreamTesting.events;
import static org.symcurv.apps.stream.StreamTesting.json;
import static org.symcurv.apps.stream.StreamTesting.send;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;

/** A broker killed (SIGKILL) while the service is learning, and restarted on the same data: the service carries on, nothing is lost. */
class BrokerOutageTest {
    @TempDir
    Path dir;

    @Test
    void serviceSurvivesABrokerThatGoesAwayAndComesBack() throws Exception {
        Path data = org.symcurv.core.testing.TestData.fashionMnistSubset(); // 1,200 + 100 examples: the committed subset is enough
        ImageDataSet train = FashionMnist.loadTrain(data);
        ImageDataSet test = FashionMnist.loadTest(data);
        List<StreamRecord> task = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, test, 1200, 100, 3).task("m", 0);
        int half = task.size() / 2;
        try (EmbeddedBroker broker = EmbeddedBroker.start(dir.resolve("broker"), 0, Duration.ofSeconds(120))) {
            send(broker.bootstrap(), "outage", "m", json(task.subList(0, half)));
            CompletableFuture<org.symcurv.apps.CliRun> service = CompletableFuture.supplyAsync(() -> org.symcurv.apps.CliRun.symcurv("stream",
                    "--bootstrap", broker.bootstrap(), "--topic", "outage", "--events-topic", "outage-events", "--dead-letter-topic",
                    "outage-dead", "--group", "outage", "--checkpoint-dir", dir.resolve("ckpt").toString(), "--checkpoint-interval", "1",
                    "--stop-after-tasks", "1"));
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (committed(broker.bootstrap(), "outage", "outage") < half) {
                assertTrue(!service.isDone(), () -> "the service stopped early: " + service.join());
                assertTrue(System.nanoTime() < deadline, "the service did not commit the first half within 3 minutes");
                Thread.sleep(300);
            }
            broker.kill();
            Thread.sleep(4000); // the service polls, fails to commit and to reach the coordinator, and waits
            assertTrue(!service.isDone(), () -> "the service gave up while the broker was away: " + service.join());
            broker.restart(Duration.ofSeconds(120));
            send(broker.bootstrap(), "outage", "m", json(task.subList(half, task.size())));
            org.symcurv.apps.CliRun run = service.get(4, TimeUnit.MINUTES);
            assertEquals(0, run.exitCode(), run.out() + run.err());
            List<JsonNode> consolidated = events(broker.bootstrap(), "outage-events", "task-consolidated");
            assertEquals(1, consolidated.size());
            assertEquals(1200, consolidated.get(0).get("trainedExamples").asLong(), "every example learned once across the outage");
            assertEquals(task.size(), committed(broker.bootstrap(), "outage", "outage"));
        }
    }
}
