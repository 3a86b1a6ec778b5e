package org.symcurv.apps.common;

import org.nd4j.linalg.factory.Nd4j;

/**
 * The number of threads ND4J's native operations use: libnd4j's thread pool and OpenMP regions, and OpenBLAS. Setting it
 * here works like {@code OMP_NUM_THREADS} in the environment, for one command.
 */
public final class NativeThreads {
    private NativeThreads() {
    }

    /**
     * @param threads at least 1
     */
    public static void set(int threads) {
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads); // OpenBLAS's own pool (openblas_set_num_threads)
    }
}
