package org.orchestrator.core.internal.command;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Set;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.Orchestrator;

/** Prints a client's progress until it reaches one of the target states or the time is up. */
final class WaitLoop {

    private static final Duration STEP = Duration.ofSeconds(1);

    private WaitLoop() {
    }

    /** @return the last state seen */
    static ClientView follow(Orchestrator orchestrator, Duid duid, ClientView first, Duration wait, Set<ClientState> targets,
                             PrintStream out) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        ClientView v = first;
        print(out, v);
        while (!targets.contains(v.state()) && System.nanoTime() < deadline) {
            Thread.sleep(STEP.toMillis());
            ClientView next = orchestrator.client(duid).orElse(v);
            if (next.state() != v.state() || !java.util.Objects.equals(next.reason(), v.reason())) {
                print(out, next);
            }
            v = next;
        }
        if (!targets.contains(v.state())) {
            out.println("still " + v.state() + " after " + wait.toSeconds() + " s; the reconciler keeps working on it");
        }
        return v;
    }

    private static void print(PrintStream out, ClientView v) {
        out.println(v.duid() + ": " + v.state() + (v.reason() == null ? "" : " (" + v.reason() + ")")
            + (v.instanceId() == null ? "" : " instance " + v.instanceId()));
    }
}
