package org.symcurv.pruning;

/** Where the target is applied: over all prunable leaves (or hidden layers) together, or to each one separately. */
public enum PruningScope {
    /** One ranking over every prunable weight (unit): layers end up with different sparsities. */
    GLOBAL,
    /** Each layer reaches the target on its own. */
    PER_LAYER
}
