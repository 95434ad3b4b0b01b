package org.orchestrator.core.internal.command;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;

/** Completes the ids of live instances. */
@Service
public final class InstanceIdCompleter implements Completer {

    @Reference
    Orchestrator orchestrator;

    public InstanceIdCompleter() {
    }

    InstanceIdCompleter(Orchestrator orchestrator) {
        this.orchestrator = orchestrator;
    }

    List<String> candidates() {
        return orchestrator.instances().stream().map(InstanceView::id).sorted().toList();
    }

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        return new StringsCompleter(candidates()).complete(session, commandLine, candidates);
    }
}
