package org.symcurv.apps.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;

/**
 * The streaming service's metrics in a Micrometer registry that renders the Prometheus text format ({@link #scrape}); the
 * names are those of the README ("Metrics and health"). The service's thread records; a scrape on another thread reads:
 * every meter is thread-safe and the gauges read atomics.
 *
 * <ul>
 *   <li>{@code symcurv_stream_examples_trained_total} (counter; its {@code rate()} is examples/s) and
 *       {@code symcurv_stream_examples_per_second} (gauge: the last report interval's rate)</li>
 *   <li>{@code symcurv_stream_partition_lag_records{topic,partition}}: records after the last one processed, per owned partition</li>
 *   <li>{@code symcurv_stream_dead_letters_total{reason}}: by the reason's kind ({@link #reasonKind})</li>
 *   <li>{@code symcurv_stream_duplicates_total}, {@code symcurv_stream_tasks_consolidated_total{model}},
 *       {@code symcurv_stream_consolidation_seconds} (timer: count, sum, max)</li>
 *   <li>{@code symcurv_stream_checkpoint_age_seconds}: since the last checkpoint was written (−1 before the first)</li>
 *   <li>{@code symcurv_stream_prediction_latency_seconds{outcome}} (timer with p50 and p99: now − the request's record
 *       timestamp; outcome {@code answered} or {@code error})</li>
 *   <li>{@code symcurv_stream_broker_reachable} (1 or 0, from the health probe)</li>
 * </ul>
 */
public final class ServiceMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter examples;
    private final Counter duplicates;
    private final Timer consolidation;
    private final AtomicLong examplesPerSecondMilli = new AtomicLong();
    private final AtomicLong lastCheckpointNanos = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong brokerReachable = new AtomicLong();
    private final Map<TopicPartition, AtomicLong> lag = new ConcurrentHashMap<>();

    public ServiceMetrics() {
        examples = Counter.builder("symcurv.stream.examples.trained").description("training examples learned").register(registry);
        duplicates = Counter.builder("symcurv.stream.duplicates").description("examples ignored as repeated ids within their task")
                .register(registry);
        consolidation = Timer.builder("symcurv.stream.consolidation").description("time of each task's consolidation (Fisher and EWC state)")
                .register(registry);
        Gauge.builder("symcurv.stream.examples.per.second", examplesPerSecondMilli, v -> v.get() / 1000.0)
                .description("examples trained per second over the last report interval").register(registry);
        Gauge.builder("symcurv.stream.checkpoint.age.seconds", lastCheckpointNanos,
                        v -> v.get() == Long.MIN_VALUE ? -1 : (System.nanoTime() - v.get()) / 1e9)
                .description("seconds since the last checkpoint was written (-1: none yet)").register(registry);
        Gauge.builder("symcurv.stream.broker.reachable", brokerReachable, AtomicLong::get)
                .description("1 while the health probe reaches the Kafka brokers, else 0").register(registry);
    }

    /** The Prometheus text exposition of every metric. */
    public String scrape() {
        return registry.scrape();
    }

    void trained(long n) {
        if (n > 0) {
            examples.increment(n);
        }
    }

    void duplicate() {
        duplicates.increment();
    }

    void examplesPerSecond(double rate) {
        examplesPerSecondMilli.set(Math.round(rate * 1000));
    }

    void deadLetter(String reason) {
        Counter.builder("symcurv.stream.dead.letters").description("records sent to the dead-letter topic, by the kind of reason")
                .tag("reason", reasonKind(reason)).register(registry).increment();
    }

    void consolidated(String model, double seconds) {
        Counter.builder("symcurv.stream.tasks.consolidated").description("tasks consolidated").tag("model", model).register(registry).increment();
        consolidation.record(Duration.ofNanos(Math.round(seconds * 1e9)));
    }

    void checkpointWritten() {
        lastCheckpointNanos.set(System.nanoTime());
    }

    void prediction(boolean answered, long latencyMs) {
        Timer.builder("symcurv.stream.prediction.latency").description("predict record's timestamp to its answer being sent")
                .tag("outcome", answered ? "answered" : "error").publishPercentiles(0.5, 0.99).register(registry)
                .record(latencyMs, TimeUnit.MILLISECONDS);
    }

    /** Sets the lag of an owned partition (records after the last one processed). */
    void lag(TopicPartition partition, long records) {
        lag.computeIfAbsent(partition, tp -> {
            AtomicLong value = new AtomicLong();
            Gauge.builder("symcurv.stream.partition.lag.records", value, AtomicLong::get).description("records after the last one processed")
                    .tag("topic", tp.topic()).tag("partition", Integer.toString(tp.partition())).register(registry);
            return value;
        }).set(records);
    }

    /** A partition given up: its lag gauge is removed. */
    void partitionGone(TopicPartition partition) {
        if (lag.remove(partition) != null) {
            registry.find("symcurv.stream.partition.lag.records").tag("topic", partition.topic())
                    .tag("partition", Integer.toString(partition.partition())).meters().forEach(registry::remove);
        }
    }

    void brokerReachable(boolean reachable) {
        brokerReachable.set(reachable ? 1 : 0);
    }

    /**
     * The kind of a dead letter's reason, a bounded label set: {@code bad-json}, {@code bad-binary}, {@code missing-field},
     * {@code unknown-version}, {@code unknown-type}, {@code unknown-split}, {@code wrong-feature-count},
     * {@code non-finite-feature}, {@code label-out-of-range}, {@code unknown-task}, {@code task-without-examples},
     * {@code empty} (an empty value or id), or {@code other}.
     */
    static String reasonKind(String reason) {
        String r = reason.toLowerCase(Locale.ROOT);
        if (r.startsWith("bad json")) {
            return "bad-json";
        } else if (r.startsWith("bad binary")) {
            return "bad-binary";
        } else if (r.startsWith("missing")) {
            return "missing-field";
        } else if (r.startsWith("unknown version")) {
            return "unknown-version";
        } else if (r.startsWith("unknown record type")) {
            return "unknown-type";
        } else if (r.startsWith("unknown split")) {
            return "unknown-split";
        } else if (r.startsWith("wrong feature count")) {
            return "wrong-feature-count";
        } else if (r.startsWith("non-finite feature")) {
            return "non-finite-feature";
        } else if (r.startsWith("label ")) {
            return "label-out-of-range";
        } else if (r.startsWith("unknown task")) {
            return "unknown-task";
        } else if (r.startsWith("task '")) {
            return "task-without-examples";
        } else if (r.startsWith("field ") || r.startsWith("feature ")) {
            return "bad-json";
        } else if (r.startsWith("empty")) {
            return "empty";
        }
        return "other";
    }
}
