package org.symcurv.apps.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What a timing depends on: processors, CPU model, memory, the load average when measuring, the JVM and the
 * ND4J backend. Read from {@code /proc} where available (Linux); missing entries are reported as unknown.
 */
final class Machine {
    private Machine() {
    }

    /** Static facts about the machine and the runtime. */
    static Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("availableProcessors", Runtime.getRuntime().availableProcessors());
        m.put("cpuModel", cpuModel());
        m.put("memTotalKiB", memTotalKiB());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        m.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        m.put("javacppMaxBytes", org.bytedeco.javacpp.Pointer.maxBytes());
        m.put("javacppMaxPhysicalBytes", org.bytedeco.javacpp.Pointer.maxPhysicalBytes());
        m.put("nd4jBackend", Nd4j.getBackend().getClass().getSimpleName());
        m.put("nd4jMaxThreads", Nd4j.getEnvironment().maxThreads());
        m.put("nd4jMaxMasterThreads", Nd4j.getEnvironment().maxMasterThreads());
        m.put("OMP_NUM_THREADS", System.getenv("OMP_NUM_THREADS"));
        return m;
    }

    /** The 1-, 5- and 15-minute load averages, or an empty list when unknown. */
    static List<Double> loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return List.of(Double.parseDouble(parts[0]), Double.parseDouble(parts[1]), Double.parseDouble(parts[2]));
        } catch (IOException | RuntimeException e) {
            double one = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            return one < 0 ? List.of() : List.of(one);
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return "unknown";
    }

    private static Long memTotalKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return null;
    }
}
