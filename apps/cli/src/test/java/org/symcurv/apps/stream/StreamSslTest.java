package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.CliRun.symcurv;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SSL settings pass through to a broker that speaks only SSL, with certificates the test makes itself with the JDK's
 * {@code keytool}, so it runs on a fresh machine: a certificate authority, the broker's key pair signed by it (subject
 * alternative name {@code IP:127.0.0.1}, so the client's host-name check passes), and a client truststore holding the
 * CA's certificate. With that truststore in {@code --config}, {@code produce} and {@code stream} work as against the open
 * embedded broker; with a truststore of another CA the TLS handshake fails and {@code stream} stops with exit code 1
 * naming the {@code ssl.*} settings.
 */
class StreamSslTest {
    private static final String PASSWORD = "symcurv-test";

    @TempDir
    static Path dir;
    static SecuredBroker broker;
    static Path truststore;
    static Path foreignTruststore;

    @BeforeAll
    static void startSslBroker() throws Exception {
        Path pki = Files.createDirectories(dir.resolve("pki"));
        Path caStore = pki.resolve("ca.p12");
        Path caCert = pki.resolve("ca.pem");
        Path brokerStore = pki.resolve("broker.p12");
        Path request = pki.resolve("broker.csr");
        Path brokerCert = pki.resolve("broker.pem");
        truststore = pki.resolve("client-truststore.p12");
        keytool("-genkeypair", "-keystore", caStore, "-alias", "ca", "-dname", "CN=symcurv test CA", "-ext", "bc:c");
        keytool("-exportcert", "-rfc", "-keystore", caStore, "-alias", "ca", "-file", caCert);
        keytool("-genkeypair", "-keystore", brokerStore, "-alias", "broker", "-dname", "CN=127.0.0.1");
        keytool("-certreq", "-keystore", brokerStore, "-alias", "broker", "-file", request);
        keytool("-gencert", "-keystore", caStore, "-alias", "ca", "-infile", request, "-outfile", brokerCert, "-rfc",
                "-ext", "san=ip:127.0.0.1", "-ext", "eku=serverAuth,clientAuth");
        keytool("-importcert", "-noprompt", "-keystore", brokerStore, "-alias", "ca", "-file", caCert);
        keytool("-importcert", "-keystore", brokerStore, "-alias", "broker", "-file", brokerCert);
        keytool("-importcert", "-noprompt", "-keystore", truststore, "-alias", "ca", "-file", caCert);
        // a truststore of an unrelated CA: the broker's certificate does not chain to it
        Path otherCa = pki.resolve("other-ca.p12");
        Path otherCert = pki.resolve("other-ca.pem");
        foreignTruststore = pki.resolve("foreign-truststore.p12");
        keytool("-genkeypair", "-keystore", otherCa, "-alias", "ca", "-dname", "CN=another CA", "-ext", "bc:c");
        keytool("-exportcert", "-rfc", "-keystore", otherCa, "-alias", "ca", "-file", otherCert);
        keytool("-importcert", "-noprompt", "-keystore", foreignTruststore, "-alias", "ca", "-file", otherCert);

        Properties server = new Properties();
        server.setProperty("ssl.keystore.location", brokerStore.toString());
        server.setProperty("ssl.keystore.type", "PKCS12");
        server.setProperty("ssl.keystore.password", PASSWORD);
        server.setProperty("ssl.key.password", PASSWORD);
        server.setProperty("ssl.truststore.location", truststore.toString());
        server.setProperty("ssl.truststore.type", "PKCS12");
        server.setProperty("ssl.truststore.password", PASSWORD);
        server.setProperty("ssl.client.auth", "none");
        broker = SecuredBroker.start(dir, "SSL", server, clientSettings(truststore));
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aTruststoreOfTheBrokersCaReachesEveryClient() throws Exception {
        Path config = SecuredBroker.writeConfig(dir.resolve("good.properties"), clientSettings(truststore));
        org.symcurv.apps.CliRun produced = symcurv("produce", "--bootstrap", broker.bootstrap, "--config", config.toString(), "--topic", "ssl",
                "--stream", "permuted", "--tasks", "1", "--examples", "1000", "--holdout", "200", "--model", "m",
                "--data", org.symcurv.core.testing.TestData.fashionMnistSubset().toString());
        assertEquals(0, produced.exitCode(), produced.out() + produced.err());
        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", broker.bootstrap, "--config", config.toString(), "--topic", "ssl",
                "--group", "ssl", "--events-topic", "ssl-events", "--dead-letter-topic", "ssl-dead", "--stop-after-tasks", "1",
                "--checkpoint-dir", dir.resolve("ckpt").toString());
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("task task-0 consolidated"), run.out());
    }

    @Test
    void aTruststoreOfAnotherCaStopsTheServiceNamingTheSslSettings() throws Exception {
        Path config = SecuredBroker.writeConfig(dir.resolve("foreign.properties"), clientSettings(foreignTruststore));
        org.symcurv.apps.CliRun run = symcurv("stream", "--bootstrap", broker.bootstrap, "--config", config.toString(), "--topic", "ssl-foreign",
                "--group", "ssl-foreign", "--stop-when-idle", "30", "--checkpoint-dir", dir.resolve("ckpt-foreign").toString());
        assertEquals(1, run.exitCode(), run.out() + run.err());
        assertTrue(run.err().contains("refused") && run.err().contains("ssl.") && !run.err().contains("unexpected failure"), run.err());
    }

    private static Properties clientSettings(Path trusted) {
        Properties p = new Properties();
        p.setProperty("security.protocol", "SSL");
        p.setProperty("ssl.truststore.location", trusted.toString());
        p.setProperty("ssl.truststore.type", "PKCS12");
        p.setProperty("ssl.truststore.password", PASSWORD);
        return p;
    }

    /** Runs the JDK's keytool with a 2048-bit RSA key, PKCS12 stores and the test password; fails on a non-zero exit. */
    private static void keytool(Object... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        for (Object a : args) {
            command.add(a.toString());
        }
        if (command.contains("-genkeypair")) {
            command.addAll(List.of("-keyalg", "RSA", "-keysize", "2048", "-validity", "2"));
        }
        command.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
        if (command.contains("-genkeypair")) {
            command.addAll(List.of("-keypass", PASSWORD));
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool did not finish: " + command);
        assertEquals(0, p.exitValue(), () -> String.join(" ", command) + "\n" + out);
    }
}
