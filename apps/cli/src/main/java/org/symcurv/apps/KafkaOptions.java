package org.symcurv.apps;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.symcurv.apps.stream.EmbeddedBroker;
import org.symcurv.apps.stream.KafkaSettings;
import picocli.CommandLine.Option;

/**
 * The Kafka options shared by {@code symcurv stream} and {@code symcurv produce}: where the brokers are (or the embedded
 * broker), and Kafka client settings from a properties file and {@code --kafka KEY=VALUE}.
 */
public final class KafkaOptions {
    @Option(names = "--bootstrap", paramLabel = "HOST:PORT[,...]",
            description = "Kafka brokers (bootstrap.servers). Without it (and without bootstrap.servers in --config/--kafka) the "
                    + "embedded single-node broker on 127.0.0.1 is used, started when it is not running.")
    String bootstrap;

    @Option(names = "--embedded-dir", paramLabel = "DIR", defaultValue = "reports/stream/broker",
            description = "Data directory of the embedded broker (default: ${DEFAULT-VALUE}).")
    Path embeddedDir;

    @Option(names = "--embedded-port", paramLabel = "PORT", defaultValue = "" + EmbeddedBroker.DEFAULT_PORT,
            description = "Client port of a new embedded broker on 127.0.0.1 (default: ${DEFAULT-VALUE}); a data directory keeps the port it was created with.")
    int embeddedPort;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file: keys 'symcurv.OPTION' set the command's options (e.g. symcurv.topic=tasks); every other key is a "
                    + "Kafka client setting (security.protocol, sasl.*, ssl.*, ...), 'consumer.'/'producer.'/'admin.' prefixes for one client only. "
                    + "Command-line options win.")
    Path config;

    @Option(names = "--kafka", paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "A Kafka client setting (repeatable), like a key of --config; wins over the file.")
    Map<String, String> kafka = new LinkedHashMap<>();

    /** The file's properties, or empty without --config. */
    Properties fileProperties() {
        Properties p = new Properties();
        if (config == null) {
            return p;
        }
        try (Reader r = Files.newBufferedReader(config)) {
            p.load(r);
        } catch (NoSuchFileException e) {
            throw new SymcurvCli.CommandFailure("--config " + config + " does not exist; give a Java properties file");
        } catch (IOException | IllegalArgumentException e) {
            throw new SymcurvCli.CommandFailure("cannot read --config " + config + ": " + SymcurvCli.describe(e));
        }
        return p;
    }

    /** The Kafka client settings: the file's non-'symcurv.' keys, then --kafka. */
    KafkaSettings settings() {
        Properties all = new Properties();
        Properties file = fileProperties();
        for (String key : file.stringPropertyNames()) {
            if (!key.startsWith("symcurv.")) {
                all.setProperty(key, file.getProperty(key));
            }
        }
        kafka.forEach(all::setProperty);
        return new KafkaSettings(all);
    }

    /** Where to connect: --bootstrap, else bootstrap.servers from the settings, else null (the embedded broker). */
    String explicitBootstrap(KafkaSettings settings) {
        return bootstrap != null ? bootstrap : settings.bootstrapOrNull();
    }

    /**
     * The embedded broker's address, starting it when nothing listens there yet.
     *
     * @return the started broker (the caller closes it), or null when one was already running
     */
    EmbeddedBroker startEmbeddedIfNeeded(java.io.PrintWriter out) {
        if (EmbeddedBroker.isListening(embeddedDir, embeddedPort)) {
            return null;
        }
        out.printf("starting the embedded Kafka broker (data in %s) ...%n", embeddedDir);
        out.flush();
        try {
            EmbeddedBroker broker = EmbeddedBroker.start(embeddedDir, embeddedPort, Duration.ofSeconds(120));
            out.printf("embedded Kafka broker listening on %s%n", broker.bootstrap());
            out.flush();
            return broker;
        } catch (IOException e) {
            throw new SymcurvCli.CommandFailure("could not start the embedded Kafka broker in " + embeddedDir + ": " + e.getMessage()
                    + "\nIf another program uses port " + embeddedPort + ", pass --embedded-port or --bootstrap", e);
        }
    }

    String embeddedBootstrap() {
        return EmbeddedBroker.bootstrapOf(embeddedDir, embeddedPort);
    }
}
