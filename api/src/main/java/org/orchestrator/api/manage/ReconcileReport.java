package org.orchestrator.api.manage;

import java.time.Duration;
import java.util.List;

/**
 * What one reconciliation pass found and did.
 *
 * @param clientsChecked clients compared with the actual state
 * @param repaired       clients whose state was repaired
 * @param orphansRemoved instances or attachments removed because no client wants them
 * @param actions        one line per action taken
 * @param took           how long the pass took
 */
public record ReconcileReport(int clientsChecked, int repaired, int orphansRemoved, List<String> actions, Duration took) {

    public ReconcileReport {
        actions = List.copyOf(actions);
    }
}
