package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.CliRun.symcurv;

import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka client settings pass through to a broker that demands authentication: a real KRaft broker (Kafka 4.3.1, child
 * JVM, loopback) whose only client listener is SASL_PLAINTEXT with the PLAIN mechanism. With the credentials in a
 * {@code --config} file, {@code symcurv produce} and {@code symcurv stream} work as against the open embedded broker; with
 * a wrong password the service stops at once with exit code 1 and a message that names the settings to check. (SSL uses
 * the same pass-through; it is not exercised here, for want of certificates on a fresh machine.)
 */
class StreamSaslTest {
    private static final String USER_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"symcurv\" password=\"%s\";";

    @TempDir
    static Path dir;
    static Process broker;
    static String bootstrap;

    @BeforeAll
    static void startSaslBroker() throws Exception {
        int port = freePort();
        int controller = freePort();
        bootstrap = "127.0.0.1:" + port;
        // the embedded broker's settings with the client listener switched to SASL_PLAINTEXT / PLAIN
        Properties server = EmbeddedBroker.serverProperties(port, controller, dir.resolve("kraft"));
        server.setProperty("listeners", "SASL_PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller);
        server.setProperty("advertised.listeners", "SASL_PLAINTEXT://127.0.0.1:" + port);
        server.setProperty("inter.broker.listener.name", "SASL_PLAINTEXT");
        server.setProperty("listener.security.protocol.map", "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT");
        server.setProperty("sasl.enabled.mechanisms", "PLAIN");
        server.setProperty("sasl.mechanism.inter.broker.protocol", "PLAIN");
        server.setProperty("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" "
                        + "user_admin=\"admin-secret\" user_symcurv=\"symcurv-secret\";");
        Path properties = dir.resolve("server.properties");
        try (Writer w = Files.newBufferedWriter(properties)) {
            server.store(w, "SASL/PLAIN test broker");
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), EmbeddedBrokerMain.class.getName(), properties.toString(),
                Uuid.randomUuid().toString()));
        broker = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("broker.log").toFile()).start();
        Properties admin = clientSettings("symcurv-secret");
        admin.setProperty("bootstrap.servers", bootstrap);
        admin.setProperty("request.timeout.ms", "2000");
        admin.setProperty("default.api.timeout.ms", "3000");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try (Admin client = Admin.create(admin)) {
            while (true) {
                assertTrue(broker.isAlive(), () -> "the SASL broker exited:\n" + log());
                try {
                    if (!client.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    // not up yet
                }
                assertTrue(System.nanoTime() < deadline, () -> "the SASL broker did not answer within 120 s:\n" + log());
                Thread.sleep(200);
            }
        }
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.getOutputStream().close(); // its watchdog ends it
            if (!broker.waitFor(30, TimeUnit.SECONDS)) {
                broker.destroyForcibly();
            }
        }
    }

    @Test
    void theCredentialsOfAConfigFileReachEveryClient() throws Exception {
        Path config = writeConfig("good.properties", "symcurv-secret");
        org.symcurv.apps.CliRun produced = symcurv("produce", "--bootstrap", bootstrap, "--config", config.toString(), "--topic", "sasl",
                "--stream", "permuted", "--tasks", "1", "--examples", "1000", "--holdout", "200", "--model", "m");
        assertEquals(0, produced.exitCode(), produced.out() + produced.err());
        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", bootstrap, "--config", config.toString(), "--topic", "sasl",
                "--group", "sasl", "--events-topic", "sasl-events", "--dead-letter-topic", "sasl-dead", "--stop-after-tasks", "1",
                "--checkpoint-dir", dir.resolve("ckpt").toString());
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("task task-0 consolidated"), run.out());
    }

    @Test
    void aWrongPasswordStopsTheServiceNamingTheSettingsToCheck() throws Exception {
        Path config = writeConfig("wrong.properties", "not-the-password");
        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", bootstrap, "--config", config.toString(), "--topic", "sasl-wrong",
                "--group", "sasl-wrong", "--stop-when-idle", "30", "--checkpoint-dir", dir.resolve("ckpt-wrong").toString());
        assertEquals(1, run.exitCode(), run.out() + run.err());
        assertTrue(run.err().contains("refused") && run.err().contains("sasl.jaas.config") && !run.err().contains("unexpected failure"),
                run.err());
    }

    private static Properties clientSettings(String password) {
        Properties p = new Properties();
        p.setProperty("security.protocol", "SASL_PLAINTEXT");
        p.setProperty("sasl.mechanism", "PLAIN");
        p.setProperty("sasl.jaas.config", String.format(USER_JAAS, password));
        return p;
    }

    private static Path writeConfig(String name, String password) throws Exception {
        Path file = dir.resolve(name);
        try (Writer w = Files.newBufferedWriter(file)) {
            clientSettings(password).store(w, "client settings");
        }
        return file;
    }

    private static String log() {
        try {
            return Files.readString(dir.resolve("broker.log"));
        } catch (Exception e) {
            return "(no log)";
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
