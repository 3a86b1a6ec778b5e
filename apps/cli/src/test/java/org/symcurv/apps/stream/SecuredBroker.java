package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;

/**
 * A real KRaft broker (Kafka 4.3.1, child JVM running {@link EmbeddedBrokerMain}, loopback) started from the embedded
 * broker's {@link EmbeddedBroker#serverProperties} with its client listener replaced, for the tests of secured clusters
 * (SASL, SSL). It stops when the test JVM ends, or at {@link #close}.
 */
final class SecuredBroker implements AutoCloseable {
    final Process process;
    final String bootstrap;
    private final Path log;

    private SecuredBroker(Process process, String bootstrap, Path log) {
        this.process = process;
        this.bootstrap = bootstrap;
        this.log = log;
    }

    /**
     * Starts a broker whose one client listener is {@code PROTOCOL://127.0.0.1:PORT} (also the inter-broker listener),
     * with the extra server settings {@code extra}, and waits until an admin client with {@code clientSettings} sees it.
     */
    static SecuredBroker start(Path dir, String protocol, Properties extra, Properties clientSettings) throws Exception {
        int port = freePort();
        int controller = freePort();
        String bootstrap = "127.0.0.1:" + port;
        Properties server = EmbeddedBroker.serverProperties(port, controller, dir.resolve("kraft"));
        server.setProperty("listeners", protocol + "://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller);
        server.setProperty("advertised.listeners", protocol + "://127.0.0.1:" + port);
        server.setProperty("inter.broker.listener.name", protocol);
        server.setProperty("listener.security.protocol.map", protocol + ":" + protocol + ",CONTROLLER:PLAINTEXT");
        server.putAll(extra);
        Path properties = dir.resolve("server.properties");
        try (Writer w = Files.newBufferedWriter(properties)) {
            server.store(w, protocol + " test broker");
        }
        Path log = dir.resolve("broker.log");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), EmbeddedBrokerMain.class.getName(), properties.toString(),
                Uuid.randomUuid().toString());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        SecuredBroker broker = new SecuredBroker(process, bootstrap, log);
        Properties admin = new Properties();
        admin.putAll(clientSettings);
        admin.setProperty("bootstrap.servers", bootstrap);
        admin.setProperty("request.timeout.ms", "2000");
        admin.setProperty("default.api.timeout.ms", "3000");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try (Admin client = Admin.create(admin)) {
            while (true) {
                assertTrue(process.isAlive(), () -> "the " + protocol + " broker exited:\n" + broker.log());
                try {
                    if (!client.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                        return broker;
                    }
                } catch (Exception e) {
                    // not up yet
                }
                assertTrue(System.nanoTime() < deadline, () -> "the " + protocol + " broker did not answer within 120 s:\n" + broker.log());
                Thread.sleep(200);
            }
        }
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (Exception e) {
            return "(no log)";
        }
    }

    /** Closing its standard input makes it stop (its watchdog); it is killed after 30 s. */
    @Override
    public void close() throws Exception {
        process.getOutputStream().close();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    /** Writes the settings as a properties file, for {@code --config}. */
    static Path writeConfig(Path file, Properties settings) throws Exception {
        try (Writer w = Files.newBufferedWriter(file)) {
            settings.store(w, "client settings");
        }
        return file;
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
