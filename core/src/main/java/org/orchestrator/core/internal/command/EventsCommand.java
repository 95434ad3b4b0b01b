package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.Orchestrator;

/** Shows the newest entries of the audit log. */
@Service
@Command(scope = "orchestrator", name = "events", description = "Shows the newest audit-log entries")
public final class EventsCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    @Option(name = "-n", description = "Number of entries (1-10000)")
    int count = 20;

    private final PrintStream out;

    public EventsCommand() {
        this.out = null;
    }

    EventsCommand(Orchestrator orchestrator, PrintStream out, int count) {
        this.orchestrator = orchestrator;
        this.out = out;
        this.count = count;
    }

    @Override
    public Object execute() {
        if (count < 1 || count > 10000) {
            throw new IllegalArgumentException("-n must be 1 to 10000");
        }
        ShellTable table = new ShellTable().emptyTableText("no events");
        table.column("Seq").alignRight();
        table.column("Time");
        table.column("Kind");
        table.column("Client");
        table.column("Instance");
        table.column("Message").maxSize(80);
        for (EventRecord e : orchestrator.recentEvents(count)) {
            table.addRow().addContent(e.seq(), Format.time(e.at()), e.kind(), Format.text(e.client()), Format.text(e.instanceId()),
                e.message());
        }
        table.print(out == null ? System.out : out);
        return null;
    }
}
