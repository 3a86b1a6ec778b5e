package org.symcurv.apps.stream;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;

/**
 * The service's HTTP endpoint (the JDK's {@code com.sun.net.httpserver}): {@code GET /metrics} serves
 * {@link ServiceMetrics#scrape} in the Prometheus text format; {@code GET /health/ready} answers 200 {@code ready} while
 * the last broker probe succeeded and 503 {@code not ready: ...} otherwise (before the first probe, or while the brokers
 * are unreachable); {@code GET /health/live} answers 200 while the process serves.
 *
 * <p>The probe is an admin client of the service's own Kafka settings (so it authenticates like the service) asking for
 * the cluster's nodes every {@code probeInterval}, each attempt bounded by the interval.
 */
public final class MetricsEndpoint implements AutoCloseable {
    private final HttpServer server;
    private final ScheduledExecutorService prober;
    private final Admin admin;
    private final ServiceMetrics metrics;
    private volatile String notReady = "the brokers have not been probed yet";

    private MetricsEndpoint(HttpServer server, ScheduledExecutorService prober, Admin admin, ServiceMetrics metrics) {
        this.server = server;
        this.prober = prober;
        this.admin = admin;
        this.metrics = metrics;
    }

    /**
     * Starts serving on {@code port} of every interface (0: any free port, see {@link #port}) and probing the brokers.
     *
     * @throws IOException when the port cannot be bound (the message names it)
     */
    public static MetricsEndpoint start(int port, ServiceMetrics metrics, KafkaSettings kafka, String bootstrap, Duration probeInterval)
            throws IOException {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(port), 16);
        } catch (IOException e) {
            throw new IOException("cannot serve metrics on port " + port + " (" + e.getMessage() + "); choose another --metrics-port", e);
        }
        String timeout = Long.toString(Math.max(500, probeInterval.toMillis()));
        Admin admin = Admin.create(kafka.forClient("admin", bootstrap, Map.of("request.timeout.ms", timeout, "default.api.timeout.ms", timeout,
                "reconnect.backoff.max.ms", "1000")));
        ScheduledExecutorService prober = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "symcurv-broker-probe");
            t.setDaemon(true);
            return t;
        });
        MetricsEndpoint endpoint = new MetricsEndpoint(server, prober, admin, metrics);
        server.createContext("/metrics", exchange -> endpoint.respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        server.createContext("/health/ready", exchange -> {
            String reason = endpoint.notReady;
            endpoint.respond(exchange, reason == null ? 200 : 503, "text/plain; charset=utf-8", reason == null ? "ready\n" : "not ready: " + reason + "\n");
        });
        server.createContext("/health/live", exchange -> endpoint.respond(exchange, 200, "text/plain; charset=utf-8", "live\n"));
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "symcurv-metrics-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        prober.scheduleWithFixedDelay(() -> endpoint.probe(probeInterval), 0, probeInterval.toMillis(), TimeUnit.MILLISECONDS);
        return endpoint;
    }

    /** The port it serves on. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** Whether the last probe reached the brokers. */
    public boolean ready() {
        return notReady == null;
    }

    private void probe(Duration timeout) {
        try {
            if (admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS).isEmpty()) {
                notReady = "the cluster reports no brokers";
            } else {
                notReady = null;
            }
        } catch (java.util.concurrent.ExecutionException e) {
            notReady = "the Kafka brokers are unreachable (" + e.getCause().getMessage() + ")";
        } catch (java.util.concurrent.TimeoutException e) {
            notReady = "the Kafka brokers did not answer within " + timeout.toMillis() + " ms";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            notReady = "the broker probe failed (" + e.getMessage() + ")";
        }
        metrics.brokerReachable(notReady == null);
    }

    private void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", contentType);
            boolean head = "HEAD".equals(exchange.getRequestMethod());
            exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        prober.shutdownNow();
        admin.close(Duration.ofSeconds(5));
    }
}
