package org.symcurv.apps.stream;

import java.util.Map;
import java.util.Properties;

/**
 * Kafka client settings passed through from the user (a properties file and {@code --kafka KEY=VALUE}): a key without a
 * prefix goes to every client the command makes (so {@code security.protocol}, {@code sasl.*}, {@code ssl.*} reach them
 * all); a key prefixed {@code consumer.}, {@code producer.} or {@code admin.} goes to that client only, without the prefix.
 * The command's own defaults are applied only where the user set nothing.
 */
public final class KafkaSettings {
    private final Properties user;

    public KafkaSettings(Properties user) {
        this.user = new Properties();
        this.user.putAll(user);
    }

    /** Settings for one client kind ({@code "consumer"}, {@code "producer"} or {@code "admin"}) over the given defaults. */
    public Properties forClient(String kind, String bootstrap, Map<String, String> defaults) {
        Properties p = new Properties();
        p.putAll(defaults);
        if (bootstrap != null) {
            p.setProperty("bootstrap.servers", bootstrap);
        }
        for (String key : user.stringPropertyNames()) {
            if (!key.startsWith("consumer.") && !key.startsWith("producer.") && !key.startsWith("admin.")) {
                p.setProperty(key, user.getProperty(key));
            }
        }
        String prefix = kind + ".";
        for (String key : user.stringPropertyNames()) {
            if (key.startsWith(prefix)) {
                p.setProperty(key.substring(prefix.length()), user.getProperty(key));
            }
        }
        return p;
    }

    /** Whether the user named the brokers ({@code bootstrap.servers} in the file or {@code --kafka}). */
    public String bootstrapOrNull() {
        return user.getProperty("bootstrap.servers");
    }
}
