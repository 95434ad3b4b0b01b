package org.orchestrator.webconsole;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.orchestrator.webconsole.auth.Authenticator;
import org.orchestrator.webconsole.auth.Caller;

/** Users like Karaf's defaults: admin (admin, manager, viewer), viewer (viewer), nobody (no role). */
public final class FakeAuthenticator implements Authenticator {

    private record User(String password, Set<String> roles) {
    }

    private static final Map<String, User> USERS = Map.of(
        "admin", new User("admin-pw", Set.of("admin", "manager", "viewer", "systembundles", "ssh")),
        "viewer", new User("viewer-pw", Set.of("viewer")),
        "nobody", new User("nobody-pw", Set.of()));

    @Override
    public Optional<Caller> authenticate(String user, char[] password) {
        User u = USERS.get(user);
        if (u == null || !u.password().equals(new String(password))) {
            return Optional.empty();
        }
        return Optional.of(new Caller(user, u.roles()));
    }
}
