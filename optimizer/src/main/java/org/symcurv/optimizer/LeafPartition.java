package org.symcurv.optimizer;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The leaves of a parameter layout split into matrices (rank 2, e.g. dense weights {@code [nIn, nOut]}) and the
 * rest (biases and other vectors): Muon and Shampoo precondition the matrices and hand the rest to Adam.
 */
final class LeafPartition {
    private final SymmetrySpec layout;
    private final List<LeafSpec> matrices = new ArrayList<>();
    private final List<LeafSpec> rest = new ArrayList<>();
    private final long restLength;

    LeafPartition(SymmetrySpec layout) {
        this.layout = layout;
        long n = 0;
        for (LeafSpec leaf : layout.leaves()) {
            if (leaf.rank() == 2) {
                matrices.add(leaf);
            } else {
                rest.add(leaf);
                n += leaf.length();
            }
        }
        this.restLength = n;
    }

    SymmetrySpec layout() {
        return layout;
    }

    long parameterCount() {
        return layout.parameterCount();
    }

    List<LeafSpec> matrices() {
        return matrices;
    }

    long restLength() {
        return restLength;
    }

    /** The leaf as a matrix {@code [nIn, nOut]}: a copy in {@code 'c'} order. */
    static INDArray matrix(INDArray flat, LeafSpec leaf) {
        return KindDecomposition.leafTensor(flat, leaf).dup('c');
    }

    /** Writes a matrix of the leaf's shape into its place in {@code flatOut} (modified). */
    static void put(INDArray flatOut, LeafSpec leaf, INDArray matrix) {
        flatOut.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                .assign(Nd4j.toFlattened(leaf.order(), matrix.castTo(flatOut.dataType())));
    }

    /** The non-matrix leaves of {@code flat}, concatenated in layout order: a new {@code [restLength]} array. */
    INDArray gatherRest(INDArray flat) {
        if (rest.isEmpty()) {
            return Nd4j.create(flat.dataType(), 0);
        }
        INDArray[] parts = new INDArray[rest.size()];
        for (int i = 0; i < parts.length; i++) {
            LeafSpec leaf = rest.get(i);
            parts[i] = flat.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()));
        }
        return parts.length == 1 ? parts[0].dup() : Nd4j.concat(0, parts);
    }

    /** Writes a {@code [restLength]} vector back into the non-matrix leaves of {@code flatOut} (modified). */
    void scatterRest(INDArray restValues, INDArray flatOut) {
        long at = 0;
        for (LeafSpec leaf : rest) {
            flatOut.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                    .assign(restValues.get(NDArrayIndex.interval(at, at + leaf.length())));
            at += leaf.length();
        }
    }
}
