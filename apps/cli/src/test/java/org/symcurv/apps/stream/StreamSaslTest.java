package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.CliRun.symcurv;

import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka client settings pass through to a broker that demands authentication: a real KRaft broker (Kafka 4.3.1, child
 * JVM, loopback) whose only client listener is SASL_PLAINTEXT with the PLAIN mechanism. With the credentials in a
 * {@code --config} file, {@code symcurv produce} and {@code symcurv stream} work as against the open embedded broker; with
 * a wrong password the service stops at once with exit code 1 and a message that names the settings to check. (SSL:
 * {@link StreamSslTest}.)
 */
class StreamSaslTest {
    private static final String USER_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"symcurv\" password=\"%s\";";

    @TempDir
    static Path dir;
    static SecuredBroker broker;

    @BeforeAll
    static void startSaslBroker() throws Exception {
        Properties server = new Properties();
        server.setProperty("sasl.enabled.mechanisms", "PLAIN");
        server.setProperty("sasl.mechanism.inter.broker.protocol", "PLAIN");
        server.setProperty("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" "
                        + "user_admin=\"admin-secret\" user_symcurv=\"symcurv-secret\";");
        broker = SecuredBroker.start(dir, "SASL_PLAINTEXT", server, clientSettings("symcurv-secret"));
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void theCredentialsOfAConfigFileReachEveryClient() throws Exception {
        Path config = SecuredBroker.writeConfig(dir.resolve("good.properties"), clientSettings("symcurv-secret"));
        org.symcurv.apps.CliRun produced = symcurv("produce", "--bootstrap", broker.bootstrap, "--config", config.toString(), "--topic", "sasl",
                "--stream", "permuted", "--tasks", "1", "--examples", "1000", "--holdout", "200", "--model", "m",
                "--data", org.symcurv.core.testing.TestData.fashionMnistSubset().toString());
        assertEquals(0, produced.exitCode(), produced.out() + produced.err());
        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", broker.bootstrap, "--config", config.toString(), "--topic", "sasl",
                "--group", "sasl", "--events-topic", "sasl-events", "--dead-letter-topic", "sasl-dead", "--stop-after-tasks", "1",
                "--checkpoint-dir", dir.resolve("ckpt").toString());
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("task task-0 consolidated"), run.out());
    }

    @Test
    void aWrongPasswordStopsTheServiceNamingTheSettingsToCheck() throws Exception {
        Path config = SecuredBroker.writeConfig(dir.resolve("wrong.properties"), clientSettings("not-the-password"));
        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", broker.bootstrap, "--config", config.toString(), "--topic", "sasl-wrong",
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
}
