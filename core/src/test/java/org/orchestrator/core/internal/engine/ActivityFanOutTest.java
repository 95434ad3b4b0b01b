package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ActivityListener;

/** The fan-out hands every observation to every listener and isolates their failures. */
class ActivityFanOutTest {

    private final ActivityFanOut fanOut = new ActivityFanOut();

    private static void everything(ActivityListener l) {
        l.leaseEvent(LeaseEventType.ADDED, true);
        l.leaseEvent(LeaseEventType.RELEASED, false);
        l.leaseToReady(Duration.ofMillis(1500), true);
        l.provisioned("docker", Duration.ofMillis(400), false);
        l.failed("attach");
        l.poolClaim(true);
        l.poolClaim(false);
        l.poolRefilled(Duration.ofMillis(700));
    }

    private static final List<String> EVERYTHING = List.of("leaseEvent ADDED true", "leaseEvent RELEASED false",
        "leaseToReady PT1.5S true", "provisioned docker PT0.4S false", "failed attach", "poolClaim true",
        "poolClaim false", "poolRefilled PT0.7S");

    @Test
    void everyObservationReachesEveryListenerWithItsArguments() {
        RecordingListener a = new RecordingListener();
        RecordingListener b = new RecordingListener();
        fanOut.add(a);
        fanOut.add("b", () -> b);
        everything(fanOut);
        assertThat(a.seen()).containsExactlyElementsOf(EVERYTHING);
        assertThat(b.seen()).containsExactlyElementsOf(EVERYTHING);
    }

    @Test
    void aThrowingListenerNeitherReachesTheCallerNorStopsTheOthers() {
        AtomicInteger calls = new AtomicInteger();
        ActivityListener throwsRuntime = new ThrowingListener(calls, () -> new IllegalStateException("boom"));
        ActivityListener throwsLinkage = new ThrowingListener(calls, () -> new NoClassDefFoundError("gone/Away"));
        RecordingListener after = new RecordingListener();
        fanOut.add(throwsRuntime);
        fanOut.add(throwsLinkage);
        fanOut.add(after);

        assertThatCode(() -> everything(fanOut)).doesNotThrowAnyException();
        assertThat(calls).hasValue(2 * EVERYTHING.size());
        assertThat(after.seen()).containsExactlyElementsOf(EVERYTHING);
    }

    @Test
    void aListenerThatCannotBeObtainedIsSkipped() {
        RecordingListener after = new RecordingListener();
        fanOut.add("gone", () -> null);
        fanOut.add("broken", () -> {
            throw new IllegalStateException("bundle stopping");
        });
        fanOut.add(after);
        everything(fanOut);
        assertThat(after.seen()).containsExactlyElementsOf(EVERYTHING);
    }

    @Test
    void aRemovedListenerHearsNothingMoreAndUnknownKeysAreIgnored() {
        RecordingListener a = new RecordingListener();
        RecordingListener b = new RecordingListener();
        fanOut.add("a", () -> a);
        fanOut.add("b", () -> b);
        fanOut.remove("a");
        fanOut.remove("never-added");
        fanOut.failed("provision");
        assertThat(a.seen()).isEmpty();
        assertThat(b.seen()).containsExactly("failed provision");
        assertThat(fanOut.size()).isEqualTo(1);
    }

    @Test
    void aListenerThatOverridesNothingIsFine() {
        fanOut.add(new ActivityListener() {
        });
        assertThatCode(() -> everything(fanOut)).doesNotThrowAnyException();
    }

    /** Throws on every call. */
    private record ThrowingListener(AtomicInteger calls, java.util.function.Supplier<Throwable> error)
        implements ActivityListener {

        private void fail() {
            calls.incrementAndGet();
            Throwable t = error.get();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) t;
        }

        @Override
        public void leaseEvent(LeaseEventType type, boolean accepted) {
            fail();
        }

        @Override
        public void leaseToReady(Duration latency, boolean fromPool) {
            fail();
        }

        @Override
        public void provisioned(String provider, Duration took, boolean fromPool) {
            fail();
        }

        @Override
        public void failed(String operation) {
            fail();
        }

        @Override
        public void poolClaim(boolean hit) {
            fail();
        }

        @Override
        public void poolRefilled(Duration took) {
            fail();
        }
    }
}
