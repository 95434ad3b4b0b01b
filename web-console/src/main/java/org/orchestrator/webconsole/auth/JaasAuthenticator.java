package org.orchestrator.webconsole.auth;

import java.security.Principal;
import java.util.HashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AccountException;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.FailedLoginException;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;

import org.apache.karaf.jaas.boot.ProxyLoginModule;
import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates against a JAAS realm, by default Karaf's {@code karaf} realm (etc/users.properties
 * unless reconfigured). Roles are the names of the subject's Karaf {@link RolePrincipal}s; Karaf's
 * properties login module expands groups ({@code admingroup}) into their roles.
 */
public final class JaasAuthenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(JaasAuthenticator.class);

    private final String realm;
    private final Configuration configuration;

    /** Uses the JVM's JAAS configuration, which Karaf's JAAS bundle installs for its realms. */
    public JaasAuthenticator(String realm) {
        this(realm, null);
    }

    /** @param configuration the JAAS configuration to use, or {@code null} for the JVM's */
    public JaasAuthenticator(String realm, Configuration configuration) {
        this.realm = Objects.requireNonNull(realm, "realm");
        this.configuration = configuration;
    }

    @Override
    public Optional<Caller> authenticate(String user, char[] password) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        Subject subject = new Subject();
        CallbackHandler handler = callbacks -> {
            for (Callback callback : callbacks) {
                if (callback instanceof NameCallback name) {
                    name.setName(user);
                } else if (callback instanceof PasswordCallback pass) {
                    pass.setPassword(password.clone());
                } else {
                    throw new UnsupportedCallbackException(callback);
                }
            }
        };
        // LoginContext loads login modules through the thread context class loader. On a Jetty
        // thread in OSGi that loader need not see Karaf's ProxyLoginModule (which then loads the
        // realm's real modules from their bundles), so use a loader that does: this bundle's
        // imports include org.apache.karaf.jaas.boot.
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loaderSeeingProxyLoginModule());
        try {
            LoginContext context = configuration == null
                ? new LoginContext(realm, subject, handler)
                : new LoginContext(realm, subject, handler, configuration);
            context.login();
            Set<String> roles = new HashSet<>();
            for (Principal principal : subject.getPrincipals()) {
                if (principal instanceof RolePrincipal) {
                    roles.add(principal.getName());
                }
            }
            try {
                context.logout();
            } catch (LoginException e) {
                LOG.debug("Logout of {} from realm {} failed: {}", user, realm, e.getMessage());
            }
            return Optional.of(new Caller(user, roles));
        } catch (FailedLoginException | AccountException e) {
            LOG.debug("Login of {} to realm {} failed: {}", user, realm, e.getMessage());
            return Optional.empty();
        } catch (LoginException | SecurityException e) {
            // no such realm, no JAAS configuration at all, a module failed to load: a server-side
            // problem, not the caller's
            LOG.warn("JAAS realm {} could not authenticate {}: {}", realm, user, e.toString());
            throw new IllegalStateException("authentication realm is unavailable", e);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static ClassLoader loaderSeeingProxyLoginModule() {
        ClassLoader own = JaasAuthenticator.class.getClassLoader();
        try {
            // resolves through our Import-Package in OSGi, through the class path elsewhere
            Class.forName(ProxyLoginModule.class.getName(), false, own);
            return own;
        } catch (ClassNotFoundException | LinkageError e) {
            return ProxyLoginModule.class.getClassLoader();
        }
    }
}
