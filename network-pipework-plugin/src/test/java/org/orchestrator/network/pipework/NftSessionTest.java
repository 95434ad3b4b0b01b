package org.orchestrator.network.pipework;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.network.NetworkException;

/**
 * The session's protocol against a stand-in for {@code nft -i} (bash reading lines), so that every
 * answer can be chosen: the marker's output learnt at start, errors, silence, a process that exits.
 * The real nft is used in {@link PipeworkAttacherRootTest}.
 */
class NftSessionTest {

    /**
     * Answers like nft: "describe meta mark" with two lines, "list" with a listing, "bad" with an
     * error on standard error, "hang" never, "quit" by exiting at once, "bye" by exiting once it has
     * answered (between two commands); anything else silently.
     */
    private static final String FAKE_NFT = """
        while IFS= read -r line; do
          case "$line" in
            "describe meta mark") echo "meta expression, datatype mark"; echo "   (two lines here)"; [ -n "$bye" ] && exit 0 ;;
            bye*) bye=1 ;;
            list*) printf 'table inet t {\\n\\tset allowed {\\n\\t}\\n}\\n' ;;
            bad*) echo "Error: syntax error, unexpected string" >&2; echo "$line" >&2; echo "^^^" >&2 ;;
            hang*) sleep 30 ;;
            quit*) exit 0 ;;
            *) ;;
          esac
        done
        """;

    private NftSession session;

    @AfterEach
    void close() {
        if (session != null) {
            session.close();
        }
    }

    private NftSession fake(String script, Duration timeout) {
        session = new NftSession(List.of("bash", "-c", script), timeout);
        return session;
    }

    @Test
    void answersEachCommandWithWhatCameBeforeTheMarkersOutputWhateverItsLength() {
        NftSession s = fake(FAKE_NFT, Duration.ofSeconds(5));
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::2 }")).contains("");
        assertThat(s.run("list set inet t allowed")).hasValueSatisfying(out -> assertThat(out).contains("set allowed").doesNotContain("meta"));
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::3 }")).contains("");
        assertThat(s.counts()).containsExactly(3, 1);
    }

    @Test
    void anErrorIsTheCommandsFailureAndTheSessionGoesOn() {
        NftSession s = fake(FAKE_NFT, Duration.ofSeconds(5));
        assertThatThrownBy(() -> s.run("bad element"))
            .isInstanceOf(NetworkException.class)
            .hasMessageContaining("Error: syntax error")
            .hasMessageContaining("bad element")
            .satisfies(e -> assertThat(((NetworkException) e).isTransient()).isFalse());
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::2 }")).contains("");
        assertThat(s.counts()[1]).as("process starts").isEqualTo(1);
    }

    @Test
    void aProcessThatEndedBetweenCommandsIsStartedAgainAtTheNextCommand() throws InterruptedException {
        NftSession s = fake(FAKE_NFT, Duration.ofSeconds(5));
        assertThat(s.run("bye")).contains("");
        for (int i = 0; i < 500 && s.alive(); i++) {
            Thread.sleep(10);
        }
        assertThat(s.alive()).as("the stand-in exited").isFalse();
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::2 }")).contains("");
        assertThat(s.counts()).containsExactly(2, 2);
    }

    @Test
    void aProcessThatEndsWhileAnsweringIsNotStartedAgainAtOnce() {
        NftSession s = fake(FAKE_NFT, Duration.ofSeconds(5));
        assertThat(s.run("quit")).isEmpty(); // no answer: the caller runs the command as a process
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::2 }")).as("within the restart delay").isEmpty();
        assertThat(s.counts()).containsExactly(0, 1);
    }

    @Test
    void silenceBreaksTheSessionUntilTheRestartDelayIsOver() {
        NftSession s = fake(FAKE_NFT, Duration.ofMillis(300));
        long t0 = System.nanoTime();
        assertThat(s.run("hang")).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("bounded by the timeout").isLessThan(Duration.ofSeconds(5));
        // within RESTART_AFTER nothing is tried: every command goes to its own process at once
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::2 }")).isEmpty();
        assertThat(s.counts()).containsExactly(0, 1);
    }

    @Test
    void aProgramWithoutAnInteractiveModeIsNotUsed() {
        NftSession s = fake("echo 'Error: interactive CLI not supported in this build' >&2; exit 1", Duration.ofSeconds(5));
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::2 }")).isEmpty();
        assertThat(s.counts()[0]).isZero();
    }

    @Test
    void aCommandIsOneLine() {
        NftSession s = fake(FAKE_NFT, Duration.ofSeconds(5));
        assertThatThrownBy(() -> s.run("add element inet t allowed { fd00::1 . fd00::2 }\nflush ruleset"))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.run(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThat(s.counts()).containsExactly(0, 0);
    }

    @Test
    void aClosedSessionRunsNothing() {
        NftSession s = fake(FAKE_NFT, Duration.ofSeconds(5));
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::2 }")).isPresent();
        s.close();
        assertThat(s.run("add element inet t allowed { fd00::1 . fd00::3 }")).isEqualTo(Optional.empty());
    }
}
