package org.orchestrator.core.internal.command;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Set;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.Orchestrator;

/** Releases a client's instance now, without grace period, and waits until it is GONE. */
@Service
@Command(scope = "orchestrator", name = "deprovision", description = "Releases a client's instance now and waits until it is gone")
public final class DeprovisionCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    @Argument(index = 0, name = "duid", description = "The client's DUID", required = true)
    @Completion(DuidCompleter.class)
    String duid;

    @Option(name = "--wait", aliases = "-w", description = "Seconds to wait for GONE (0 = do not wait)")
    int waitSeconds = 60;

    private final PrintStream out;

    public DeprovisionCommand() {
        this.out = null;
    }

    DeprovisionCommand(Orchestrator orchestrator, PrintStream out, String duid, int waitSeconds) {
        this.orchestrator = orchestrator;
        this.out = out;
        this.duid = duid;
        this.waitSeconds = waitSeconds;
    }

    @Override
    public Object execute() throws Exception {
        PrintStream o = out == null ? System.out : out;
        if (waitSeconds < 0 || waitSeconds > 3600) {
            throw new IllegalArgumentException("--wait must be 0 to 3600 seconds");
        }
        Duid id = Duid.parse(duid);
        o.println("deprovisioning " + id + " ...");
        ClientView first = orchestrator.deprovision(id, Duration.ofSeconds(Math.min(2, waitSeconds)));
        WaitLoop.follow(orchestrator, id, first, Duration.ofSeconds(waitSeconds), Set.of(ClientState.GONE, ClientState.FAILED), o);
        return null;
    }
}
