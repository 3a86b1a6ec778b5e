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
 * The leaves of a parameter layout split into matrices (rank ≥ 2) and the rest (biases and other vectors): Muon and
 * Shampoo precondition the matrices and hand the rest to Adam. A leaf of rank above 2 is the matrix DL4J multiplies
 * with: a {@code 'c'} leaf its first axis against the others (a convolution kernel {@code [out, in, kH, kW]} as
 * {@code [out, in·kH·kW]}, the im2col form), an {@code 'f'} leaf the others against its last axis (the dense weight
 * after a flattening, {@code [H·W, C, nOut]}, as DL4J's {@code [nIn, nOut]}); a rank-2 leaf is itself.
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
            if (leaf.rank() >= 2) {
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

    /** Rows of the leaf's matrix: {@code nIn} of a dense weight, {@code out} of a kernel. */
    static long rows(LeafSpec leaf) {
        return leaf.order() == 'c' ? leaf.size(0) : leaf.length() / leaf.size(leaf.rank() - 1);
    }

    /** Columns of the leaf's matrix: {@code nOut} of a dense weight, {@code in·kH·kW} of a kernel. */
    static long columns(LeafSpec leaf) {
        return leaf.length() / rows(leaf);
    }

    /** The leaf as its matrix {@code [rows, columns]}: a copy in {@code 'c'} order. */
    static INDArray matrix(INDArray flat, LeafSpec leaf) {
        INDArray tensor = KindDecomposition.leafTensor(flat, leaf);
        return (leaf.rank() == 2 ? tensor : tensor.reshape(leaf.order(), new long[] {rows(leaf), columns(leaf)})).dup('c');
    }

    /** Writes a matrix {@code [rows, columns]} of the leaf into its place in {@code flatOut} (modified). */
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
