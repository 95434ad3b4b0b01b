package org.orchestrator.webconsole.rest;

import java.time.Duration;
import java.util.Objects;

/**
 * The REST API's settings, from configuration PID {@code org.orchestrator.webconsole}.
 *
 * @param leaseEventToken the shared token of POST lease-events; empty disables the endpoint
 * @param maxBodyBytes    the largest request body accepted
 * @param realm           the JAAS realm, also named in {@code WWW-Authenticate}
 * @param readRole        the role that may read
 * @param writeRole       the role that may change things (and read)
 * @param operationWait   how long provision and deprovision wait for the client to settle
 */
public record ApiSettings(String leaseEventToken, int maxBodyBytes, String realm, String readRole, String writeRole,
                          Duration operationWait) {

    /** Default body limit: 64 KiB. */
    public static final int DEFAULT_MAX_BODY = 64 * 1024;

    public ApiSettings {
        leaseEventToken = leaseEventToken == null ? "" : leaseEventToken.trim();
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("maxBodyBytes must be positive: " + maxBodyBytes);
        }
        Objects.requireNonNull(realm, "realm");
        Objects.requireNonNull(readRole, "readRole");
        Objects.requireNonNull(writeRole, "writeRole");
        Objects.requireNonNull(operationWait, "operationWait");
        if (realm.isBlank() || realm.indexOf('"') >= 0 || realm.indexOf('\\') >= 0) {
            throw new IllegalArgumentException("realm must be a plain name");
        }
    }

    /** @return the defaults with another token */
    public static ApiSettings defaults(String token) {
        return new ApiSettings(token, DEFAULT_MAX_BODY, "karaf", "viewer", "admin", Duration.ofSeconds(30));
    }

    @Override
    public String toString() {
        // the token must never reach a log line
        return "ApiSettings[leaseEventToken=" + (leaseEventToken.isEmpty() ? "(none)" : "(set)") + ", maxBodyBytes="
            + maxBodyBytes + ", realm=" + realm + ", readRole=" + readRole + ", writeRole=" + writeRole
            + ", operationWait=" + operationWait + "]";
    }
}
