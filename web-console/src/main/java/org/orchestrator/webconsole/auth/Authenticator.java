package org.orchestrator.webconsole.auth;

import java.util.Optional;

/**
 * Checks a user name and password. Production uses {@link JaasAuthenticator} against a Karaf JAAS
 * realm; tests plug in a double. Implementations are thread-safe and never log the password.
 */
public interface Authenticator {

    /**
     * @return the caller with its roles, or empty when the credentials are wrong
     * @throws IllegalStateException when the realm cannot be asked (the caller answers 503)
     */
    Optional<Caller> authenticate(String user, char[] password);
}
