package org.symcurv.core.operator;

/**
 * An expected numerical outcome, not a bug: the operator is not positive definite where the requested
 * operation needs it (a log-determinant, a sample from {@code N(0, S⁻¹)}). Add a prior or damping.
 */
public class NotPositiveDefiniteException extends ArithmeticException {
    private final String kind;
    private final double eigenvalue;

    public NotPositiveDefiniteException(String kind, double eigenvalue, String operation) {
        super(operation + " needs a positive definite operator, but block " + kind + " has eigenvalue " + eigenvalue
                + "; add a prior precision (plusIdentity) or damping");
        this.kind = kind;
        this.eigenvalue = eigenvalue;
    }

    /** The kind whose block failed. */
    public String kind() {
        return kind;
    }

    /** The offending (smallest) eigenvalue. */
    public double eigenvalue() {
        return eigenvalue;
    }
}
