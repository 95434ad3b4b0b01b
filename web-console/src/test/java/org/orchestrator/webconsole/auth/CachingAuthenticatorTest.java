package org.orchestrator.webconsole.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** Logins remembered for a short time, and only for exactly the password that succeeded. */
class CachingAuthenticatorTest {

    /** A realm whose users and passwords a test can change, counting the logins it is asked for. */
    private static final class Realm implements Authenticator {
        final Map<String, String> passwords = new HashMap<>(Map.of("admin", "admin-pw", "viewer", "viewer-pw"));
        final Map<String, Set<String>> roles = new HashMap<>(Map.of("admin", Set.of("admin", "viewer"),
            "viewer", Set.of("viewer")));
        final AtomicInteger logins = new AtomicInteger();
        volatile boolean down;

        @Override
        public synchronized Optional<Caller> authenticate(String user, char[] password) {
            logins.incrementAndGet();
            if (down) {
                throw new IllegalStateException("authentication realm is unavailable");
            }
            String expected = passwords.get(user);
            return expected != null && expected.equals(new String(password))
                ? Optional.of(new Caller(user, roles.get(user))) : Optional.empty();
        }
    }

    private final Realm realm = new Realm();
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final CachingAuthenticator auth = new CachingAuthenticator(realm, Duration.ofSeconds(10), now::get);

    @Test
    void aRepeatedLoginWithinTheTimeIsAnsweredWithoutTheRealm() {
        assertThat(auth.authenticate("admin", "admin-pw".toCharArray())).map(Caller::roles)
            .contains(Set.of("admin", "viewer"));
        now.addAndGet(Duration.ofSeconds(9).toNanos());
        assertThat(auth.authenticate("admin", "admin-pw".toCharArray())).map(Caller::name).contains("admin");
        assertThat(realm.logins).hasValue(1);
    }

    @Test
    void aWrongPasswordIsAlwaysCheckedByTheRealmAndRefused() {
        auth.authenticate("admin", "admin-pw".toCharArray());
        for (int i = 0; i < 3; i++) {
            assertThat(auth.authenticate("admin", "admin-pW".toCharArray())).isEmpty();
            assertThat(auth.authenticate("viewer", "admin-pw".toCharArray())).isEmpty();
        }
        assertThat(realm.logins).as("the good login once, every bad one").hasValue(7);
        assertThat(auth.authenticate("admin", "admin-pw".toCharArray())).isPresent();
        assertThat(realm.logins).hasValue(7);
    }

    @Test
    void aChangedPasswordOrRoleCountsOnceTheTimeIsUp() {
        auth.authenticate("viewer", "viewer-pw".toCharArray());
        realm.passwords.put("viewer", "new-pw");
        realm.roles.put("viewer", Set.of());
        assertThat(auth.authenticate("viewer", "new-pw".toCharArray())).as("the new password at once")
            .map(Caller::roles).contains(Set.of());
        assertThat(auth.authenticate("viewer", "viewer-pw".toCharArray())).as("the old one no more").isEmpty();

        realm.passwords.put("admin", "admin-pw");
        auth.authenticate("admin", "admin-pw".toCharArray());
        realm.passwords.remove("admin");
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        assertThat(auth.authenticate("admin", "admin-pw".toCharArray())).as("a removed user after the time").isEmpty();
    }

    @Test
    void anUnavailableRealmIsReportedNotRemembered() {
        realm.down = true;
        assertThatThrownBy(() -> auth.authenticate("admin", "admin-pw".toCharArray()))
            .isInstanceOf(IllegalStateException.class);
        realm.down = false;
        assertThat(auth.authenticate("admin", "admin-pw".toCharArray())).isPresent();
        assertThat(realm.logins).hasValue(2);
    }

    @Test
    void aTimeOfZeroRemembersNothing() {
        CachingAuthenticator off = new CachingAuthenticator(realm, Duration.ZERO, now::get);
        off.authenticate("admin", "admin-pw".toCharArray());
        off.authenticate("admin", "admin-pw".toCharArray());
        assertThat(realm.logins).hasValue(2);
    }

    @Test
    void manyUsersAreRememberedUpToALimit() {
        for (int i = 0; i < CachingAuthenticator.MAX_USERS + 10; i++) {
            realm.passwords.put("u" + i, "pw" + i);
            realm.roles.put("u" + i, Set.of("viewer"));
            assertThat(auth.authenticate("u" + i, ("pw" + i).toCharArray())).isPresent();
        }
        int asked = realm.logins.get();
        auth.authenticate("u0", "pw0".toCharArray());
        auth.authenticate("u" + (CachingAuthenticator.MAX_USERS + 5), ("pw" + (CachingAuthenticator.MAX_USERS + 5)).toCharArray());
        assertThat(realm.logins.get()).as("u0 remembered, the one past the limit not").isEqualTo(asked + 1);
        now.addAndGet(Duration.ofSeconds(11).toNanos());
        auth.authenticate("u" + (CachingAuthenticator.MAX_USERS + 5), ("pw" + (CachingAuthenticator.MAX_USERS + 5)).toCharArray());
        auth.authenticate("u" + (CachingAuthenticator.MAX_USERS + 5), ("pw" + (CachingAuthenticator.MAX_USERS + 5)).toCharArray());
        assertThat(realm.logins.get()).as("room again once the others expired").isEqualTo(asked + 2);
    }
}
