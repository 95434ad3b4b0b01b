package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;

import org.junit.jupiter.api.Test;
import org.orchestrator.webconsole.auth.Caller;
import org.orchestrator.webconsole.auth.JaasAuthenticator;

/**
 * The JAAS authenticator against a realm whose login module behaves like Karaf's properties
 * module: user and role principals on success, FailedLoginException otherwise.
 */
class JaasAuthenticatorTest {

    private static final Configuration CONFIG = new Configuration() {
        @Override
        public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
            if (!name.equals("karaf")) {
                return null;
            }
            return new AppConfigurationEntry[] {new AppConfigurationEntry(TestLoginModule.class.getName(),
                AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of())};
        }
    };

    @Test
    void rightPasswordYieldsTheRolePrincipals() {
        Caller caller = new JaasAuthenticator("karaf", CONFIG).authenticate("karaf", "karaf".toCharArray()).orElseThrow();
        assertThat(caller.name()).isEqualTo("karaf");
        // only RolePrincipals count, not the group principal
        assertThat(caller.roles()).containsExactlyInAnyOrder("admin", "viewer");
    }

    @Test
    void wrongPasswordOrUserIsEmpty() {
        JaasAuthenticator jaas = new JaasAuthenticator("karaf", CONFIG);
        assertThat(jaas.authenticate("karaf", "wrong".toCharArray())).isEmpty();
        assertThat(jaas.authenticate("mallory", "karaf".toCharArray())).isEmpty();
    }

    @Test
    void unknownRealmIsAServerProblem() {
        assertThatThrownBy(() -> new JaasAuthenticator("nosuchrealm", CONFIG).authenticate("karaf", "karaf".toCharArray()))
            .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void restoresTheThreadContextClassLoader() {
        ClassLoader before = Thread.currentThread().getContextClassLoader();
        new JaasAuthenticator("karaf", CONFIG).authenticate("karaf", "karaf".toCharArray());
        assertThat(Thread.currentThread().getContextClassLoader()).isSameAs(before);
    }
}
