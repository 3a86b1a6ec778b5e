package org.symcurv.uncertainty;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.io.CurvatureFile;
import org.symcurv.core.operator.Curvature;

/**
 * A Laplace posterior on disk: a curvature file ({@link CurvatureFile}, {@code .scv}) holding the per-example Fisher
 * {@code F} on the posterior's leaves, with the data size {@code N} and the prior precision per leaf in its metadata.
 * The mean {@code θ*} is not stored: it is the model's weights, read from the model the posterior was fitted to.
 * Metadata keys: {@value #KIND} = {@value #KIND_VALUE}, {@value #DATA_SIZE}, {@value #PRIOR} ({@code leaf=λ;…}),
 * {@value #STRUCTURE}, {@value #SUBSET}, plus whatever the caller adds.
 */
public final class PosteriorFile {
    public static final String KIND = "kind";
    public static final String KIND_VALUE = "laplace-posterior";
    public static final String DATA_SIZE = "laplace.data-size";
    public static final String PRIOR = "laplace.prior-precision";
    public static final String STRUCTURE = "laplace.structure";
    public static final String SUBSET = "laplace.subset";

    private PosteriorFile() {
    }

    /**
     * What a file holds.
     *
     * @param fisher   {@code F}
     * @param dataSize {@code N}
     * @param prior    {@code Λ}
     * @param metadata everything in the file's metadata (unmodifiable)
     */
    public record Contents(Curvature fisher, long dataSize, PriorPrecision prior, Map<String, String> metadata) {
        /** The posterior around {@code mean} ({@code θ*} on the stored leaves, e.g. {@link LeafSubset#extract} of the model's weights). */
        public LaplacePosterior posterior(INDArray mean) {
            return LaplacePosterior.of(fisher, dataSize, prior, mean);
        }
    }

    /**
     * Writes {@code posterior} (atomically; see {@link CurvatureFile#write}).
     *
     * @param extra more metadata (e.g. the model file, the Fisher's seed); must not use this class's keys
     */
    public static void write(Path target, LaplacePosterior posterior, Map<String, String> extra, boolean replaceExisting) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(KIND, KIND_VALUE);
        m.put(DATA_SIZE, Long.toString(posterior.dataSize()));
        StringBuilder prior = new StringBuilder();
        posterior.prior().perLeaf().forEach((leaf, v) -> prior.append(prior.length() == 0 ? "" : ";").append(leaf).append('=').append(Double.toString(v)));
        m.put(PRIOR, prior.toString());
        for (Map.Entry<String, String> e : extra.entrySet()) {
            if (m.containsKey(e.getKey())) {
                throw new IllegalArgumentException("metadata key '" + e.getKey() + "' is reserved for the posterior itself");
            }
            m.put(e.getKey(), e.getValue());
        }
        CurvatureFile.write(target, posterior.fisher(), m, replaceExisting);
    }

    /**
     * Reads a posterior file.
     *
     * @throws IOException             if the file cannot be read or is not a valid curvature file
     * @throws IllegalArgumentException if it is a curvature file but not a Laplace posterior (naming what is missing)
     */
    public static Contents read(Path file) throws IOException {
        CurvatureFile.Contents contents = CurvatureFile.read(file);
        Map<String, String> m = contents.metadata();
        if (!KIND_VALUE.equals(m.get(KIND)) || !m.containsKey(DATA_SIZE) || !m.containsKey(PRIOR)) {
            throw new IllegalArgumentException(file + " is a curvature file but not a Laplace posterior (no '" + KIND + "=" + KIND_VALUE
                    + "', '" + DATA_SIZE + "' and '" + PRIOR + "' metadata): write one with 'symcurv laplace'");
        }
        long n;
        Map<String, Double> prior = new LinkedHashMap<>();
        try {
            n = Long.parseLong(m.get(DATA_SIZE).trim());
            for (String part : m.get(PRIOR).split(";")) {
                int eq = part.indexOf('=');
                prior.put(part.substring(0, eq), Double.parseDouble(part.substring(eq + 1)));
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + " has unreadable posterior metadata (" + DATA_SIZE + "=" + m.get(DATA_SIZE) + ", "
                    + PRIOR + "=" + m.get(PRIOR) + ")", e);
        }
        return new Contents(contents.curvature(), n, PriorPrecision.perLeaf(prior, contents.curvature().spec()), m);
    }
}
