package org.symcurv.pruning;

/**
 * What one pruning round did.
 *
 * @param round                 1-based round number
 * @param rounds                rounds in total
 * @param removed               weights (unstructured) or units (structured) removed in this round
 * @param prunedFraction        after the round: fraction of the prunable weights pruned, or of the hidden units removed
 * @param predictedLossIncrease {@code Σ s_q} over what was removed, the quadratic model's estimate of the loss increase
 *                              (OBD, OBS; {@code NaN} for magnitude, whose saliency is not a loss)
 * @param fisherSeconds         time spent estimating the Fisher this round
 * @param seconds               time of the whole round
 */
public record RoundReport(int round, int rounds, long removed, double prunedFraction, double predictedLossIncrease,
                          double fisherSeconds, double seconds) {
}
