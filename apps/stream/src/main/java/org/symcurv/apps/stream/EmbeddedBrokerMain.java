package org.symcurv.apps.stream;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;

/**
 * The entry point of the embedded broker's JVM (started by {@link EmbeddedBroker}): formats the KRaft storage
 * directory when it is new ({@code kafka.tools.StorageTool format --ignore-formatted}), then runs
 * {@code kafka.Kafka} on the given {@code server.properties}. It exits when its standard input reaches end of file,
 * that is when the process that started it ends, even by SIGKILL: an embedded broker never outlives its owner.
 *
 * <p>Arguments: {@code SERVER_PROPERTIES CLUSTER_ID}. Its output goes to the broker's log file.
 */
public final class EmbeddedBrokerMain {
    private EmbeddedBrokerMain() {
    }

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: EmbeddedBrokerMain SERVER_PROPERTIES CLUSTER_ID");
            System.exit(2);
        }
        Thread watchdog = new Thread(() -> {
            try (InputStream in = System.in) {
                byte[] buffer = new byte[64];
                while (in.read(buffer) >= 0) {
                    // the owner never writes; end of file means it is gone
                }
            } catch (IOException e) {
                // treated like end of file
            }
            System.exit(0);
        }, "owner-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        PrintStream out = System.out;
        int formatted = kafka.tools.StorageTool.execute(new String[] {"format", "--config", args[0], "--cluster-id", args[1],
                "--ignore-formatted"}, out);
        if (formatted != 0) {
            System.err.println("formatting the storage failed with exit code " + formatted);
            System.exit(formatted);
        }
        kafka.Kafka.main(new String[] {args[0]});
    }
}
