package org.orchestrator.provider.docker;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.util.Objects;

import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.InternalServerErrorException;

import org.orchestrator.api.provider.ProviderException;

/**
 * Translates docker-java failures into {@link ProviderException}s with messages an operator can
 * act on, and decides which ones are transient.
 */
final class DockerErrors {

    private final URI host;

    DockerErrors(URI host) {
        this.host = Objects.requireNonNull(host, "host");
    }

    /**
     * @param action what we tried, e.g. {@code "provision instance dk-1"}
     * @param e      what docker-java threw
     */
    ProviderException translate(String action, RuntimeException e) {
        if (e instanceof ProviderException pe) {
            return pe;
        }
        IOException io = ioCause(e);
        if (io != null) {
            return unreachable(action, io);
        }
        if (e instanceof DockerException de) {
            String detail = daemonMessage(de);
            // 4xx are our fault or the request's; a 500 is the daemon's, except runtime errors that
            // will fail the same way again (bad command, missing binary, invalid option).
            boolean transientFailure = de instanceof InternalServerErrorException && !permanent(detail);
            return new ProviderException("Docker daemon at " + host + " refused to " + action + ": " + detail,
                transientFailure, e);
        }
        return new ProviderException("could not " + action + " on Docker daemon at " + host + ": " + e, true, e);
    }

    /** @return the transient error for a daemon that does not answer */
    ProviderException unreachable(String action, Throwable cause) {
        String what = cause instanceof InterruptedIOException ? "did not answer in time" : "is not reachable";
        return new ProviderException("Docker daemon at " + host + " " + what + ": " + describe(cause)
            + "; start dockerd (could not " + action + ")", true, cause);
    }

    private static boolean permanent(String detail) {
        String d = detail.toLowerCase(java.util.Locale.ROOT);
        return d.contains("oci runtime") || d.contains("executable file not found") || d.contains("invalid")
            || d.contains("no such image") || d.contains("manifest unknown") || d.contains("repository does not exist");
    }

    static String daemonMessage(DockerException e) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        // docker-java prefixes "Status 404: {"message":"..."}"; keep the daemon's own words.
        int start = message.indexOf("\"message\":\"");
        if (start >= 0) {
            int from = start + 11;
            int end = message.indexOf('"', from);
            if (end > from) {
                return message.substring(from, end).trim() + " (HTTP " + e.getHttpStatus() + ")";
            }
        }
        return message.trim();
    }

    static IOException ioCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException io) {
                return io;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    private static String describe(Throwable cause) {
        String message = cause.getMessage();
        return cause.getClass().getSimpleName() + (message == null ? "" : " " + message);
    }
}
