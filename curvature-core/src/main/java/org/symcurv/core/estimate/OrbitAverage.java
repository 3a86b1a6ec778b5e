package org.symcurv.core.estimate;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.SymmetricEigen;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;

/**
 * Orbit averages over the spec's group {@code G} (symmetry-curvature.md section 3):
 * <ul>
 *   <li>{@code R1(v) = E_G[A v]}, the component of {@code v} in the invariant kind {@code κ0};</li>
 *   <li>{@code R2(u, v) = E_G[A u vᵀ Aᵀ]}, symmetrised, which on kind {@code κ} is
 *       {@code I_{d_κ} ⊗ B_κ} with {@code B_κ = sym(Z_κ(u)ᵀ Z_κ(v)) / d_κ}.</li>
 * </ul>
 */
public final class OrbitAverage {
    private OrbitAverage() {
    }

    /**
     * {@code R1(v)}: row/column means along {@code PERM} axes, zero on leaves with a {@code SIGN},
     * {@code SIGNED_PERM} or {@code ORTH} axis, unchanged on leaves free on every axis.
     *
     * @param v flat vector {@code [P]}; not modified
     */
    public static INDArray firstOrder(KindDecomposition kinds, INDArray v) {
        INDArray out = Nd4j.zeros(v.dataType(), v.length());
        for (int k = 0; k < kinds.kinds().size(); k++) {
            if (kinds.kinds().get(k).kind().isInvariant()) {
                kinds.scatterAdd(k, kinds.copyMatrix(k, v), out);
            }
        }
        return out;
    }

    /** {@code R2(v, v)}. */
    public static Curvature secondOrder(KindDecomposition kinds, INDArray v) {
        return secondMoment(kinds, v.reshape(1, v.length()), BlockBudget.DEFAULT);
    }

    /**
     * {@code R2(u, v) = E_G[A (u vᵀ + v uᵀ)/2 Aᵀ]}: {@code B_κ = (Z_κ(u)ᵀ Z_κ(v) + Z_κ(v)ᵀ Z_κ(u)) / (2 d_κ)}.
     */
    public static Curvature secondOrder(KindDecomposition kinds, INDArray u, INDArray v) {
        List<INDArray> blocks = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            INDArray zu = kinds.copyMatrix(k, u);
            INDArray zv = kinds.copyMatrix(k, v);
            INDArray b = Nd4j.matmul(zu, zv, true, false, false);
            b = b.add(b.permute(0, 2, 1).dup()).muli(0.5 / kinds.kinds().get(k).dimension());
            blocks.add(b);
        }
        return Curvature.of(kinds, blocks);
    }

    /**
     * The averaged second moment {@code (1/n) Σ_i R2(v_i, v_i)} of the rows of {@code vectors}:
     * {@code B_κ = Σ_i Z_κ(v_i)ᵀ Z_κ(v_i) / (n d_κ) = Z_κᵀ Z_κ / (n d_κ)} with the copy matrices of all rows stacked
     * ({@link KindDecomposition#copyMatrices}), one batched product per kind and no loop over the rows.
     *
     * @param vectors {@code [n, P]}; not modified
     * @param budget  blocks above it keep their diagonal or fail
     */
    public static Curvature secondMoment(KindDecomposition kinds, INDArray vectors, BlockBudget budget) {
        long n = vectors.size(0);
        if (n == 0) {
            throw new IllegalArgumentException("second moment of an empty set of vectors");
        }
        List<INDArray> blocks = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            boolean dense = budget.dense(layout.copies(), kinds.describe(k), layout.leafNames());
            INDArray z = kinds.copyMatrices(k, vectors); // [F, n·D, m]
            INDArray sum = dense ? Nd4j.matmul(z, z, true, false, false) : z.mul(z).sum(1);
            blocks.add(sum.muli(1.0 / (n * layout.dimension())));
        }
        return Curvature.of(kinds, blocks);
    }

    /**
     * The exact orbit average {@code E_G[A M Aᵀ]} of a dense symmetric matrix: its best approximation inside
     * the structure (section 5.3). By linearity of {@code R2}, with {@code M = Σ_j λ_j u_j u_jᵀ},
     * {@code B_κ = Σ_j λ_j Z_κ(u_j)ᵀ Z_κ(u_j) / d_κ}. Costs an eigendecomposition of {@code M}: tests and
     * reports only.
     *
     * @param denseSymmetric {@code [P, P]}; not modified
     */
    public static Curvature project(KindDecomposition kinds, INDArray denseSymmetric) {
        SymmetricEigen eig = SymmetricEigen.of(denseSymmetric.add(denseSymmetric.transpose()).muli(0.5));
        long p = eig.values().length();
        List<INDArray> blocks = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            INDArray sum = Nd4j.zeros(denseSymmetric.dataType(), layout.familySize(), layout.copies(), layout.copies());
            for (long j = 0; j < p; j++) {
                INDArray z = kinds.copyMatrix(k, eig.vectors().getColumn(j).dup());
                sum.addi(Nd4j.matmul(z, z, true, false, false).muli(eig.values().getDouble(j)));
            }
            blocks.add(sum.muli(1.0 / layout.dimension()));
        }
        return Curvature.of(kinds, blocks);
    }
}
