package org.symcurv.apps;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@code symcurv quickstart} needs to install a missing Debian data package itself: whether this process may
 * ({@code root} and {@code apt-get} on the {@code PATH}), whether apt knows the package yet, and running apt. The
 * other commands never install anything. An interface so that the quickstart tests can stand in for the machine.
 */
interface DebianPackage {
    /** Whether this process runs as root and {@code apt-get} is on the {@code PATH}. */
    boolean canInstall();

    /** Whether the process runs as root (the command to print then needs no {@code sudo}). */
    boolean isRoot();

    /** Whether apt's package lists know {@code name} ({@code apt-cache show name} succeeds). */
    boolean isKnown(String name) throws IOException, InterruptedException;

    /** Runs {@code command} non-interactively, copying its output to {@code log}; returns its exit code. */
    int run(List<String> command, PrintWriter log) throws IOException, InterruptedException;

    /** This machine. */
    DebianPackage SYSTEM = new DebianPackage() {
        @Override
        public boolean canInstall() {
            return isRoot() && onPath("apt-get") && onPath("apt-cache");
        }

        @Override
        public boolean isRoot() {
            try {
                return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }

        @Override
        public boolean isKnown(String name) throws IOException, InterruptedException {
            Process p = new ProcessBuilder("apt-cache", "show", name).redirectErrorStream(true).start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return p.waitFor() == 0;
        }

        @Override
        public int run(List<String> command, PrintWriter log) throws IOException, InterruptedException {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            builder.environment().put("DEBIAN_FRONTEND", "noninteractive");
            Process p = builder.start();
            try (InputStream in = p.getInputStream()) {
                byte[] buffer = new byte[8192];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    log.print(new String(buffer, 0, n, StandardCharsets.UTF_8));
                    log.flush();
                }
            }
            return p.waitFor();
        }

        private boolean onPath(String program) {
            String path = System.getenv("PATH");
            if (path == null) {
                return false;
            }
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                    return true;
                }
            }
            return false;
        }
    };
}
