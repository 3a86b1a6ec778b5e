package org.symcurv.apps.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;

/**
 * Wall-clock timing with warm-up and repeats (median reported), and the peak memory seen while the measured runs
 * execute: JVM heap in use, JavaCPP-tracked off-heap bytes ({@link Pointer#totalBytes()}, where ND4J's CPU arrays
 * live) and the process's resident set ({@link Pointer#physicalBytes()}), sampled every millisecond by a daemon
 * thread. ND4J frees off-heap buffers when the garbage collector finds their Java handles unreachable, so a peak
 * includes garbage not yet collected: it is what the process needed, not the live data alone.
 *
 * @param what          label of the measured operation
 * @param runs          measured runs (after warm-up)
 * @param warmups       warm-up runs
 * @param medianMillis  median wall-clock time of the measured runs
 * @param minMillis     fastest measured run
 * @param maxMillis     slowest measured run
 * @param peakHeapBytes largest heap in use during the measured runs
 * @param peakOffHeapBytes largest JavaCPP-tracked off-heap allocation during the measured runs
 * @param peakResidentBytes largest resident set of the process during the measured runs
 * @param baselineHeapBytes heap in use after a GC just before the measured runs
 * @param baselineOffHeapBytes off-heap bytes after that GC
 */
record Measurement(String what, int runs, int warmups, double medianMillis, double minMillis, double maxMillis,
                   long peakHeapBytes, long peakOffHeapBytes, long peakResidentBytes,
                   long baselineHeapBytes, long baselineOffHeapBytes) {

    /** How many times to run an operation. */
    record Plan(int warmups, int repeats, double budgetSeconds) {
        Plan {
            if (warmups < 0 || repeats < 1 || !(budgetSeconds > 0)) {
                throw new IllegalArgumentException("need warmups ≥ 0, repeats ≥ 1 and a positive time budget; got "
                        + warmups + ", " + repeats + ", " + budgetSeconds);
            }
        }
    }

    /**
     * Runs {@code body} {@code plan.warmups()} times (fewer when warm-up alone exceeds a quarter of the budget), then
     * up to {@code plan.repeats()} times, stopping early once the measured runs exceed the budget (at least one run).
     */
    static Measurement of(String what, Plan plan, Runnable body) {
        int warmups = 0;
        long warmupStart = System.nanoTime();
        while (warmups < plan.warmups() && (System.nanoTime() - warmupStart) / 1e9 < plan.budgetSeconds() / 4) {
            body.run();
            warmups++;
        }
        settle();
        long baselineHeap = heapUsed();
        long baselineOffHeap = Pointer.totalBytes();
        List<Double> times = new ArrayList<>();
        try (Sampler sampler = new Sampler()) {
            long start = System.nanoTime();
            while (times.size() < plan.repeats() && (times.isEmpty() || (System.nanoTime() - start) / 1e9 < plan.budgetSeconds())) {
                long t0 = System.nanoTime();
                body.run();
                times.add((System.nanoTime() - t0) / 1e6);
            }
            sampler.sampleNow();
            double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return new Measurement(what, sorted.length, warmups, median(sorted), sorted[0], sorted[sorted.length - 1],
                    sampler.peakHeap, sampler.peakOffHeap, sampler.peakResident, baselineHeap, baselineOffHeap);
        }
    }

    /**
     * Timings of several operations measured in interleaved rounds, one run of each per round (so a change of the
     * machine's load hits all of them alike), with each operation's per-round time as a ratio to operation 0's.
     *
     * @param measurements one per operation, as {@link #of} would give (peak memory over that operation's runs)
     * @param ratios       per operation, the median over the rounds of its time divided by operation 0's in the same round
     */
    record Interleaved(List<Measurement> measurements, double[] ratios) {
    }

    /**
     * Runs every body {@code plan.warmups()} times in turn, then up to {@code plan.repeats()} rounds of one run each, in
     * order, stopping early once the rounds exceed {@code plan.budgetSeconds()} times the number of operations (at least
     * one round).
     */
    static Interleaved interleaved(Plan plan, List<String> names, List<Runnable> bodies) {
        int ops = bodies.size();
        int warmups = 0;
        long warmupStart = System.nanoTime();
        while (warmups < plan.warmups() && (System.nanoTime() - warmupStart) / 1e9 < plan.budgetSeconds() * ops / 4) {
            bodies.forEach(Runnable::run);
            warmups++;
        }
        settle();
        long baselineHeap = heapUsed();
        long baselineOffHeap = Pointer.totalBytes();
        List<List<Double>> times = new ArrayList<>();
        long[][] peaks = new long[ops][3];
        for (int o = 0; o < ops; o++) {
            times.add(new ArrayList<>());
        }
        long start = System.nanoTime();
        while (times.get(0).size() < plan.repeats() && (times.get(0).isEmpty() || (System.nanoTime() - start) / 1e9 < plan.budgetSeconds() * ops)) {
            for (int o = 0; o < ops; o++) {
                try (Sampler sampler = new Sampler()) {
                    long t0 = System.nanoTime();
                    bodies.get(o).run();
                    times.get(o).add((System.nanoTime() - t0) / 1e6);
                    sampler.sampleNow();
                    peaks[o][0] = Math.max(peaks[o][0], sampler.peakHeap);
                    peaks[o][1] = Math.max(peaks[o][1], sampler.peakOffHeap);
                    peaks[o][2] = Math.max(peaks[o][2], sampler.peakResident);
                }
            }
        }
        List<Measurement> out = new ArrayList<>();
        double[] ratios = new double[ops];
        for (int o = 0; o < ops; o++) {
            double[] sorted = times.get(o).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            out.add(new Measurement(names.get(o), sorted.length, warmups, median(sorted), sorted[0], sorted[sorted.length - 1],
                    peaks[o][0], peaks[o][1], peaks[o][2], baselineHeap, baselineOffHeap));
            double[] perRound = new double[sorted.length];
            for (int r = 0; r < perRound.length; r++) {
                perRound[r] = times.get(o).get(r) / times.get(0).get(r);
            }
            ratios[o] = median(perRound);
        }
        return new Interleaved(out, ratios);
    }

    static double median(double[] sorted) {
        double[] s = sorted.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    /** Two GCs with a pause, so ND4J's deallocator thread can return the off-heap buffers of dead arrays. */
    static void settle() {
        for (int i = 0; i < 2; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    static long heapUsed() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("what", what);
        m.put("runs", runs);
        m.put("warmups", warmups);
        m.put("medianMillis", medianMillis);
        m.put("minMillis", minMillis);
        m.put("maxMillis", maxMillis);
        m.put("peakHeapBytes", peakHeapBytes);
        m.put("peakOffHeapBytes", peakOffHeapBytes);
        m.put("peakResidentBytes", peakResidentBytes);
        m.put("baselineHeapBytes", baselineHeapBytes);
        m.put("baselineOffHeapBytes", baselineOffHeapBytes);
        return m;
    }

    /** Peak heap plus off-heap above the baseline: the extra memory the operation needed at its worst. */
    long peakExtraBytes() {
        return Math.max(0, peakHeapBytes - baselineHeapBytes) + Math.max(0, peakOffHeapBytes - baselineOffHeapBytes);
    }

    /** Polls the memory counters every millisecond until closed. */
    private static final class Sampler implements AutoCloseable {
        private volatile boolean running = true;
        private volatile long peakHeap;
        private volatile long peakOffHeap;
        private volatile long peakResident;
        private final Thread thread;

        Sampler() {
            sampleNow();
            thread = new Thread(() -> {
                while (running) {
                    sampleNow();
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "bench-memory-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        synchronized void sampleNow() {
            peakHeap = Math.max(peakHeap, heapUsed());
            peakOffHeap = Math.max(peakOffHeap, Pointer.totalBytes());
            peakResident = Math.max(peakResident, Pointer.physicalBytes());
        }

        @Override
        public void close() {
            running = false;
            thread.interrupt();
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
