package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.stream.StreamTesting.json;
import static org.symcurv.apps.stream.StreamTesting.send;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.continual.ContinualMethod;
import org.symcurv.continual.EwcSettings;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;

/**
 * The metrics endpoint scraped over HTTP while the service learns from a real embedded broker (Kafka 4.3.1, loopback):
 * every counter equals what was sent (training examples, duplicates, dead letters by reason, tasks, predictions), the
 * consolidation timer holds the consolidation's own time, the lag of the drained partition is 0; the readiness check
 * turns 503 while the broker is killed and 200 again after it restarts. A 20-feature, 3-class stream of random
 * examples: no data set needed.
 */
class StreamMetricsTest {
    private static final int FEATURES = 20;

    @TempDir
    Path dir;

    @Test
    void theEndpointCountsWhatWasSentAndReportsNotReadyWhileTheBrokerIsDown() throws Exception {
        EmbeddedBroker broker = EmbeddedBroker.start(dir.resolve("broker"), 0, Duration.ofSeconds(120));
        MetricsEndpoint endpoint = null;
        StreamService service = null;
        CompletableFuture<StreamService.Summary> running = null;
        try {
            Random random = new Random(3);
            List<StreamRecord> records = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                records.add(new StreamRecord.Example("m", "task-0", i, i < 40 ? StreamRecord.Split.HOLDOUT : StreamRecord.Split.TRAIN,
                        features(random), random.nextInt(3)));
            }
            List<byte[]> values = new ArrayList<>(json(records));
            for (int i = 100; i < 105; i++) {
                values.add(RecordCodec.encodeJson(records.get(i))); // 5 duplicates
            }
            values.add(RecordCodec.encodeJson(new StreamRecord.Example("m", "task-0", 900, StreamRecord.Split.TRAIN, new float[3], 0)));
            values.add(RecordCodec.encodeJson(new StreamRecord.Example("m", "task-0", 901, StreamRecord.Split.TRAIN, new float[21], 0)));
            values.add("{\"v\":1,".getBytes(StandardCharsets.UTF_8));
            values.add(RecordCodec.encodeJson(new StreamRecord.EndTask("m", "task-0", 260)));
            for (int i = 0; i < 3; i++) {
                values.add(RecordCodec.encodeBinary(new StreamRecord.Predict("m", "r" + i, features(random))));
            }
            values.add(RecordCodec.encodeBinary(new StreamRecord.Predict("nobody", "r-none", features(random))));
            send(broker.bootstrap(), "metrics", "m", values);

            MlpArchitecture architecture = new MlpArchitecture(FEATURES, List.of(16), HiddenActivation.RELU, 3);
            OptimizerSettings adam = OptimizerSettings.defaults(Recipe.ADAM).withSchedule(LearningRateSchedule.warmupConstant(2e-3, 0));
            StreamService.Settings settings = new StreamService.Settings("metrics", "metrics-events", "metrics-dead", "metrics-predictions",
                    "metrics", null, dir.resolve("ckpt"), FEATURES, 3, 32, 100, 42, Duration.ofSeconds(1), Duration.ofSeconds(1), null, 0,
                    broker.bootstrap(), new KafkaSettings(new Properties()));
            List<ModelStream.TaskEnd> ends = new CopyOnWriteArrayList<>();
            StreamService s = new StreamService(settings, ContinualLearners.of(architecture, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 100),
                    adam, 42), new StreamService.Listener() {
                @Override
                public void onTaskEnd(String model, ModelStream.TaskEnd end) {
                    ends.add(end);
                }
            });
            service = s;
            endpoint = MetricsEndpoint.start(0, service.metrics(), settings.kafka(), broker.bootstrap(), Duration.ofMillis(500));
            String base = "http://127.0.0.1:" + endpoint.port();
            running = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.run();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            CompletableFuture<StreamService.Summary> run = running;
            await(() -> "1.0".equals(find(get(base + "/metrics").body(), "symcurv_stream_prediction_latency_seconds_count{outcome=\"error\"}"))
                            || "1".equals(find(get(base + "/metrics").body(), "symcurv_stream_prediction_latency_seconds_count{outcome=\"error\"}")),
                    Duration.ofMinutes(3), () -> "the service did not answer the last request:\n" + get(base + "/metrics").body() + failure(run));
            Thread.sleep(1500); // one more loop iteration and report interval after the last record

            HttpResponse<String> scrape = get(base + "/metrics");
            assertEquals(200, scrape.statusCode());
            assertTrue(scrape.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"), scrape.headers().toString());
            String text = scrape.body();
            assertEquals(260, metric(text, "symcurv_stream_examples_trained_total"), text);
            assertEquals(5, metric(text, "symcurv_stream_duplicates_total"), text);
            assertEquals(2, metric(text, "symcurv_stream_dead_letters_total{reason=\"wrong-feature-count\"}"), text);
            assertEquals(1, metric(text, "symcurv_stream_dead_letters_total{reason=\"bad-json\"}"), text);
            assertEquals(1, metric(text, "symcurv_stream_tasks_consolidated_total{model=\"m\"}"), text);
            assertEquals(1, ends.size());
            assertEquals(1, metric(text, "symcurv_stream_consolidation_seconds_count"), text);
            assertEquals(ends.get(0).consolidation().seconds(), metric(text, "symcurv_stream_consolidation_seconds_sum"), 1e-6, text);
            assertEquals(3, metric(text, "symcurv_stream_prediction_latency_seconds_count{outcome=\"answered\"}"), text);
            assertNotNull(find(text, "symcurv_stream_prediction_latency_seconds{outcome=\"answered\",quantile=\"0.99\"}"), text);
            assertEquals(0, metric(text, "symcurv_stream_partition_lag_records{partition=\"0\",topic=\"metrics\"}"), text);
            double age = metric(text, "symcurv_stream_checkpoint_age_seconds");
            assertTrue(age >= 0 && age < 60, "a checkpoint was written at the task end: age " + age);
            assertEquals(1, metric(text, "symcurv_stream_broker_reachable"), text);
            assertEquals(200, get(base + "/health/ready").statusCode());
            assertEquals(200, get(base + "/health/live").statusCode());

            broker.kill();
            await(() -> get(base + "/health/ready").statusCode() == 503, Duration.ofSeconds(30), () -> "still ready with the broker killed");
            assertTrue(get(base + "/health/ready").body().startsWith("not ready: "));
            assertEquals(0, metric(get(base + "/metrics").body(), "symcurv_stream_broker_reachable"));
            assertEquals(200, get(base + "/health/live").statusCode(), "alive while waiting for the broker");
            broker.restart(Duration.ofSeconds(120));
            await(() -> get(base + "/health/ready").statusCode() == 200, Duration.ofSeconds(60), () -> "not ready after the broker restarted");
        } finally {
            if (service != null) {
                service.stop();
            }
            if (running != null) {
                running.get(2, TimeUnit.MINUTES);
            }
            if (endpoint != null) {
                endpoint.close();
            }
            broker.close();
        }
    }

    private static float[] features(Random random) {
        float[] f = new float[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
            f[j] = (float) random.nextGaussian();
        }
        return f;
    }

    private static HttpResponse<String> get(String url) {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError("GET " + url + " failed: " + e, e);
        }
    }

    /** The value of the sample {@code name{labels}} in a Prometheus text exposition (labels as Micrometer orders them, by name). */
    private static double metric(String exposition, String sample) {
        String value = find(exposition, sample);
        assertNotNull(value, () -> "no sample " + sample + " in:\n" + exposition);
        return Double.parseDouble(value);
    }

    private static String find(String exposition, String sample) {
        Map<String, String> samples = new HashMap<>();
        for (String line : exposition.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                int space = line.lastIndexOf(' ');
                samples.put(line.substring(0, space), line.substring(space + 1));
            }
        }
        return samples.get(sample);
    }

    private static String failure(CompletableFuture<?> run) {
        if (!run.isDone()) {
            return "";
        }
        try {
            run.join();
            return "\n(the service stopped)";
        } catch (Exception e) {
            return "\n(the service failed: " + e + ")";
        }
    }

    private static void await(BooleanSupplier condition, Duration timeout, java.util.function.Supplier<String> message) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, message);
            Thread.sleep(200);
        }
    }
}
