package org.symcurv.apps.stream;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.symcurv.core.data.AtomicFiles;

/**
 * A real single-node Kafka broker (KRaft, broker and controller in one process, Kafka 4.3.1) in a child JVM,
 * listening on loopback only, with its data in a local directory so that topics, records and committed offsets
 * survive a restart. The child runs {@link EmbeddedBrokerMain} with this JVM's class path, so it needs no Kafka
 * installation; it ends when this process ends (even by SIGKILL), because it watches its standard input.
 *
 * <p>The directory holds {@code embedded-broker.properties} (the cluster id and the two ports, chosen on first
 * start and kept, so a restart finds the same broker at the same address), {@code server.properties},
 * {@code kraft/} (the log directory) and {@code broker.log} (the child's output).
 */
public final class EmbeddedBroker implements AutoCloseable {
    /** The port the service and the producer use for the embedded broker unless told otherwise. */
    public static final int DEFAULT_PORT = 19092;

    private final Path dir;
    private final int port;
    private final int controllerPort;
    private final String clusterId;
    private final List<String> jvmOptions;
    private Process process;

    private EmbeddedBroker(Path dir, int port, int controllerPort, String clusterId, List<String> jvmOptions) {
        this.dir = dir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.clusterId = clusterId;
        this.jvmOptions = jvmOptions;
    }

    /**
     * Starts the broker whose data is in {@code dir} (creating and formatting it when new) and waits until it
     * answers.
     *
     * @param port the client port on 127.0.0.1 for a new directory, 0 for any free port; a directory used before
     *             keeps its ports
     * @throws IOException when the directory cannot be written, the child cannot be started, or the broker does
     *                     not answer within {@code timeout} (the message quotes the end of its log)
     */
    public static EmbeddedBroker start(Path dir, int port, Duration timeout) throws IOException {
        Path absolute = dir.toAbsolutePath().normalize();
        Files.createDirectories(absolute);
        Path settings = absolute.resolve("embedded-broker.properties");
        Properties p = new Properties();
        if (Files.exists(settings)) {
            try (Reader r = Files.newBufferedReader(settings)) {
                p.load(r);
            }
        } else {
            int clientPort = port == 0 ? freePort() : port;
            int controller = freePort();
            while (controller == clientPort) {
                controller = freePort();
            }
            p.setProperty("port", Integer.toString(clientPort));
            p.setProperty("controller.port", Integer.toString(controller));
            p.setProperty("cluster.id", Uuid.randomUuid().toString());
            Path tmp = AtomicFiles.createSiblingTemp(settings);
            try (Writer w = Files.newBufferedWriter(tmp)) {
                p.store(w, "symcurv embedded broker: the address and identity kept across restarts");
            }
            AtomicFiles.moveIntoPlace(tmp, settings, false);
        }
        EmbeddedBroker broker = new EmbeddedBroker(absolute, Integer.parseInt(p.getProperty("port")),
                Integer.parseInt(p.getProperty("controller.port")), p.getProperty("cluster.id"),
                List.of("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        broker.launch(timeout);
        return broker;
    }

    /** {@code 127.0.0.1:PORT}, for {@code bootstrap.servers}. */
    public String bootstrap() {
        return "127.0.0.1:" + port;
    }

    public Path directory() {
        return dir;
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Whether something accepts connections on the client port of the embedded broker in {@code dir}. */
    public static boolean isListening(Path dir, int defaultPort) {
        int p = defaultPort;
        Path settings = dir.toAbsolutePath().resolve("embedded-broker.properties");
        if (Files.exists(settings)) {
            Properties props = new Properties();
            try (Reader r = Files.newBufferedReader(settings)) {
                props.load(r);
                p = Integer.parseInt(props.getProperty("port"));
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), p), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The client address of the embedded broker whose data is (or will be) in {@code dir}. */
    public static String bootstrapOf(Path dir, int defaultPort) {
        Path settings = dir.toAbsolutePath().resolve("embedded-broker.properties");
        if (Files.exists(settings)) {
            Properties props = new Properties();
            try (Reader r = Files.newBufferedReader(settings)) {
                props.load(r);
                return "127.0.0.1:" + Integer.parseInt(props.getProperty("port"));
            } catch (IOException | RuntimeException e) {
                // fall through to the default
            }
        }
        return "127.0.0.1:" + defaultPort;
    }

    /** Kills the broker at once (SIGKILL), as a crash would; {@link #restart} brings it back on the same data. */
    public void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Starts the broker again on the same directory and ports after {@link #kill} or {@link #close}. */
    public void restart(Duration timeout) throws IOException {
        if (isAlive()) {
            throw new IllegalStateException("the embedded broker in " + dir + " is still running");
        }
        launch(timeout);
    }

    /** Stops the broker: closing its standard input makes it shut down cleanly; it is killed after 30 s. */
    @Override
    public void close() {
        if (process == null) {
            return;
        }
        try {
            process.getOutputStream().close();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private void launch(Duration timeout) throws IOException {
        Properties server = serverProperties(port, controllerPort, dir.resolve("kraft"));
        Path serverProperties = dir.resolve("server.properties");
        Path tmp = AtomicFiles.createSiblingTemp(serverProperties);
        try (Writer w = Files.newBufferedWriter(tmp)) {
            server.store(w, "written by symcurv for its embedded broker; rewritten on every start");
        }
        AtomicFiles.moveIntoPlace(tmp, serverProperties, true);

        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(EmbeddedBrokerMain.class.getName());
        command.add(serverProperties.toString());
        command.add(clusterId);
        Path log = dir.resolve("broker.log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        process = builder.start();
        awaitReady(timeout, log);
    }

    /**
     * The {@code server.properties} of a single-node KRaft broker (broker and controller in one process) with a PLAINTEXT
     * client listener on {@code 127.0.0.1:port}, its controller on {@code controllerPort} and its log in {@code logDir};
     * every internal topic with one replica, topics kept forever, records up to 10 MiB.
     */
    static Properties serverProperties(int port, int controllerPort, Path logDir) {
        Properties server = new Properties();
        server.setProperty("process.roles", "broker,controller");
        server.setProperty("node.id", "1");
        server.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        server.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        server.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        server.setProperty("controller.listener.names", "CONTROLLER");
        server.setProperty("inter.broker.listener.name", "PLAINTEXT");
        server.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        server.setProperty("log.dirs", logDir.toString());
        server.setProperty("num.partitions", "1");
        server.setProperty("offsets.topic.replication.factor", "1");
        server.setProperty("offsets.topic.num.partitions", "1");
        server.setProperty("transaction.state.log.replication.factor", "1");
        server.setProperty("transaction.state.log.min.isr", "1");
        server.setProperty("share.coordinator.state.topic.replication.factor", "1");
        server.setProperty("share.coordinator.state.topic.min.isr", "1");
        server.setProperty("group.initial.rebalance.delay.ms", "0");
        server.setProperty("auto.create.topics.enable", "true");
        server.setProperty("log.retention.hours", "-1");
        server.setProperty("message.max.bytes", "10485760");
        return server;
    }

    private void awaitReady(Duration timeout, Path log) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Properties admin = new Properties();
        admin.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        admin.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        admin.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        try (Admin client = Admin.create(admin)) {
            while (true) {
                if (!process.isAlive()) {
                    throw new IOException("the embedded Kafka broker exited with code " + process.exitValue() + " while starting; its log "
                            + log + " ends with:\n" + tail(log));
                }
                try {
                    if (!client.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    // not up yet
                }
                if (System.nanoTime() > deadline) {
                    process.destroyForcibly();
                    throw new IOException("the embedded Kafka broker did not answer on " + bootstrap() + " within " + timeout.toSeconds()
                            + " s; its log " + log + " ends with:\n" + tail(log));
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the embedded broker", e);
                }
            }
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

}
