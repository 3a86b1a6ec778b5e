package org.symcurv.core;

/**
 * A setting outside its range (a width below 1, a step size that is not positive, a fraction outside (0, 1), …),
 * refused by the constructor of the object it configures. The message names the setting, its range and the value
 * given, so a command line can show it as it is: a usage error, not a bug. Programming errors (shapes that do
 * not match, a state misused) stay plain {@link IllegalArgumentException}s and {@link IllegalStateException}s.
 */
public class InvalidSettingException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public InvalidSettingException(String message) {
        super(message);
    }
}
