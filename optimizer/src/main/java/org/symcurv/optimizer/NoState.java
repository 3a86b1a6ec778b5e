package org.symcurv.optimizer;

/** The state of a transform that keeps none (clipping, weight decay): one value, encoded as an empty tree. */
public enum NoState {
    INSTANCE
}
