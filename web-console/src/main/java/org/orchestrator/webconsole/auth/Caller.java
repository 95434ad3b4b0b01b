package org.orchestrator.webconsole.auth;

import java.util.Objects;
import java.util.Set;

/**
 * An authenticated user.
 *
 * @param name  the user name
 * @param roles the user's role names (for Karaf: its {@code RolePrincipal}s, groups expanded)
 */
public record Caller(String name, Set<String> roles) {

    public Caller {
        Objects.requireNonNull(name, "name");
        roles = Set.copyOf(roles);
    }
}
